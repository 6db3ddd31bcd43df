"""The installed commands as a user runs them: blmk-index, then blmk-serve answering HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    BIN,
    CORPUS,
    blank_pdf,
    cli_build,
    free_port,
    get_json,
    serve,
    shared_data,
    write_corpus,
)

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("served-index")
    done = cli_build(index)
    assert "Full build: 68 documents" in done.stdout and "skipped 0 files" in done.stdout
    assert "0 indexed with notes" in done.stdout
    return index


@pytest.fixture(scope="module")
def server(index_dir: Path) -> Iterator[str]:
    with serve(["--index", str(index_dir)]) as base:
        yield base


def test_search_over_http(server: str) -> None:
    status, body = get_json(f"{server}/search?q=green+plan")
    assert status == 200
    top = body["results"][:3]
    assert top[0]["title"] == "Our Green Plan"
    assert any(hit["type"] == "document" for hit in top)
    assert {f["value"] for f in body["facets"]["type"]} >= {"page", "document", "news"}


def test_a_pdf_hit_links_to_its_page_over_http(server: str) -> None:
    status, body = get_json(f"{server}/search?q=cinnabar+ragwort")
    assert status == 200 and body["total"] == 1
    hit = body["results"][0]
    assert hit["url"].endswith("milton-keynes-green-roof-project.pdf#page=4")
    assert hit["pages"][0]["number"] == 4


def test_too_many_per_page_over_http(server: str) -> None:
    status, body = get_json(f"{server}/search?q=x&per_page=500")
    assert status == 400
    assert body["error"]["code"] == "invalid_parameter"


def test_serve_refuses_to_start_without_an_index(tmp_path: Path) -> None:
    done = subprocess.run(
        [BIN / "blmk-serve", "--index", tmp_path, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "run 'blmk-index build' first" in done.stderr


@pytest.mark.parametrize(
    ("command", "variable", "text"),
    [
        ("blmk-serve", "BLMK_PORT", "eighty"),
        ("blmk-serve", "BLMK_MAX_FILE_MB", "lots"),  # the indexer's, read for index jobs
        ("blmk-index", "BLMK_MAX_PDF_PAGES", "many"),
    ],
)
def test_a_setting_that_cannot_be_read_stops_the_command_with_its_name(
    tmp_path: Path, command: str, variable: str, text: str
) -> None:
    args = ["status", "--index", tmp_path] if command == "blmk-index" else ["--index", tmp_path]
    done = subprocess.run(
        [BIN / command, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=os.environ | {variable: text},
    )
    assert done.returncode == 2
    assert f"{variable}={text!r}" in done.stderr and "Traceback" not in done.stderr


def test_extract_prints_one_json_line_per_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.pdf"
    page = CORPUS / "pages" / "green-plan.html"
    done = subprocess.run(
        [BIN / "blmk-index", "extract", page, missing, CORPUS / "case-studies" / "national"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=CORPUS.parent,
    )
    assert done.returncode == 0
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 2 + 6
    first, second = records[:2]
    assert first["ok"] and first["type"] == "page" and first["title"] == "Our Green Plan"
    assert set(first) == {
        "path",
        "ok",
        "type",
        "title",
        "date",
        "summary",
        "body",
        "url",
        "topics",
        "scope",
        "language",
        "author",
        "notes",
        "pages",
    }
    assert second == {
        "path": str(missing),
        "ok": False,
        "error": {"code": "unreadable", "message": "not found: no such file"},
    }
    pdfs = records[2:]
    assert all(r["ok"] and r["type"] == "case-study" and r["scope"] == "national" for r in pdfs)
    assert all(r["pages"][0]["number"] == 1 for r in pdfs)


def test_build_fails_clearly_on_a_missing_corpus(tmp_path: Path) -> None:
    done = subprocess.run(
        [BIN / "blmk-index", "build", "--corpus", tmp_path / "nowhere", "--index", tmp_path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "corpus folder not found" in done.stderr


def run_index(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "blmk-index", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_extract_reports_every_shared_sample_pdf() -> None:
    samples = shared_data("pdf-samples")
    done = run_index("extract", samples)
    assert done.returncode == 0, done.stderr
    records = {
        Path(r["path"]).relative_to(samples).as_posix(): r
        for r in map(json.loads, done.stdout.splitlines())
    }
    listing = json.loads((samples / "files.json").read_text())["data"]
    assert len(records) == 31
    for entry in listing:
        record = records.get(entry["path"])
        if record is None:
            continue  # GeoTopo.pdf is listed but not shipped
        if entry["encrypted"]:
            assert record["error"]["code"] == "encrypted"
        elif record["ok"]:
            assert len(record["pages"]) == entry["pages"], entry["path"]
    scanned = records["019-grayscale-image/grayscale-image.pdf"]
    assert scanned["ok"] and scanned["notes"][0].startswith("no text layer")
    geotopo = records["009-pdflatex-geotopo/GeoTopo-komprimiert.pdf"]
    assert geotopo["author"] == "Martin Thoma"
    assert "selbstadjungiert" in geotopo["pages"][99]["text"]


def test_build_summary_lists_skipped_and_flagged_files(tmp_path: Path) -> None:
    pdf = (CORPUS / "documents" / "board-paper-green-plan-refresh.pdf").read_bytes()
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "documents/board-paper.pdf": pdf,
            "documents/scan.pdf": blank_pdf(2),
            "documents/truncated.pdf": pdf[:3000],
        },
    )
    done = run_index("build", "--corpus", corpus, "--index", tmp_path / "index")
    assert done.returncode == 0, done.stderr
    assert "Full build: 2 documents" in done.stdout
    assert "skipped 1 file; 1 indexed with notes" in done.stdout
    assert "  skipped documents/truncated.pdf: [corrupt] corrupt: the PDF is damaged" in done.stdout
    assert "  flagged documents/scan.pdf: no text layer:" in done.stdout


def test_admin_routes_refuse_a_request_without_a_token(server: str) -> None:
    status, body = get_json(f"{server}/admin/reindex", "POST", b"")
    assert (status, body["error"]["code"]) == (401, "unauthorized")
