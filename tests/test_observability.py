"""What operators see, from the real server (``blmk-serve`` on a free port): one JSON
access-log line per request, without client addresses or query text, and ``GET /metrics``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from indexer.build import BuildError, BuildReport, build_index
from indexer.config import IndexerSettings
from indexer.store import IndexStore
from tests.conftest import get_json, html_page, serve, write_corpus

pytestmark = pytest.mark.server

ACCESS_FIELDS = {"time", "method", "route", "path", "status", "duration_ms", "result_count"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def server(corpus_settings: IndexerSettings, corpus_build: BuildReport) -> Iterator[str]:
    with serve(["--index", str(corpus_settings.index_dir)]) as base:
        yield base


def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """A real request: status, content type and body, for errors too."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read().decode()


def scrape(base: str) -> tuple[str, Samples]:
    """``/metrics`` as text, and its samples by name and labels (read by Prometheus's parser)."""
    status, content_type, text = fetch(f"{base}/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def labels(**values: str | int) -> frozenset[tuple[str, str]]:
    return frozenset((name, str(value)) for name, value in values.items())


def counted(base: str, route: str, method: str = "GET", status: int = 200) -> float:
    key = ("blmk_http_requests_total", labels(route=route, method=method, status=status))
    return scrape(base)[1].get(key, 0.0)


def test_one_json_access_line_per_request_without_address_or_query(
    corpus_settings: IndexerSettings, corpus_build: BuildReport
) -> None:
    printed: list[str] = []
    with serve(["--index", str(corpus_settings.index_dir)], output=printed) as base:
        _, found = get_json(f"{base}/search?q=green+plan&per_page=3")
        _, suggested = get_json(f"{base}/suggest?q=vacc")
        assert get_json(f"{base}/no/such/page")[0] == 404
    access = [line for line in printed if line.startswith("{")]
    by_path = {(record := json.loads(line))["path"]: record for line in access}
    assert [json.loads(line)["path"] for line in access].count("/search") == 1

    search = by_path["/search"]
    assert set(search) == ACCESS_FIELDS
    assert (search["method"], search["route"], search["status"]) == ("GET", "/search", 200)
    assert search["result_count"] == found["total"] > 0
    assert isinstance(search["duration_ms"], float) and search["duration_ms"] >= 0
    assert datetime.fromisoformat(search["time"]).utcoffset().total_seconds() == 0
    assert by_path["/suggest"]["result_count"] == len(suggested["suggestions"]) > 0
    missing = by_path["/no/such/page"]
    assert (missing["route"], missing["status"], missing["result_count"]) == (
        "unmatched",
        404,
        None,
    )
    assert by_path["/health"]["result_count"] is None
    assert not [line for line in access if "127.0.0.1" in line or "green" in line or "vacc" in line]


def test_requests_are_counted_and_timed_by_route_and_status(server: str) -> None:
    before = counted(server, "/search")
    for query in ("green plan", "waiting lists"):
        assert get_json(f"{server}/search?q={query.replace(' ', '+')}")[0] == 200
    text, samples = scrape(server)
    search = {"route": "/search", "method": "GET", "status": 200}
    total = samples[("blmk_http_requests_total", labels(**search))]
    assert total - before == 2
    assert "# TYPE blmk_http_request_duration_seconds histogram" in text
    everything = labels(**search, le="+Inf")
    assert samples[("blmk_http_request_duration_seconds_bucket", everything)] == total
    assert samples[("blmk_http_request_duration_seconds_count", labels(**search))] == total


@pytest.mark.parametrize(
    ("method", "path", "route", "status"),
    [
        ("GET", "/no/such/page-7f3a", "unmatched", 404),
        ("GET", "/documents/no-such-document-7f3a", "/documents/{doc_id:path}", 404),
        ("GET", "/static/site.css", "/static/{file}", 200),
        ("POST", "/search", "/search", 405),
        ("BREW", "/suggest", "/suggest", 400),
    ],
    ids=["no-route", "no-document", "static-file", "wrong-method", "unknown-method"],
)
def test_routes_are_labelled_by_template_never_by_path(
    server: str, method: str, path: str, route: str, status: int
) -> None:
    label = "other" if method == "BREW" else method
    before = counted(server, route, label, status)
    assert fetch(f"{server}{path}", method=method)[0] == status
    assert counted(server, route, label, status) - before == 1
    text, _ = scrape(server)
    assert "7f3a" not in text and "BREW" not in text


def test_index_and_last_build_gauges(server: str, corpus_settings: IndexerSettings) -> None:
    _, health = get_json(f"{server}/health")
    last = IndexStore(corpus_settings.index_dir).last_build()
    assert last is not None and last["ok"]
    _, samples = scrape(server)
    assert samples[("blmk_index_documents", frozenset())] == health["documents"] == 68
    version = labels(version=health["index_version"])
    assert samples[("blmk_index_version_info", version)] == 1
    assert samples[("blmk_last_build_ok", frozenset())] == 1
    finished = datetime.fromisoformat(last["finished_at"]).timestamp()
    assert samples[("blmk_last_build_timestamp_seconds", frozenset())] == finished
    assert samples[("blmk_last_build_duration_seconds", frozenset())] == last["seconds"] > 0


def test_a_failed_last_build_shows_without_the_values_it_lacks(tmp_path: Path) -> None:
    body = "<p>" + "Walk-in flu vaccination clinics open in Luton this week. " * 3 + "</p>"
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Flu clinics", body)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    write_corpus(corpus, {"a.html": html_page("Flu clinics", "")})  # nothing left to index
    with pytest.raises(BuildError):
        build_index(settings)
    failed = IndexStore(settings.index_dir).last_build()
    assert failed is not None and not failed["ok"] and "seconds" not in failed
    with serve(["--index", str(settings.index_dir)]) as base:
        _, samples = scrape(base)
    assert samples[("blmk_last_build_ok", frozenset())] == 0
    finished = datetime.fromisoformat(failed["finished_at"]).timestamp()
    assert samples[("blmk_last_build_timestamp_seconds", frozenset())] == finished
    assert samples[("blmk_index_documents", frozenset())] == 1  # the earlier version serves on
    assert "blmk_last_build_duration_seconds" not in {name for name, _ in samples}


def test_openmetrics_when_the_scraper_asks_for_it(server: str) -> None:
    accept = "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"
    status, content_type, text = fetch(f"{server}/metrics", headers={"Accept": accept})
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    assert "blmk_http_requests_total{" in text and text.endswith("# EOF\n")
