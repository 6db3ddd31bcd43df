"""Whole responses are cached per index version: a cached answer is the answer the search
would have given, and a newly published version (or edited synonyms) is never answered from
what was cached before."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from indexer.build import build_index, update_index
from indexer.config import IndexerSettings
from search_api.engine.service import SearchRequest, SearchService
from tests.conftest import REPO, html_page, write_corpus
from tests.test_postings import TYPED

REQUESTS = [SearchRequest(q=q) for q in TYPED] + [
    SearchRequest(q="vaccination", filters={"type": ("news",)}),
    SearchRequest(q="vaccination", filters={"topic": ("Vaccinations",), "year": ("2024",)}),
    SearchRequest(q="green plan", sort="newest", page=2, per_page=5),
    SearchRequest(q="", sort="oldest", page=3),
    SearchRequest(q="*", filters={"type": ("case-study",)}),
    SearchRequest(q="pharmacy", date_from=date(2023, 1, 1), date_to=date(2024, 12, 31)),
    SearchRequest(q="health", page=400),
]


def answer(service: SearchService, request: SearchRequest) -> dict:
    return {k: v for k, v in service.search(request).items() if k != "took_ms"}


def test_cached_and_uncached_searches_answer_alike(service: SearchService) -> None:
    # A cold first search on a loaded machine can pass the usual time budget and answer
    # "partial" (never cached); this compares caching, not budgets.
    cached, uncached = (
        SearchService(
            service.store.root,
            synonyms_file=REPO / "config" / "synonyms.txt",
            best_bets_file=REPO / "config" / "best-bets.toml",
            cache_responses=caching,
            budget_seconds=60.0,
        )
        for caching in (True, False)
    )
    cache = cached.current().responses
    for request in REQUESTS:
        first = answer(cached, request)  # computed
        again = answer(cached, request)  # from the cache
        assert again == first == answer(uncached, request), request
    assert cache.currsize >= len({r.cache_key() for r in REQUESTS})
    assert uncached.current().responses.currsize == 0


def test_spacing_and_filter_order_share_an_entry_but_nothing_else_does(
    service: SearchService,
) -> None:
    a = SearchRequest(q="  green   plan ", filters={"topic": ("b", "a")})
    b = SearchRequest(q="green plan", filters={"topic": ("a", "b")})
    assert a.cache_key() == b.cache_key()
    assert service.search(a)["query"] == "  green   plan "  # the query is echoed as typed
    for other in (
        SearchRequest(q="Green plan"),  # "OR" and "or" differ, so case is kept
        SearchRequest(q="green plan", page=2),
        SearchRequest(q="green plan", sort="newest"),
        SearchRequest(q="green plan", per_page=5),
        SearchRequest(q="green plan", date_from=date(2020, 1, 1)),
    ):
        assert other.cache_key() != b.cache_key()


def article(title: str, text: str) -> str:
    return html_page(title, f"<p>{text} " + "More words for a body of some length. " * 5 + "</p>")


@pytest.fixture
def small(tmp_path: Path) -> IndexerSettings:
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "news/2024-01-10-flu.html": article("Flu clinics open", "Flu clinics open in Luton."),
            "news/2024-02-11-parking.html": article("Parking", "Parking at Bedford Hospital."),
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    return settings


def test_a_new_index_version_is_never_answered_from_the_old_cache(
    small: IndexerSettings,
) -> None:
    service = SearchService(small.index_dir, refresh_seconds=0)
    request = SearchRequest(q="clinics")
    assert service.search(request)["total"] == 1
    assert answer(service, request) == answer(service, request)
    old = service.current()
    assert old.responses.currsize == 1  # cached
    (small.corpus_dir / "news" / "2024-03-12-clinics.html").write_text(
        article("More clinics", "Walk-in clinics in Dunstable.")
    )
    update_index(small)
    after = service.search(request)
    # The old version is kept only to stand in if the new one fails, its caches released.
    assert service.current() is not old and old.responses.currsize == 0
    assert after["total"] == 2
    assert "More clinics" in [hit["title"] for hit in after["results"]]


def test_edited_synonyms_are_not_answered_from_the_cache(
    small: IndexerSettings, tmp_path: Path
) -> None:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("")
    service = SearchService(small.index_dir, synonyms_file=synonyms)
    request = SearchRequest(q="vehicles")
    assert service.search(request)["total"] == 0
    synonyms.write_text("vehicles, parking\n")
    assert service.search(request)["total"] == 1
