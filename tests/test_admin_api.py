"""The admin API end to end: a real blmk-serve with a token, real uploads, real rebuilds."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.config import IndexerSettings
from indexer.lock import BuildLock
from search_api.staff.jobs import IndexJobs
from tests.conftest import CORPUS, get_json, html_page, serve

pytestmark = pytest.mark.server

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GREEN_ROOF = (
    CORPUS / "case-studies/local/resilient-communities/milton-keynes-green-roof-project.pdf"
)


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"} | AUTH


def upload(base: str, filename: str, data: bytes, **fields: str) -> tuple[int, dict]:
    body, headers = multipart(fields, filename, data)
    return get_json(f"{base}/admin/documents", "POST", body, headers)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, IndexerSettings]]:
    root = tmp_path_factory.mktemp("admin")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = IndexerSettings(corpus_dir=corpus, index_dir=root / "index")
    build_index(settings)
    env = {"BLMK_ADMIN_TOKEN": TOKEN, "BLMK_REFRESH_SECONDS": "0.1", "BLMK_MAX_UPLOAD_MB": "1"}
    args = ["--index", str(settings.index_dir), "--corpus", str(corpus)]
    with serve(args, env) as base:
        yield base, settings


def reindex(base: str, full: bool = False) -> dict:
    status, body = get_json(
        f"{base}/admin/reindex{'?full=true' if full else ''}", "POST", b"", AUTH
    )
    assert status == 202, body
    return wait_for(base, body["job"]["id"])


def wait_for(base: str, job_id: str, headers: dict[str, str] = AUTH) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, body = get_json(f"{base}/admin/jobs/{job_id}", headers=headers)
        assert status == 200
        if body["job"]["state"] in ("succeeded", "failed"):
            time.sleep(0.3)  # the server moves to the new version within its refresh time
            return body["job"]
        time.sleep(0.1)
    pytest.fail("the index job did not finish")


def total(base: str, q: str) -> int:
    return get_json(f"{base}/search?q={q}")[1]["total"]


def test_admin_routes_need_the_token(site: tuple[str, IndexerSettings]) -> None:
    base, _ = site
    for method, path in (
        ("POST", "/admin/reindex"),
        ("GET", "/admin/report"),
        ("POST", "/admin/documents"),
        ("DELETE", "/admin/documents/x.html"),
    ):
        status, body = get_json(f"{base}{path}", method, b"" if method != "GET" else None)
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        wrong = {"Authorization": "Bearer not-the-token"}
        status, body = get_json(f"{base}{path}", method, b"" if method != "GET" else None, wrong)
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        assert "not valid" in body["error"]["message"]


def test_upload_reindex_find_delete(site: tuple[str, IndexerSettings]) -> None:
    base, settings = site
    status, body = upload(
        base,
        "Moth survey 2026.pdf",
        GREEN_ROOF.read_bytes(),
        folder="case-studies/local/resilient-communities",
        title="Zebrafinch roof survey",
        topic="Biodiversity",
    )
    assert status == 201, body
    pdf_id = body["path"]
    assert pdf_id == "case-studies/local/resilient-communities/Moth-survey-2026.pdf"
    page = html_page(
        "Quokka clinic opens", "<p>" + "A quokka themed clinic opens in Luton. " * 6 + "</p>"
    )
    status, body = upload(base, "quokka.html", page.encode(), folder="news")
    assert status == 201 and body["path"] == "news/quokka.html"
    assert (total(base, "zebrafinch"), total(base, "quokka")) == (0, 0)  # not until reindexed

    job = reindex(base)
    assert job["state"] == "succeeded", job
    assert (job["report"]["added"], job["report"]["read"]) == (2, 2)
    assert job["progress"] == {"done": 2, "total": 2}
    assert total(base, "zebrafinch") == 1 and total(base, "quokka") == 1
    hit = get_json(f"{base}/search?q=zebrafinch")[1]["results"][0]
    assert hit["type"] == "case-study" and hit["topics"] == ["Biodiversity"]

    status, _ = get_json(f"{base}/admin/documents/news/quokka.html", "DELETE", None, AUTH)
    assert status == 200
    assert not (settings.corpus_dir / "news" / "quokka.html").exists()
    job = reindex(base)
    assert job["report"]["removed"] == 1
    assert total(base, "quokka") == 0 and total(base, "zebrafinch") == 1
    status, report = get_json(f"{base}/admin/report", headers=AUTH)
    assert status == 200 and report["ok"] and report["version"] == job["report"]["version"]
    missing = get_json(f"{base}/admin/documents/news/quokka.html", "DELETE", None, AUTH)
    assert missing[0] == 404


@pytest.mark.parametrize(
    ("filename", "data", "fields", "status", "says"),
    [
        ("report.pdf", b"<html><body><p>not a pdf</p></body></html>", {}, 400, "not a PDF"),
        ("page.html", b"%PDF-1.7\n...", {}, 400, "not an HTML page"),
        ("notes.txt", b"hello", {}, 400, "only .pdf, .html"),
        ("page.html", b"<html><p>x</p></html>", {"folder": "../outside"}, 400, "not allowed"),
        ("page.html", b"<html><p>x</p></html>", {"scope": "regional"}, 400, "scope"),
        ("big.pdf", b"%PDF-1.7\n" + b"0" * 1_200_000, {}, 413, "at most 1 MB"),
    ],
    ids=["html-named-pdf", "pdf-named-html", "text", "traversal", "scope", "too-large"],
)
def test_bad_uploads_are_refused(
    site: tuple[str, IndexerSettings],
    filename: str,
    data: bytes,
    fields: dict,
    status: int,
    says: str,
) -> None:
    base, settings = site
    before = sorted(
        p for p in settings.corpus_dir.parent.rglob("*") if p.is_file() and "index" not in p.parts
    )
    got, body = upload(base, filename, data, **fields)
    assert got == status and says in body["error"]["message"]
    after = sorted(
        p for p in settings.corpus_dir.parent.rglob("*") if p.is_file() and "index" not in p.parts
    )
    assert after == before


def test_a_traversing_file_name_stays_inside_the_corpus(site: tuple[str, IndexerSettings]) -> None:
    base, settings = site
    status, body = upload(base, "../../evil.html", b"<html><body><p>x</p></body></html>")
    assert status == 201 and body["path"] == "evil.html"
    assert (settings.corpus_dir / "evil.html").is_file()
    get_json(f"{base}/admin/documents/evil.html", "DELETE", None, AUTH)


def test_a_second_reindex_is_refused_while_a_build_runs(
    site: tuple[str, IndexerSettings],
) -> None:
    base, settings = site
    with BuildLock(settings.index_dir):  # a command-line build holds the lock
        status, body = get_json(f"{base}/admin/reindex", "POST", b"", AUTH)
    assert (status, body["error"]["code"]) == (409, "build_in_progress")
    assert "another build" in body["error"]["message"]


def test_searches_during_a_full_rebuild_all_succeed(site: tuple[str, IndexerSettings]) -> None:
    base, _ = site
    status, body = get_json(f"{base}/admin/reindex?full=true", "POST", b"", AUTH)
    assert status == 202
    job_id = body["job"]["id"]
    statuses: Counter[int] = Counter()
    finished = threading.Event()

    def search_loop() -> None:
        queries = ["green+plan", "waiting+lists", "mentle+health", "vaccination", "a+and+e"]
        i = 0
        while not finished.is_set():
            statuses[get_json(f"{base}/search?q={queries[i % len(queries)]}")[0]] += 1
            i += 1

    threads = [threading.Thread(target=search_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    job = wait_for(base, job_id)
    finished.set()
    for thread in threads:
        thread.join(timeout=30)
    assert job["state"] == "succeeded" and job["kind"] == "full"
    print(f"\nsearches during a full rebuild: {dict(statuses)}")
    assert set(statuses) == {200} and statuses[200] > 10


def test_documents_versions_and_rollback(site: tuple[str, IndexerSettings]) -> None:
    base, _ = site
    status, body = get_json(f"{base}/admin/documents", headers=AUTH)
    assert status == 200 and any(d["id"] == "pages/green-plan.html" for d in body["documents"])
    assert all(set(d) == {"id", "bytes", "modified", "sha256"} for d in body["documents"])
    reindex(base, full=True)
    status, before = get_json(f"{base}/admin/versions", headers=AUTH)
    assert status == 200 and len(before["versions"]) >= 2
    assert before["versions"][0]["current"] and before["current"] == before["versions"][0]["name"]
    status, body = get_json(f"{base}/admin/rollback", "POST", b"", AUTH)
    assert status == 200 and body["current"] == before["versions"][1]["name"]
    assert get_json(f"{base}/admin/versions", headers=AUTH)[1]["current"] == body["current"]


def test_the_admin_page_needs_no_token_to_load_but_holds_none(
    site: tuple[str, IndexerSettings],
) -> None:
    base, _ = site
    with urllib.request.urlopen(f"{base}/admin", timeout=10) as response:
        html = response.read().decode()
    assert response.status == 200 and 'type="password"' in html and TOKEN not in html


def test_a_job_that_cannot_build_reports_why(tmp_path: Path) -> None:
    jobs = IndexJobs(IndexerSettings(corpus_dir=tmp_path / "gone", index_dir=tmp_path / "index"))
    job = jobs.start()
    deadline = time.monotonic() + 30
    while job.state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.state == "failed" and "corpus folder not found" in (job.error or "")
    assert job.to_json()["finished_at"] is not None
    assert jobs.start().id != job.id  # the runner is free again


def test_wrong_tokens_make_an_address_wait(tmp_path: Path) -> None:
    """Past the limit of wrong tokens, every admin request from the address is a 429 with
    Retry-After, even with the right token; searching is not affected."""
    settings = IndexerSettings(corpus_dir=CORPUS, index_dir=tmp_path / "index")
    build_index(settings)
    env = {"BLMK_ADMIN_TOKEN": TOKEN, "BLMK_ADMIN_MAX_FAILURES": "3"}
    with serve(["--index", str(settings.index_dir), "--corpus", str(CORPUS)], env) as base:
        wrong = {"Authorization": "Bearer guess"}
        assert get_json(f"{base}/admin/versions", headers={})[0] == 401  # no token: not counted
        statuses = [get_json(f"{base}/admin/versions", headers=wrong)[0] for _ in range(3)]
        assert statuses == [401, 401, 401]
        request = urllib.request.Request(f"{base}/admin/versions", headers=AUTH)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 429
        assert 0 < int(refused.value.headers["Retry-After"]) <= 60
        body = json.load(refused.value)
        assert body["error"]["code"] == "too_many_attempts"
        assert get_json(f"{base}/search?q=green+plan")[0] == 200
