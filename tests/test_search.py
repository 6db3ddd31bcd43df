"""Search over the sample corpus: ranking, filters, facets, sorting, paging, snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.config import IndexerSettings
from indexer.document import PAGE_BREAK
from indexer.extract import extract_file
from indexer.store import IndexStore
from search_api.engine.pdf_pages import PageRanker
from search_api.engine.service import SearchRequest, SearchService
from tests.conftest import CORPUS, html_page, write_corpus


def search(service: SearchService, **kwargs) -> dict:
    return service.search(SearchRequest(**kwargs))


def test_green_plan_finds_the_page_and_documents_first(service: SearchService) -> None:
    top = search(service, q="green plan")["results"][:3]
    assert top[0]["id"] == "pages/green-plan.html"
    assert any(hit["type"] == "document" for hit in top[1:])
    assert all("green plan" in hit["title"].lower() for hit in top)


def test_a_small_page_ranks_like_a_large_one(service: SearchService) -> None:
    """Top hits must not depend on how many are asked for (Whoosh's top-N shortcut did)."""
    full = [hit["id"] for hit in search(service, q="green plan", per_page=50)["results"]]
    for per_page in (1, 3, 4):
        page = search(service, q="green plan", per_page=per_page)["results"]
        assert [hit["id"] for hit in page] == full[:per_page]


def test_pages_continue_one_another(service: SearchService) -> None:
    everything = [h["id"] for h in search(service, q="vaccination", per_page=50)["results"]]
    pages = [search(service, q="vaccination", per_page=4, page=n)["results"] for n in (1, 2, 3)]
    assert [h["id"] for page in pages for h in page] == everything[:12]
    assert search(service, q="vaccination", page=99)["results"] == []


def test_filters_are_or_within_a_facet_and_and_across(service: SearchService) -> None:
    result = search(service, filters={"type": ("news", "document"), "year": ("2025",)}, per_page=50)
    assert result["total"] == len(result["results"]) > 0
    assert {h["type"] for h in result["results"]} == {"news", "document"}
    assert all(h["date"].startswith("2025") for h in result["results"])


def test_facet_counts_ignore_their_own_selection(service: SearchService) -> None:
    everything = search(service)
    chosen = search(service, filters={"type": ("news",)})
    type_counts = {f["value"]: f["count"] for f in chosen["facets"]["type"]}
    assert type_counts == {f["value"]: f["count"] for f in everything["facets"]["type"]}
    assert [f["value"] for f in chosen["facets"]["type"] if f["selected"]] == ["news"]
    assert (
        sum(f["count"] for f in chosen["facets"]["year"]) == chosen["total"] == type_counts["news"]
    )


def test_a_selected_value_with_no_matches_is_still_listed(service: SearchService) -> None:
    result = search(service, q="green plan", filters={"topic": ("No such topic",)})
    assert result["total"] == 0
    assert {"value": "No such topic", "count": 0, "selected": True} in result["facets"]["topic"]


@pytest.mark.parametrize(("sort", "newest_first"), [("newest", True), ("oldest", False)])
def test_sorting_by_date(service: SearchService, sort: str, newest_first: bool) -> None:
    dates = [h["date"] for h in search(service, q="vaccination", sort=sort, per_page=50)["results"]]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=newest_first) and len(dated) > 3


def test_an_empty_query_lists_everything_newest_first(service: SearchService) -> None:
    result = search(service, filters={"type": ("news",)}, per_page=5)
    dates = [h["date"] for h in result["results"]]
    assert dates == sorted(dates, reverse=True)
    assert result["total"] >= 40
    assert all(h["score"] is None for h in result["results"])


def test_snippets_mark_matches(service: SearchService) -> None:
    hit = search(service, q="inhalers")["results"][0]
    assert "<mark>inhalers</mark>" in hit["snippet"].lower()


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "(open", "title:", "AND", "OR OR", "-", "*", "green AND (", "type:"],
)
def test_malformed_syntax_never_fails(service: SearchService, q: str) -> None:
    assert search(service, q=q)["total"] >= 0


def test_snippets_escape_everything_but_the_marks(tmp_path: Path) -> None:
    hostile = (
        "<p>Pharmacy advice: &lt;script&gt;alert('x')&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt;"
        " claims about pharmacy services that go on long enough to be a real article body.</p>"
    )
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Advice", hostile)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    snippet = search(SearchService(settings.index_dir), q="pharmacy")["results"][0]["snippet"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet
    assert snippet.count("<mark>") == snippet.count("</mark>") == 2


def test_the_service_moves_to_a_newly_published_version(tmp_path: Path) -> None:
    body = "<p>" + "Free flu vaccination clinics open in Bedford this autumn. " * 3 + "</p>"
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Flu clinics", body)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    now = [0.0]
    service = SearchService(settings.index_dir, refresh_seconds=5, clock=lambda: now[0])
    assert search(service, q="flu")["total"] == 1

    write_corpus(corpus, {"b.html": html_page("More flu clinics", body)})
    build_index(settings)
    assert search(service, q="flu")["total"] == 1  # not yet checked again
    now[0] = 10.0
    assert search(service, q="flu")["total"] == 2
    assert service.health()["documents"] == 2


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_undated_documents_come_last_in_either_date_order(
    service: SearchService, sort: str
) -> None:
    dates = [h["date"] for h in search(service, q="green", sort=sort, per_page=50)["results"]]
    assert None in dates
    first_undated = dates.index(None)
    assert all(d is None for d in dates[first_undated:])
    assert first_undated > 0


def test_a_damaged_new_version_does_not_take_search_down(tmp_path: Path) -> None:
    body = "<p>" + "Free flu vaccination clinics open in Bedford this autumn. " * 3 + "</p>"
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Flu clinics", body)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    good = build_index(settings).version
    now = [0.0]
    service = SearchService(settings.index_dir, refresh_seconds=1, clock=lambda: now[0])
    damaged = settings.index_dir / "v-99999999T000000000000-000000"
    damaged.mkdir()  # a version folder with no index in it
    IndexStore(settings.index_dir).pointer.write_text(damaged.name)
    now[0] = 5.0
    assert search(service, q="flu")["total"] == 1
    assert service.health()["index_version"] == good


def test_a_headline_seen_only_in_teaser_blocks_finds_just_its_own_article(
    service: SearchService,
) -> None:
    teaser = "Spring COVID-19 vaccinations begin, and new chickenpox"
    pages_showing_it = [p for p in CORPUS.rglob("*.html") if teaser.encode() in p.read_bytes()]
    assert len(pages_showing_it) > 30  # every news page lists it among the latest news
    hits = search(service, q='"spring covid-19 vaccinations begin"')["results"]
    assert [hit["id"] for hit in hits] == [
        "news/2026-04-09-spring-covid-19-and-new-chickenpox-vaccinations.html"
    ]


GREEN_ROOF = "case-studies/local/resilient-communities/milton-keynes-green-roof-project.pdf"


def test_a_query_answered_on_one_page_of_a_case_study_links_to_that_page(
    service: SearchService,
) -> None:
    pages = extract_file(CORPUS / GREEN_ROOF, IndexerSettings(), CORPUS).pages
    assert [p.number for p in pages if "cinnabar" in p.text and "ragwort" in p.text] == [4]
    result = search(service, q="cinnabar ragwort")
    assert result["total"] == 1
    hit = result["results"][0]
    assert hit["id"] == GREEN_ROOF
    assert [page["number"] for page in hit["pages"]] == [4]
    assert hit["url"].endswith(f"/{GREEN_ROOF}#page=4") and hit["url"] == hit["pages"][0]["url"]
    assert (
        "<mark>cinnabar</mark>" in hit["snippet"] and hit["snippet"] == hit["pages"][0]["snippet"]
    )


def test_a_pdf_is_listed_once_with_its_best_pages_first(service: SearchService) -> None:
    hits = search(service, q="inhalers", per_page=50)["results"]
    assert len({hit["id"] for hit in hits}) == len(hits)
    study = next(
        hit for hit in hits if hit["id"].endswith("lower-carbon-inhalers-bedford-gp-practices.pdf")
    )
    assert 1 <= len(study["pages"]) <= 3
    numbers = [page["number"] for page in study["pages"]]
    assert len(set(numbers)) == len(numbers)
    assert all(page["url"].endswith(f"#page={page['number']}") for page in study["pages"])
    assert all("<mark>" in page["snippet"] for page in study["pages"])


def test_html_hits_and_browsing_have_no_page_list(service: SearchService) -> None:
    hits = search(service, q="green roof", per_page=50)["results"]
    assert all(hit["pages"] == [] for hit in hits if hit["type"] in ("news", "page"))
    assert any(hit["pages"] for hit in hits if hit["type"] == "case-study")
    browsing = search(service, filters={"type": ("case-study",)}, per_page=50)["results"]
    assert browsing and all(hit["pages"] == [] and "#" not in hit["url"] for hit in browsing)


def test_a_pdf_matched_by_its_title_only_links_to_the_document(tmp_path: Path) -> None:
    pdf = (CORPUS / GREEN_ROOF).read_bytes()
    corpus = write_corpus(tmp_path / "corpus", {"documents/roof.pdf": pdf})
    (corpus / "documents" / "roof.pdf.json").write_text('{"title": "Zebracrossing report"}')
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    hit = search(SearchService(settings.index_dir), q="zebracrossing")["results"][0]
    assert hit["pages"] == [] and hit["url"].endswith("/documents/roof.pdf")


def test_pages_rank_by_distinct_terms_then_occurrences() -> None:
    body = PAGE_BREAK.join(
        [
            "Flu clinics open. Flu flu flu.",  # one term, often
            "",  # a page without text
            "Flu vaccinations at pharmacies.",  # two terms
            "Nothing relevant here.",
            "Vaccination clinics and flu jabs for the over-65s; flu vaccination again.",
        ]
    )
    ranker = PageRanker(["flu", "vaccin"])
    assert [page.number for page in ranker.best(body)] == [5, 3, 1]
    assert [page.number for page in ranker.best(body, limit=1)] == [5]
    assert PageRanker([]).best(body) == []


def test_searches_on_many_threads_answer_as_they_do_one_at_a_time(
    corpus_settings: IndexerSettings, corpus_build: object
) -> None:
    """Searches hold the version's lock only while Whoosh's storage is read, so they run
    side by side: each must still get exactly the answer it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    queries = ["green plan", "waiting lists", "flu jab", "pharmacy first", "kids jabs", "asthma"]
    queries += ["mental health crisis", "covid vaccin*", '"shared care record"', "measles"]
    alone = SearchService(corpus_settings.index_dir, cache_responses=False)
    expected = {q: [r["id"] for r in alone.search(SearchRequest(q=q))["results"]] for q in queries}
    together = SearchService(corpus_settings.index_dir, cache_responses=False)  # cold caches

    def answer(q: str) -> tuple[str, list[str]]:
        return q, [r["id"] for r in together.search(SearchRequest(q=q))["results"]]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(answer, queries * 20))
    assert all(ids == expected[q] for q, ids in answers)
