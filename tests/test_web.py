"""The public search page over HTTP, JavaScript not needed: search, filter, sort, page, and
nothing from a document or a query ever runs as script."""

from __future__ import annotations

import re
from pathlib import Path

import falcon.testing

from indexer.build import build_index
from indexer.config import IndexerSettings
from search_api.engine.service import SearchService
from search_api.http.app import create_app
from tests.conftest import write_corpus


def page(client: falcon.testing.TestClient, query: str = "") -> falcon.testing.Result:
    result = client.simulate_get("/", query_string=query)
    assert result.headers["content-type"].startswith("text/html")
    return result


def test_the_empty_page_is_a_labelled_search_form(client: falcon.testing.TestClient) -> None:
    result = page(client)
    assert result.status_code == 200
    assert '<form class="search-form" action="/" method="get" role="search">' in result.text
    assert re.search(r'<label class="label" for="search-q">', result.text)
    assert 'id="search-q" name="q"' in result.text
    assert "result-count" not in result.text


def test_results_with_marks_facets_and_count(client: falcon.testing.TestClient) -> None:
    text = page(client, "q=green+plan").text
    assert re.search(r'aria-live="polite">\s*\d+ results', text)
    assert "<mark>" in text
    assert 'name="type" value="news"' in text and 'name="year"' in text
    assert 'class="tag">Recommended' in text  # the best bet for "green plan"


def test_ticking_a_facet_narrows_the_results(client: falcon.testing.TestClient) -> None:
    everything = page(client, "q=green+plan").text
    news = page(client, "q=green+plan&type=case-study").text
    count = lambda text: int(re.search(r'aria-live="polite">\s*(\d+) result', text)[1])  # noqa: E731
    assert count(news) < count(everything)
    assert 'value="case-study" checked' in news


def test_did_you_mean_links_to_the_corrected_search(client: falcon.testing.TestClient) -> None:
    text = page(client, "q=mentle+health").text
    assert 'Did you mean <a href="/?q=mental+health">mental health</a>?' in text


def test_pages_link_forward_and_back(client: falcon.testing.TestClient) -> None:
    first = page(client, "q=health&sort=newest").text
    assert 'rel="next" href="/?q=health&amp;sort=newest&amp;page=2"' in first
    second = page(client, "q=health&sort=newest&page=2").text
    assert 'rel="prev" href="/?q=health&amp;sort=newest"' in second
    assert '<ol class="result-list" start="11">' in second


def test_a_pdf_hit_shows_its_pages(client: falcon.testing.TestClient) -> None:
    text = page(client, "q=cinnabar+ragwort").text
    assert re.search(r'<a href="[^"]+#page=4">p\. 4</a>', text)


def test_nothing_found_helps(client: falcon.testing.TestClient) -> None:
    text = page(client, "q=qwzxqq").text
    assert "No results" in text and "check the spelling" in text
    assert '<a href="/?q=green%20plan">green plan</a>' in text


def test_a_bad_parameter_is_a_400_page(client: falcon.testing.TestClient) -> None:
    result = page(client, "q=x&sort=sideways")
    assert result.status_code == 400 and "sort:" in result.text


def test_every_response_carries_the_security_headers(client: falcon.testing.TestClient) -> None:
    paths = ("/", "/search", "/search?page=0", "/suggest", "/health", "/metrics", "/openapi.json")
    for path in (*paths, "/static/site.css", "/nowhere"):
        headers = client.simulate_get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert client.simulate_get("/static/site.css").headers["content-type"].startswith("text/css")


HOSTILE = (
    "<!DOCTYPE html><html><head><title>x</title>"
    '<link rel="canonical" href="javascript:alert(1)"></head><body><main>'
    "<h1>Clinic <script>alert('title')</script><img src=x onerror=alert(2)></h1>"
    "<p>Clinic news: <script>alert('body')</script> <img src=x onerror=alert(3)> and "
    "<a href='javascript:alert(4)'>a link</a>. "
    + "More words about the clinic here. " * 8
    + "</p></main></body></html>"
)


def test_a_hostile_document_renders_inert(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"news/<script>x.html": HOSTILE})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    client = falcon.testing.TestClient(create_app(SearchService(settings.index_dir)))
    for query in ("q=clinic", "q=<script>alert(5)</script>clinic", 'q="><img src=x onerror=1>'):
        text = page(client, query).text
        body = text.split("<main", 1)[1]
        assert "<script" not in body.lower()
        assert not re.search(r"<img[^>]*onerror", body, re.I)
        assert 'href="javascript:' not in body.lower()
    echoed = page(client, "q=<script>alert(5)</script>clinic").text
    assert "&lt;script&gt;alert(5)&lt;/script&gt;clinic" in echoed
