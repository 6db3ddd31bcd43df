"""The HTTP API through Falcon's test client: response shapes and the one error shape."""

from __future__ import annotations

import http.client
import urllib.parse
from pathlib import Path

import falcon.testing
import pytest

from indexer.build import build_index
from indexer.config import IndexerSettings
from search_api.engine.service import SearchService
from search_api.http.app import create_app
from search_api.http.settings import Settings
from search_api.staff.analytics import QueryLog
from tests.conftest import html_page, write_corpus


def test_search_response_shape(client: falcon.testing.TestClient) -> None:
    response = client.simulate_get("/search", params={"q": "waiting lists", "per_page": "3"})
    assert response.status_code == 200
    body = response.json
    assert set(body) == {
        "query",
        "total",
        "page",
        "per_page",
        "suggestion",
        "results",
        "facets",
        "took_ms",
        "partial",
    }
    assert (body["query"], body["page"], body["per_page"]) == ("waiting lists", 1, 3)
    assert body["partial"] is False
    assert body["suggestion"] is None
    assert len(body["results"]) == 3 and body["total"] >= 3
    assert set(body["results"][0]) == {
        "id",
        "url",
        "title",
        "type",
        "date",
        "snippet",
        "score",
        "topics",
        "scope",
        "source",
        "pinned",
        "pages",
    }
    assert body["results"][0]["source"] == "corpus"
    assert set(body["facets"]) == {"type", "year", "topic", "scope"}
    assert set(body["facets"]["type"][0]) == {"value", "count", "selected"}


def test_a_pdf_hit_lists_its_pages(client: falcon.testing.TestClient) -> None:
    response = client.simulate_get("/search", params={"q": "cinnabar moth trap"})
    hit = response.json["results"][0]
    assert hit["type"] == "case-study"
    assert [set(page) for page in hit["pages"]] == [{"number", "snippet", "url"}]
    assert hit["pages"][0]["number"] == 4 and hit["url"].endswith(".pdf#page=4")


def test_repeated_filters_widen_and_different_filters_narrow(
    client: falcon.testing.TestClient,
) -> None:
    either = client.simulate_get("/search", query_string="type=case-study&type=document")
    assert {r["type"] for r in either.json["results"]} == {"case-study", "document"}
    assert either.json["total"] == 12 + 4
    both = client.simulate_get(
        "/search", query_string="type=case-study&type=document&scope=local&per_page=50"
    )
    results = both.json["results"]
    assert both.json["total"] == len(results) == 6
    assert {(r["type"], r["scope"]) for r in results} == {("case-study", "local")}


@pytest.mark.parametrize(
    ("query_string", "parameter"),
    [
        ("q=x&per_page=500", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=two", "page"),
        ("page=1.5", "page"),
        ("sort=relevant", "sort"),
        ("type=blog", "type"),
        ("scope=regional", "scope"),
        ("year=last", "year"),
        ("topic=" + "x" * 101, "topic"),
        ("q=" + "word " * 101, "q"),
        ("q=" + "x" * 257, "q"),
        ("q=" + "+".join(["nhs"] * 33), "q"),
        ("page=101", "page"),
        ("page=21&per_page=50", "page"),
        ("from=2025-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2025-02-30", "to"),
        ("from=2025-06-01&to=2025-01-01", "to"),
    ],
    ids=lambda value: value[:30],
)
def test_bad_parameters_get_a_400_json_error(
    client: falcon.testing.TestClient, query_string: str, parameter: str
) -> None:
    response = client.simulate_get("/search", query_string=query_string)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json["error"]["code"] == "invalid_parameter"
    assert response.json["error"]["message"].startswith(parameter)


def test_documents_by_id_including_slashes(client: falcon.testing.TestClient) -> None:
    response = client.simulate_get("/documents/documents/draft-green-plan-2025.pdf")
    assert response.status_code == 200
    document = response.json
    assert set(document) == {
        "id",
        "url",
        "path",
        "type",
        "title",
        "summary",
        "body",
        "date",
        "year",
        "topics",
        "scope",
        "page_count",
        "content_hash",
        "source",
    }
    assert document["type"] == "document" and document["page_count"] >= 10
    assert document["date"] == "2025-03-12" and len(document["content_hash"]) == 64


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/documents/news/no-such-page.html", 404, "document_not_found"),
        ("GET", "/no-such-route", 404, "not_found"),
        ("POST", "/search", 405, "method_not_allowed"),
        ("DELETE", "/health", 405, "method_not_allowed"),
    ],
)
def test_errors_share_one_shape(
    client: falcon.testing.TestClient, method: str, path: str, status: int, code: str
) -> None:
    response = client.simulate_request(method, path)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_health(client: falcon.testing.TestClient, corpus_build) -> None:
    body = client.simulate_get("/health").json
    assert body["status"] == "ok"
    assert body["documents"] == corpus_build.indexed
    assert body["index_version"] == corpus_build.version
    assert body["built_at"]


def test_an_unexpected_failure_is_a_json_500_without_details(tmp_path: Path) -> None:
    body = "<p>" + "Walk-in flu vaccination clinics open in Luton this week. " * 3 + "</p>"
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Flu clinics", body)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    service = SearchService(settings.index_dir)
    service.current().searcher.close()  # a fault inside the engine, not in the request
    response = falcon.testing.TestClient(create_app(service)).simulate_get(
        "/search", params={"q": "flu"}
    )
    assert response.status_code == 500
    assert response.json == {
        "error": {
            "code": "internal_error",
            "message": "The search service failed to answer; the error has been logged.",
        }
    }


def test_a_misspelt_query_answers_with_a_suggestion(client: falcon.testing.TestClient) -> None:
    body = client.simulate_get("/search", params={"q": "vacination"}).json
    assert body["suggestion"] == "vaccination" and body["total"] > 0


def test_date_range_over_http(client: falcon.testing.TestClient) -> None:
    body = client.simulate_get("/search", params={"from": "2026-01-01", "to": "2026-12-31"}).json
    assert body["total"] > 0
    assert all(hit["date"].startswith("2026") for hit in body["results"])


def test_suggestions_complete_what_is_typed(client: falcon.testing.TestClient) -> None:
    body = client.simulate_get("/suggest", params={"q": "green p"}).json
    assert body["query"] == "green p"
    assert 0 < len(body["suggestions"]) <= 8
    assert "Our Green Plan" in body["suggestions"] and "green plan" in body["suggestions"]
    assert all("people" not in s for s in body["suggestions"])
    assert client.simulate_get("/suggest", params={"q": ""}).json["suggestions"] == []
    too_long = client.simulate_get("/suggest", params={"q": "x" * 101})
    assert too_long.status_code == 400


def test_the_suggestion_stoplist_applies_at_once(
    corpus_settings: IndexerSettings, tmp_path: Path
) -> None:
    stoplist = tmp_path / "stop.txt"
    stoplist.write_text("# nothing yet\n")
    service = SearchService(corpus_settings.index_dir, suggest_stoplist_file=stoplist)
    assert any("Green" in s for s in service.suggest("gre")["suggestions"])
    stoplist.write_text("green\n")
    assert not any("green" in s.lower().split() for s in service.suggest("gre")["suggestions"])


def test_only_configured_sites_may_read_answers_cross_origin(service: SearchService) -> None:
    settings = Settings(cors_origins=frozenset({"https://www.example.nhs.uk"}))
    client = falcon.testing.TestClient(create_app(service, settings))
    allowed = client.simulate_get(
        "/suggest", params={"q": "gre"}, headers={"Origin": "https://www.example.nhs.uk"}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://www.example.nhs.uk"
    assert "Origin" in allowed.headers["vary"]
    other = client.simulate_get("/suggest", params={"q": "gre"}, headers={"Origin": "https://x.io"})
    assert "access-control-allow-origin" not in other.headers
    unconfigured = falcon.testing.TestClient(create_app(service)).simulate_get(
        "/search", headers={"Origin": "https://www.example.nhs.uk"}
    )
    assert "access-control-allow-origin" not in unconfigured.headers


# Paths whose answer is the same from one request to the next, and paths whose answer carries
# a timing or a clock (so only their length's presence is compared).
SAME_EVERY_TIME = [
    "/openapi.json",
    "/static/site.css",
    "/health/live",
    "/documents/news/no-such-page.html",
    "/search?per_page=1000",
]
CHANGING = ["/", "/?q=green+plan", "/search?q=green+plan", "/suggest?q=gre", "/health"]


def _ask(base: str, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    address = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.server
@pytest.mark.parametrize("path", SAME_EVERY_TIME + CHANGING)
def test_head_answers_as_get_does_without_the_body(corpus_server: str, path: str) -> None:
    get_status, get_headers, get_body = _ask(corpus_server, "GET", path)
    status, headers, body = _ask(corpus_server, "HEAD", path)
    assert status == get_status != 405 and body == b""
    assert headers["Content-Type"] == get_headers["Content-Type"]
    if path in SAME_EVERY_TIME:
        assert int(headers["Content-Length"]) == len(get_body)
    else:
        assert int(headers["Content-Length"]) > 0


def test_a_head_search_is_not_counted(service: SearchService) -> None:
    queries = QueryLog(min_count=1)
    client = falcon.testing.TestClient(create_app(service, queries=queries))
    for path in ("/search", "/"):
        assert client.simulate_head(path, params={"q": "green plan"}).status_code == 200
    assert queries.report(1, 10)["weeks"][0]["searches"] == 0
    client.simulate_get("/search", params={"q": "green plan"})
    assert queries.report(1, 10)["weeks"][0]["searches"] == 1
