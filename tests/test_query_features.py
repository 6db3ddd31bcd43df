"""What people type, understood: syntax, synonyms, typos, partial matches, best bets,
recency and date filters, over the sample corpus and small hand-made ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from indexer.build import BuildReport, build_index
from indexer.config import IndexerSettings
from search_api.editorial.synonyms import Thesaurus
from search_api.engine.query import MalformedQuery, QueryReader, lex, words_without_syntax
from search_api.engine.ranking import RankingSettings, RecencySettings
from search_api.engine.service import SearchRequest, SearchService
from search_api.http.settings import Settings
from tests.conftest import html_page, write_corpus

A_AND_E_ARTICLE = "news/2023-12-05-keep-a-and-e-for-emergencies-this-winter.html"


def search(service: SearchService, q: str, **kwargs) -> dict:
    return service.search(SearchRequest(q=q, **kwargs))


def ids(result: dict) -> list[str]:
    return [hit["id"] for hit in result["results"]]


@pytest.mark.parametrize(
    "broken",
    [
        '"waiting lists',
        "(waiting lists",
        "waiting lists)",
        "OR waiting lists",
        "waiting lists AND",
        "waiting OR OR lists",
        "title: waiting lists",
        "waiting - lists",
        "body:",
    ],
)
def test_broken_syntax_is_searched_as_its_plain_words(service: SearchService, broken: str) -> None:
    with pytest.raises(MalformedQuery):
        lex(broken)
    words = " ".join(words_without_syntax(broken))
    assert search(service, broken)["total"] == search(service, words)["total"] > 0


def test_the_query_language(service: SearchService) -> None:
    green = set(ids(search(service, '"green plan"', per_page=50)))
    not_draft = set(ids(search(service, '"green plan" -draft', per_page=50)))
    assert not_draft and not_draft < green
    either = search(service, "measles OR inhalers", per_page=50)
    assert either["total"] == len(
        set(ids(search(service, "measles", per_page=50)))
        | set(ids(search(service, "inhalers", per_page=50)))
    )
    titled = search(service, "title:waiting", per_page=50)["results"]
    assert titled and all("wait" in hit["title"].lower() for hit in titled)
    # A quoted word is searched as written, without synonyms.
    assert search(service, "vacc*")["total"] >= search(service, '"vaccination"')["total"]


def test_everyday_words_find_the_sites_words_through_synonyms(service: SearchService) -> None:
    assert A_AND_E_ARTICLE in ids(search(service, "a and e", per_page=3))
    assert A_AND_E_ARTICLE in ids(search(service, "A&E", per_page=3))
    # No page says "kids", and the MMR article says neither "kids" nor "jabs": it is found
    # through "children" and "vaccinations".
    kids_jabs = ids(search(service, "kids jabs", per_page=3))
    assert "news/2024-02-08-measles-cases-rising-check-mmr-vaccinations.html" in kids_jabs


def test_synonyms_apply_from_the_next_search_after_the_file_changes(
    corpus_settings: IndexerSettings, tmp_path: Path
) -> None:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("# none yet\n")
    service = SearchService(corpus_settings.index_dir, synonyms_file=synonyms)
    assert search(service, "qwzx")["total"] == 0
    synonyms.write_text("qwzx, care homes\n")
    assert search(service, "qwzx")["total"] > 0
    synonyms.write_text("qwzx care homes with no comma is not a group\n")  # a mistake
    assert search(service, "qwzx")["total"] > 0  # the last good version stays


def test_synonyms_stop_when_the_file_is_deleted_and_return_with_it(
    corpus_settings: IndexerSettings, corpus_build: BuildReport, tmp_path: Path
) -> None:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("qwzx, care homes\n")
    service = SearchService(corpus_settings.index_dir, synonyms_file=synonyms)
    assert search(service, "qwzx")["total"] > 0
    synonyms.unlink()
    assert search(service, "qwzx")["total"] == 0  # neither the old synonyms nor a cached answer
    synonyms.write_text("qwzx, care homes\n")
    assert search(service, "qwzx")["total"] > 0


def test_a_one_way_line_expands_only_from_its_left_side(
    corpus_settings: IndexerSettings, tmp_path: Path
) -> None:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("# none yet\n")
    service = SearchService(corpus_settings.index_dir, synonyms_file=synonyms)
    plain = ids(search(service, "measles", per_page=50))
    synonyms.write_text("qwzx => measles\n")
    assert ids(search(service, "qwzx", per_page=50)) == plain  # qwzx finds measles
    assert ids(search(service, "measles", per_page=50)) == plain  # and not the other way


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("kids =>", "entries on both sides"),
        ("=> children", "entries on both sides"),
        ("a => b => c", "one =>"),
        ("kids", "at least two entries"),
        ("kids => !!!", "has no words"),
    ],
)
def test_a_bad_synonym_line_says_what_is_wrong(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Thesaurus.parse(line)


def test_synonyms_and_corrections_count_less_than_what_was_typed(service: SearchService) -> None:
    """A page saying "jab" scores higher for "jab" than an equal page saying "vaccination"."""
    version = service.current()
    reader = QueryReader(version.vocabulary, service.synonyms.get(), version.count, service.ranking)
    (group,) = reader.read("jab").clauses
    typed, *alternatives = group.subqueries
    assert typed.boost == 1.0
    assert {q.boost for q in alternatives} == {service.ranking.synonym_weight} == {0.5}
    (corrections,) = reader.read("mentle").clauses
    boosts = [q.boost for q in corrections.subqueries]
    assert boosts[0] == 1.0 and boosts[1] == service.ranking.correction_weight
    assert all(b == service.ranking.correction_weight / 2 for b in boosts[2:])


def test_ranking_weights_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "BLMK_SYNONYM_WEIGHT": "0.25",
            "BLMK_CORRECTION_WEIGHT": "0",
            "BLMK_EXPANSION_WEIGHT": "0.75",
            "BLMK_PARTIAL_ENTRY_WEIGHT": "0.2",
            "BLMK_PROXIMITY_BOOST": "1",
            "BLMK_COVERAGE_EXPONENT": "-3",
        }
    )
    ranking = settings.ranking
    assert (ranking.synonym_weight, ranking.correction_weight) == (0.25, 0.0)
    assert (ranking.expansion_weight, ranking.proximity_boost) == (0.75, 1.0)
    assert ranking.partial_entry_weight == 0.2
    assert ranking.coverage_exponent == 0.0  # never negative
    assert Settings.from_env({}).ranking == RankingSettings()


def test_a_misspelt_word_still_finds_and_suggests_the_word_meant(
    service: SearchService,
) -> None:
    misspelt = search(service, "mentle health")
    assert misspelt["suggestion"] == "mental health"
    assert misspelt["total"] > 0
    assert all("ental" in hit["title"] + hit["snippet"] for hit in misspelt["results"][:3])
    assert search(service, "GP appointmnts")["suggestion"] == "GP appointments"
    assert search(service, "mental health")["suggestion"] is None
    assert search(service, "zqxv")["suggestion"] is None  # nothing near enough


def test_pages_matching_some_of_the_words_are_found_and_ranked_by_what_they_match(
    service: SearchService,
) -> None:
    # No page mentions both; neither word alone may make the query come back empty.
    inhalers_measles = search(service, "inhalers measles", per_page=50)
    assert inhalers_measles["total"] == len(
        set(ids(search(service, "inhalers", per_page=50)))
        | set(ids(search(service, "measles", per_page=50)))
    )
    # No tier: a page matching one word strongly can come before one matching both weakly,
    # but the best match of both words comes first.
    assert ids(search(service, "flu children"))[0] == (
        "news/2019-10-01-free-flu-vaccination-over-65s-pregnant-women-children.html"
    )


def test_a_page_holding_only_some_words_of_a_synonym_entry_is_found_after_one_holding_all(
    tmp_path: Path,
) -> None:
    """Typed words that make a multi-word entry are no tier: a page with only some of them
    still scores for those (at ``partial_entry_weight``), and a minor word finds nothing."""
    ordinary = "This page has some ordinary text about local health services in it. " * 4
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "both.html": html_page(
                "Waiting lists", f"<p>Our waiting lists are shorter. {ordinary}</p>"
            ),
            "one.html": html_page(
                "Hip operations", f"<p>The waits for hips are shorter. {ordinary}</p>"
            ),
            "minor.html": html_page("Fish and chips", f"<p>Salt and vinegar. {ordinary}</p>"),
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("waiting list, elective care\na and e, a&e\n")
    service = SearchService(settings.index_dir, synonyms_file=synonyms)
    assert ids(search(service, "waiting lists")) == ["both.html", "one.html"]
    assert ids(search(service, "a and e")) == []  # "and" alone is no match
    required = SearchService(
        settings.index_dir,
        synonyms_file=synonyms,
        ranking=RankingSettings(partial_entry_weight=0.0),
    )
    assert ids(search(required, "waiting lists")) == ["both.html"]


def test_a_word_most_pages_contain_adds_to_the_score_but_finds_nothing_alone(
    service: SearchService,
) -> None:
    with_the = search(service, "the waiting lists", per_page=50)
    without = search(service, "waiting lists", per_page=50)
    assert with_the["total"] == without["total"] > 0
    assert search(service, "the")["total"] > with_the["total"]  # alone, it does find


def _news(title: str, published: str, words: str) -> str:
    head = f'<meta property="article:published_time" content="{published}">'
    body = f"<p>{words} " + "This page has some ordinary text in it. " * 8 + "</p>"
    return html_page(title, body, head)


def test_recent_news_edges_ahead_but_other_types_do_not(tmp_path: Path) -> None:
    text = "Hospital parking charges change for visitors."
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "news/old.html": _news("Parking update", "2019-05-01", text),
            "news/new.html": _news("Parking update", "2026-05-01", text),
            "case-studies/old.html": _news("Parking update", "2019-05-01", text),
            "case-studies/new.html": _news("Parking update", "2026-05-01", text),
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    today = lambda: date(2026, 11, 23)  # noqa: E731
    service = SearchService(settings.index_dir, today=today)
    news = search(service, "parking", filters={"type": ("news",)})["results"]
    assert [hit["id"] for hit in news] == ["news/new.html", "news/old.html"]
    assert news[0]["score"] > news[1]["score"]
    studies = search(service, "parking", filters={"type": ("case-study",)})["results"]
    assert studies[0]["score"] == studies[1]["score"]
    off = SearchService(
        settings.index_dir,
        today=today,
        ranking=RankingSettings(recency=RecencySettings(weight=0)),
    )
    unboosted = search(off, "parking", filters={"type": ("news",)})["results"]
    assert unboosted[0]["score"] == unboosted[1]["score"]


def test_best_bets_pin_documents_while_active(
    corpus_settings: IndexerSettings, tmp_path: Path
) -> None:
    bets = tmp_path / "best-bets.toml"
    bets.write_text(
        '[[pin]]\nqueries = ["Winter jabs"]\n'
        'documents = ["pages/contact-us.html", "news/2023-09-14-autumn-flu-and-covid-19-'
        'vaccinations-begin.html"]\nfrom = 2026-10-01\nuntil = 2027-02-28\n'
    )

    def on(day: date) -> SearchService:
        return SearchService(corpus_settings.index_dir, best_bets_file=bets, today=lambda: day)

    during = search(on(date(2026, 11, 23)), "winter jabs!")["results"]
    assert [(h["id"], h["pinned"]) for h in during[:2]] == [
        ("pages/contact-us.html", True),
        ("news/2023-09-14-autumn-flu-and-covid-19-vaccinations-begin.html", True),
    ]
    assert not any(hit["pinned"] for hit in during[2:])
    assert ids(search(on(date(2026, 11, 23)), "winter jabs")).count("pages/contact-us.html") == 1
    after = search(on(date(2027, 3, 1)), "winter jabs")["results"]
    assert not any(hit["pinned"] for hit in after)
    filtered = search(on(date(2026, 11, 23)), "winter jabs", filters={"type": ("news",)})
    assert "pages/contact-us.html" not in ids(filtered)


def test_date_range_filters(service: SearchService) -> None:
    ranged = search(
        service, "", per_page=50, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31)
    )
    assert ranged["total"] > 0
    assert all(hit["date"] and hit["date"].startswith("2025") for hit in ranged["results"])
    assert {v["value"] for v in ranged["facets"]["year"]} == {"2025"}


def test_a_wildcard_needs_two_letters_before_it(service: SearchService) -> None:
    """``v*`` would expand to every term starting with v: it is read as the word "v"."""
    assert search(service, "v*")["total"] == search(service, "v")["total"]
    assert search(service, "va*")["total"] >= search(service, '"vaccination"')["total"] > 0


def test_only_the_first_wildcards_of_a_query_expand(service: SearchService) -> None:
    many = search(service, "vacc* gree* plan* care* nhs*")
    read_plainly = search(service, "vacc* gree* plan* care nhs")
    assert many["total"] == read_plainly["total"] > 0


def test_a_search_out_of_time_answers_the_matches_by_their_words_marked_partial(
    corpus_settings: IndexerSettings, corpus_build: BuildReport
) -> None:
    """With no time at all, the optional steps are left out (the proximity bonus, snippets in
    context, the spelling suggestion); the matches are still all returned, ranked by their
    words, and such an answer is never cached."""
    hurried = SearchService(corpus_settings.index_dir, budget_seconds=0.0)
    unhurried = SearchService(corpus_settings.index_dir, cache_responses=False)
    partial = search(hurried, "green plan", per_page=50)
    full = search(unhurried, "green plan", per_page=50)
    assert partial["partial"] is True and full["partial"] is False
    assert partial["total"] == full["total"] > 0
    assert {hit["id"] for hit in partial["results"]} == {hit["id"] for hit in full["results"]}
    assert any("<mark>" in hit["snippet"] for hit in full["results"])
    assert all("<mark>" not in hit["snippet"] for hit in partial["results"])
    assert search(hurried, "green plan", per_page=50)["partial"] is True  # not from a cache
