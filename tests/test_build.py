"""Full builds: every file indexed or reported, and the live index never damaged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.build import BuildError, BuildReport, build_index, extract_all
from indexer.config import IndexerSettings
from indexer.document import Document
from indexer.store import IndexStore
from search_api.engine.service import SearchRequest, SearchService
from tests.conftest import (
    CORPUS,
    blank_pdf,
    decompression_bomb,
    html_page,
    shared_data,
    write_corpus,
)

ARTICLE = (
    "<p>" + "Community pharmacies across Bedford now offer blood pressure checks. " * 3 + "</p>"
)


def test_the_sample_corpus_builds_completely(corpus_build: BuildReport) -> None:
    expected = len([p for p in CORPUS.rglob("*") if p.suffix in (".html", ".pdf")])
    assert corpus_build.indexed == expected
    assert corpus_build.skipped == []
    assert corpus_build.flagged == []


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "good.html": html_page("Pharmacy checks", ARTICLE),
            "empty.html": "",
            "broken.pdf": b"%PDF-1.7\n1 0 obj garbage",
            "notes.txt": "ignored: not HTML or PDF",
        },
    )
    report = build_index(IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    assert report.indexed == 1
    assert {(s.path, s.code) for s in report.skipped} == {
        ("empty.html", "empty"),
        ("broken.pdf", "corrupt"),
    }


def test_a_failed_build_leaves_the_published_index_alone(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Pharmacy checks", ARTICLE)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = build_index(settings)
    (corpus / "a.html").write_text("")  # now nothing in the corpus can be indexed
    with pytest.raises(BuildError, match="nothing published"):
        build_index(settings)
    store = IndexStore(settings.index_dir)
    assert store.current() is not None and store.current().name == first.version
    assert [v.name for v in store.versions()] == [first.version]
    total = SearchService(settings.index_dir).search(SearchRequest(q="pharmacy"))["total"]
    assert total == 1


def test_any_folder_layout_is_indexed_with_types_from_the_files(tmp_path: Path) -> None:
    dated = '<meta property="article:published_time" content="2024-02-01">'
    corpus = write_corpus(
        tmp_path / "uploads",
        {
            "misc/story.html": html_page("Pharmacy story", ARTICLE, dated),
            "misc/about.html": html_page("About the pharmacy service", ARTICLE),
            "report.pdf": (
                CORPUS / "documents" / "board-paper-green-plan-refresh.pdf"
            ).read_bytes(),
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert build_index(settings).indexed == 3
    service = SearchService(settings.index_dir)
    facets = service.search(SearchRequest())["facets"]
    assert {f["value"]: f["count"] for f in facets["type"]} == {"news": 1, "page": 1, "document": 1}


@pytest.mark.slow
def test_old_versions_are_pruned(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Pharmacy checks", ARTICLE)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index", keep_versions=2)
    versions = [build_index(settings).version for _ in range(4)]
    assert [v.name for v in IndexStore(settings.index_dir).versions()] == versions[-2:]


@pytest.mark.slow
def test_a_build_over_real_pdfs_reports_each_failure_and_publishes(tmp_path: Path) -> None:
    samples = shared_data("pdf-samples")
    corpus = tmp_path / "corpus"
    shutil.copytree(samples, corpus / "documents", ignore=shutil.ignore_patterns("*.json"))
    report_pdf = (CORPUS / "documents" / "draft-green-plan-2025.pdf").read_bytes()
    write_corpus(
        corpus,
        {
            "documents/truncated-upload.pdf": report_pdf[: len(report_pdf) // 2],
            "documents/corrupt.pdf": b"%PDF-1.4\n" + bytes(range(256)) * 40,
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = build_index(settings)
    assert report.indexed == 29
    assert {(s.path, s.code) for s in report.skipped} == {
        ("documents/005-libreoffice-writer-password/libreoffice-writer-password.pdf", "encrypted"),
        ("documents/017-unreadable-meta-data/unreadablemetadata.pdf", "corrupt"),
        ("documents/truncated-upload.pdf", "corrupt"),
        ("documents/corrupt.pdf", "corrupt"),
    }
    assert all(s.message for s in report.skipped)
    assert len(report.flagged) == 5
    assert all(f.notes[0].startswith("no text layer") for f in report.flagged)
    info = IndexStore(settings.index_dir).build_info(settings.index_dir / report.version)
    assert info["indexed"] == 29 and len(info["skipped"]) == 4
    assert {f["path"] for f in info["flagged"]} == {f.path for f in report.flagged}
    service = SearchService(settings.index_dir)
    found = service.search(SearchRequest(q="Zusammenhangskomponente"))["results"]
    assert [hit["id"] for hit in found] == [
        "documents/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf"
    ]
    scanned = service.document("documents/019-grayscale-image/grayscale-image.pdf")
    assert scanned is not None and scanned["title"] == "Grayscale image"
    assert scanned["page_count"] == 1


def test_page_count_counts_pages_without_text(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"documents/scan.pdf": blank_pdf(4)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = build_index(settings)
    assert report.indexed == 1 and [f.path for f in report.flagged] == ["documents/scan.pdf"]
    stored = SearchService(settings.index_dir).document("documents/scan.pdf")
    assert stored is not None and stored["page_count"] == 4
    build_json = json.loads((settings.index_dir / report.version / "build.json").read_text())
    assert build_json["flagged"] == [
        {"path": "documents/scan.pdf", "notes": report.flagged[0].notes}
    ]


@pytest.mark.slow
def test_a_slow_page_read_in_a_batch_is_skipped_alone(tmp_path: Path) -> None:
    """Pages are read in batches under one time limit; a batch stopped at it is read again
    file by file, so only the slow page is reported."""
    corpus = write_corpus(
        tmp_path,
        {
            "a.html": html_page("Flu clinics", "<p>Flu clinics open this week in Luton.</p>" * 4),
            "b.html": html_page(
                "Long", "<p>A paragraph, one of very many, read slowly.</p>" * 40_000
            ),
            "c.html": html_page("Parking", "<p>Parking at the hospital is changing soon.</p>" * 4),
        },
    )
    settings = IndexerSettings(file_timeout_seconds=1.0, extract_workers=1)
    outcomes = list(extract_all(sorted(corpus.glob("*.html")), settings, corpus))
    assert [getattr(o, "code", None) for o in outcomes] == [None, "too-slow", None]
    assert [o.title for o in outcomes if isinstance(o, Document)] == ["Flu clinics", "Parking"]


@pytest.mark.slow
def test_hostile_files_are_stopped_by_limits_not_by_memory(tmp_path: Path) -> None:
    """A PDF stream inflating to 400 MB and a page nested 100,000 elements deep: each is
    reported on its own with the reason, the reader's memory stays far below what they would
    need, and the other files are indexed."""
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "documents/bomb.pdf": decompression_bomb(400_000_000),
            "news/deep.html": html_page("Deep", "<div>" * 100_000 + ARTICLE + "</div>" * 100_000),
            "news/fine.html": html_page("Blood pressure checks", ARTICLE),
        },
    )
    assert (corpus / "documents/bomb.pdf").stat().st_size < 2_000_000
    reader = subprocess.run(
        [
            sys.executable,
            "-c",
            # The peak of this process's own memory (VmHWM): getrusage's would start from
            # the peak of the test process it was forked from.
            "import re, sys; from pathlib import Path; "
            "from indexer.config import IndexerSettings; from indexer.extract import extract_file; "
            "from indexer.errors import ExtractionError\n"
            "try: extract_file(Path(sys.argv[1]), IndexerSettings(), None); print('read')\n"
            "except ExtractionError as error: print(error.code)\n"
            "status = Path('/proc/self/status').read_text(); "
            "print(int(re.search(r'VmHWM:\\s*(\\d+)', status)[1]) // 1024)",
            str(corpus / "documents/bomb.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcome, peak_mb = reader.stdout.split("\n")[:2]
    # pypdf stops inflating a stream at 75 MB; reaching that limit peaks near 210 MB here,
    # where the whole 400 MB, held in a few copies, would take well over a gigabyte.
    assert outcome == "too-large" and int(peak_mb) < 300
    report = build_index(IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    outcomes = {item.path: (item.code, item.message) for item in report.skipped}
    assert outcomes.keys() == {"documents/bomb.pdf", "news/deep.html"} and report.indexed == 1
    assert outcomes["documents/bomb.pdf"][0] == "too-large"
    assert "decompression bomb" in outcomes["documents/bomb.pdf"][1]
    # The parser keeps 256 levels of nesting; the text below them is not read.
    assert outcomes["news/deep.html"][0] == "empty"
    assert "nested more than 256 deep" in outcomes["news/deep.html"][1]
