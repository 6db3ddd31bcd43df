"""Editors' rules over a real index: best bets that answer every form of a search, documents
hidden from or demoted in searches, and a set of rules searched with before it is live."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from indexer.build import BuildReport, build_index
from indexer.config import IndexerSettings
from search_api.editorial.best_bets import BestBets, pin_key
from search_api.editorial.hidden import HiddenRules
from search_api.editorial.rules import RULE_FILES, EditorialRules, RuleProblem, RuleTexts
from search_api.editorial.stoplist import parse_stoplist
from search_api.engine.service import SearchRequest, SearchService
from tests.conftest import REPO, html_page, write_corpus

FLU_2019 = "news/2019-10-01-free-flu-vaccination-over-65s-pregnant-women-children.html"
AUTUMN_2023 = "news/2023-09-14-autumn-flu-and-covid-19-vaccinations-begin.html"
GREEN_PLAN = "pages/green-plan.html"
DRAFT_PLAN = "documents/draft-green-plan-2025.pdf"
CONTACT = "pages/contact-us.html"


def rules_service(
    index_dir: Path, folder: Path, *, best_bets: str = "", hidden: str = ""
) -> SearchService:
    """A service over ``index_dir`` with these best bets and hidden documents on disk (and a
    time budget no loaded machine runs out of, so that orders compare exactly)."""
    bets, hide = folder / "best-bets.toml", folder / "hidden.toml"
    bets.write_text(best_bets, encoding="utf-8")
    hide.write_text(hidden, encoding="utf-8")
    return SearchService(index_dir, best_bets_file=bets, hidden_file=hide, budget_seconds=60.0)


@pytest.fixture
def plain(corpus_settings: IndexerSettings, corpus_build: BuildReport) -> SearchService:
    """The sample corpus with no editorial rules at all."""
    return SearchService(corpus_settings.index_dir, budget_seconds=60.0)


@pytest.fixture
def index_dir(corpus_settings: IndexerSettings, corpus_build: BuildReport) -> Path:
    return corpus_settings.index_dir


def search(service: SearchService, q: str, **kwargs) -> dict:
    return service.search(SearchRequest(q=q, per_page=100, **kwargs))


def ids(result: dict) -> list[str]:
    return [hit["id"] for hit in result["results"]]


def counts(result: dict, facet: str) -> dict[str, int]:
    return {value["value"]: value["count"] for value in result["facets"][facet]}


def without_time(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key != "took_ms"}


# --- best bets on word variants ---------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["flu jabs", "flu jab", "Flu Jab!", "  FLU   JABS  ", "flu jab's"],
    ids=["as-written", "singular", "case-and-punctuation", "spacing", "possessive"],
)
def test_a_best_bet_answers_every_form_of_its_search(
    index_dir: Path, tmp_path: Path, typed: str
) -> None:
    service = rules_service(
        index_dir,
        tmp_path,
        best_bets=f'[[pin]]\nqueries = ["flu jabs"]\ndocuments = ["{CONTACT}"]\n',
    )
    first = search(service, typed)["results"][0]
    assert (first["id"], first["pinned"]) == (CONTACT, True)


def test_a_best_bet_keeps_every_word_of_its_search(index_dir: Path, tmp_path: Path) -> None:
    """Stop words count: "a and e" is three words, and "flu" alone is another search."""
    assert pin_key("A and E") == "a and e" != pin_key("a e")
    service = rules_service(
        index_dir,
        tmp_path,
        best_bets=f'[[pin]]\nqueries = ["flu jabs"]\ndocuments = ["{CONTACT}"]\n',
    )
    assert not any(hit["pinned"] for hit in search(service, "flu")["results"])
    assert not any(hit["pinned"] for hit in search(service, "flu jabs winter")["results"])


def test_a_search_list_written_as_one_string_is_a_mistake() -> None:
    """Read letter by letter it would pin the documents for "f", "l", "u"..."""
    with pytest.raises(ValueError, match="pin 1: 'queries' must be a list of strings"):
        BestBets.parse('[[pin]]\nqueries = "flu jab"\ndocuments = ["a.html"]\n')
    with pytest.raises(ValueError, match="'pin' must be a list of"):
        BestBets.parse('pin = "flu jab"\n')


# --- hidden and demoted documents -------------------------------------------------------------


def test_a_document_hidden_from_every_search_leaves_the_results_and_the_counts(
    plain: SearchService, index_dir: Path, tmp_path: Path
) -> None:
    service = rules_service(index_dir, tmp_path, hidden=f'[[hide]]\ndocuments = ["{FLU_2019}"]\n')
    for q in ("flu jab", "vaccination", ""):
        before, after = search(plain, q), search(service, q)
        assert FLU_2019 in ids(before) and FLU_2019 not in ids(after), q
        assert after["total"] == before["total"] - 1, q
        assert counts(after, "type")["news"] == counts(before, "type")["news"] - 1, q
        assert counts(after, "year").get("2019", 0) == counts(before, "year")["2019"] - 1, q
        assert ids(after) == [i for i in ids(before) if i != FLU_2019], q
    filtered = search(service, "flu", filters={"year": ("2019",)})
    assert FLU_2019 not in ids(filtered)
    # Hidden from searches, not deleted: the document itself is still there.
    assert service.document(FLU_2019) is not None


def test_a_document_hidden_from_listed_searches_only(
    plain: SearchService, index_dir: Path, tmp_path: Path
) -> None:
    service = rules_service(
        index_dir,
        tmp_path,
        hidden=f'[[hide]]\ndocuments = ["{FLU_2019}"]\nqueries = ["flu jabs"]\n',
    )
    hidden = search(service, "Flu jab")  # a form of the listed search
    assert FLU_2019 not in ids(hidden)
    assert hidden["total"] == search(plain, "Flu jab")["total"] - 1
    assert without_time(search(service, "vaccination")) == without_time(
        search(plain, "vaccination")
    )


def test_demoted_documents_come_after_all_the_others_in_their_own_order(
    plain: SearchService, index_dir: Path, tmp_path: Path
) -> None:
    service = rules_service(
        index_dir,
        tmp_path,
        hidden=(
            f'[[hide]]\ndocuments = ["{DRAFT_PLAN}", "{GREEN_PLAN}"]\n'
            'queries = ["green plan"]\ndemote = true\n'
        ),
    )
    before, after = search(plain, "green plan"), search(service, "green plan")
    assert ids(before).index(GREEN_PLAN) < ids(before).index(DRAFT_PLAN) < 5
    demoted = [GREEN_PLAN, DRAFT_PLAN]  # as they ranked: not as the rule lists them
    assert ids(after) == [i for i in ids(before) if i not in demoted] + demoted
    assert after["total"] == before["total"] and after["facets"] == before["facets"]
    # Paging goes on in the same order.
    last_page = service.search(SearchRequest(q="green plan", per_page=10, page=5))
    assert ids(last_page) == ids(after)[40:50]


def test_a_demoted_document_lists_last_unless_a_date_order_is_asked_for(
    plain: SearchService, index_dir: Path, tmp_path: Path
) -> None:
    service = rules_service(
        index_dir, tmp_path, hidden=f'[[hide]]\ndocuments = ["{AUTUMN_2023}"]\ndemote = true\n'
    )
    listed = ids(search(service, ""))
    assert listed[-1] == AUTUMN_2023
    assert listed[:-1] == [i for i in ids(search(plain, "")) if i != AUTUMN_2023]
    for sort in ("newest", "oldest"):
        assert ids(search(service, "", sort=sort)) == ids(search(plain, "", sort=sort)), sort
    assert ids(search(service, "flu jab"))[-1] == AUTUMN_2023


def test_a_best_bet_wins_over_hiding_and_demoting(
    plain: SearchService, index_dir: Path, tmp_path: Path
) -> None:
    service = rules_service(
        index_dir,
        tmp_path,
        best_bets=(
            f'[[pin]]\nqueries = ["flu jab"]\ndocuments = ["{FLU_2019}", "{AUTUMN_2023}"]\n'
        ),
        hidden=(
            f'[[hide]]\ndocuments = ["{FLU_2019}"]\n'
            f'[[hide]]\ndocuments = ["{AUTUMN_2023}"]\ndemote = true\n'
        ),
    )
    pinned = search(service, "flu jabs")
    assert [(h["id"], h["pinned"]) for h in pinned["results"][:2]] == [
        (FLU_2019, True),
        (AUTUMN_2023, True),
    ]
    assert pinned["total"] == search(plain, "flu jabs")["total"]
    assert FLU_2019 not in ids(search(service, "vaccination"))  # not pinned there


def test_an_edited_hidden_file_applies_to_the_next_search(
    index_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = rules_service(index_dir, tmp_path, hidden="# nothing hidden yet\n")
    hidden_file = tmp_path / "hidden.toml"
    assert FLU_2019 in ids(search(service, "flu jab"))
    hidden_file.write_text(f'[[hide]]\ndocuments = ["{FLU_2019}"]\n', encoding="utf-8")
    assert FLU_2019 not in ids(search(service, "flu jab"))  # not the answer cached before
    hidden_file.write_text('[[hide]]\ndocuments = "not a list"\n', encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="search_api.editorial.watched"):
        assert FLU_2019 not in ids(search(service, "flu jab"))  # the last good reading
    assert "hide 1: 'documents' must be a list of strings" in caplog.text
    hidden_file.unlink()
    assert FLU_2019 in ids(search(service, "flu jab"))


def test_the_shipped_file_hides_nothing_and_its_example_works(service: SearchService) -> None:
    shipped = (REPO / "config" / "hidden.toml").read_text(encoding="utf-8")
    assert HiddenRules.parse(shipped) == HiddenRules()
    _, start, rest = shipped.partition("# [[hide]]")
    example = "\n".join(line.removeprefix("# ") for line in (start + rest).splitlines())
    rules = HiddenRules.parse(example)
    assert [rule.demote for rule in rules.rules] == [True]
    assert all(service.has_document(d) for rule in rules.rules for d in rule.documents)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[hide]]\nqueries = ['flu']\n", "hide 1: 'documents' must be a list of strings"),
        ("[[hide]]\ndocuments = []\n", "hide 1: 'documents' must be a list of strings"),
        (
            "[[hide]]\ndocuments = ['a']\n[[hide]]\ndocuments = ['b']\nqueries = 'flu jab'\n",
            "hide 2: 'queries' must be a list of strings",
        ),
        ("[[hide]]\ndocuments = ['a']\nqueries = ['?!']\n", "hide 1: the query '?!' has no words"),
        ("[[hide]]\ndocuments = ['a']\ndemote = 'yes'\n", "hide 1: 'demote' must be true or false"),
        ("[[hide]]\ndocuments = ['a']\ndemot = true\n", "hide 1: unknown key 'demot'"),
        ("hide = ['a']\n", "'hide' must be a list of [[hide]] tables"),
        ("[[hide]\n", "at line 1"),
    ],
    ids=[
        "no-documents",
        "empty-documents",
        "one-string",
        "wordless-query",
        "demote-not-boolean",
        "misspelt-key",
        "not-tables",
        "not-toml",
    ],
)
def test_mistakes_in_hidden_rules_name_the_rule(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("?", r"\?")):
        HiddenRules.parse(text)


def test_a_document_both_hidden_and_demoted_is_hidden() -> None:
    rules = HiddenRules.parse(
        "[[hide]]\ndocuments = ['a', 'b']\ndemote = true\n"
        "[[hide]]\ndocuments = ['a']\nqueries = ['flu jab']\n"
    )
    assert rules.applying("Flu jabs") == (frozenset({"a"}), frozenset({"b"}))
    assert rules.applying("parking") == (frozenset(), frozenset({"a", "b"}))
    assert HiddenRules().applying("anything") == (frozenset(), frozenset())


# --- a set of rules, for previews ---------------------------------------------------------------


def test_a_preview_answers_with_its_own_rules_and_leaves_the_cache_alone(
    plain: SearchService,
) -> None:
    request = SearchRequest(q="flu jab", per_page=100)
    live = plain.search(request)
    cache = plain.current().responses
    cached = cache.currsize
    rules = EditorialRules.parse(
        RuleTexts(
            synonyms="qwzx, green plan\n",
            best_bets=f'[[pin]]\nqueries = ["flu jabs"]\ndocuments = ["{CONTACT}"]\n',
            hidden=f'[[hide]]\ndocuments = ["{FLU_2019}"]\n',
        )
    )
    preview = plain.search(request, rules=rules)  # not the live answer cached just before
    assert (preview["results"][0]["id"], preview["results"][0]["pinned"]) == (CONTACT, True)
    assert FLU_2019 in ids(live) and FLU_2019 not in ids(preview)
    assert plain.search(SearchRequest(q="qwzx"), rules=rules)["total"] > 0
    assert cache.currsize == cached  # nothing put in the cache
    assert without_time(plain.search(request)) == without_time(live)
    assert plain.search(SearchRequest(q="qwzx"))["total"] == 0


def test_the_live_rules_are_the_files_on_disk(index_dir: Path, tmp_path: Path) -> None:
    hidden = f'[[hide]]\ndocuments = ["{FLU_2019}"]\n'
    stoplist = tmp_path / "stoplist.txt"
    stoplist.write_text("Rude Word\n", encoding="utf-8")
    service = SearchService(
        index_dir, hidden_file=tmp_path / "hidden.toml", suggest_stoplist_file=stoplist
    )
    (tmp_path / "hidden.toml").write_text(hidden, encoding="utf-8")
    assert service.rule_files == {
        "synonyms": None,
        "best_bets": None,
        "hidden": tmp_path / "hidden.toml",
        "stoplist": stoplist,
        "checks": None,
    }
    assert list(service.rule_files) == list(RULE_FILES)
    live = service.live_rules()
    assert live.hidden == HiddenRules.parse(hidden)
    assert live.stoplist == parse_stoplist("rude word") == frozenset({"rude word"})
    assert live.best_bets.pins == {} and live.thesaurus.alternatives == {}


@pytest.mark.parametrize(
    ("texts", "file", "message"),
    [
        (RuleTexts(synonyms="# groups\nkids\n"), "synonyms", "line 2: a group needs at least two"),
        (
            RuleTexts(
                best_bets='[[pin]]\nqueries = ["a"]\ndocuments = ["x"]\n'
                '[[pin]]\nqueries = ["b"]\ndocuments = ["y"]\nuntil = "soon"\n'
            ),
            "best_bets",
            "pin 2: 'until' must be a date such as 2025-09-01",
        ),
        (RuleTexts(best_bets="[[pin]\n"), "best_bets", "at line 1"),
        (
            RuleTexts(synonyms="kids, children\n", hidden="[[hide]]\ndemote = true\n"),
            "hidden",
            "hide 1: 'documents' must be a list of strings",
        ),
        (RuleTexts(checks='[[check]]\nquery = "x"\n'), "checks", "check 1: 'document'"),
    ],
    ids=["synonyms", "best-bets-date", "best-bets-not-toml", "hidden", "checks"],
)
def test_a_rule_file_that_cannot_be_read_is_named(
    texts: RuleTexts, file: str, message: str
) -> None:
    with pytest.raises(RuleProblem) as raised:
        EditorialRules.parse(texts)
    problem = raised.value
    assert isinstance(problem, ValueError)
    assert problem.file == file and message in problem.message
    assert str(problem) == f"{file}: {problem.message}"


def test_rule_texts_by_file_name() -> None:
    texts = RuleTexts.from_dict({"hidden": "# none\n", "synonyms": "kids, children\n"})
    assert texts == RuleTexts(synonyms="kids, children\n", hidden="# none\n")
    assert texts.as_dict() == {
        "synonyms": "kids, children\n",
        "best_bets": "",
        "hidden": "# none\n",
        "stoplist": "",
        "checks": "",
    }
    assert RuleTexts.from_dict(texts.as_dict()) == texts
    with pytest.raises(ValueError, match="unknown rule file 'best-bets'"):
        RuleTexts.from_dict({"best-bets": "[[pin]]\n"})
    with pytest.raises(ValueError, match="'stoplist' must be a string"):
        RuleTexts.from_dict({"stoplist": None})  # type: ignore[dict-item]
    parsed = EditorialRules.parse(RuleTexts())
    assert parsed.stoplist == frozenset() and parsed.hidden == HiddenRules()
    assert parsed.checks == ()


# --- what validating rules asks of the index ---------------------------------------------------


def page(title: str, text: str) -> str:
    return html_page(title, f"<p>{text} " + "More words for a body of some length. " * 5 + "</p>")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SearchService:
    root = tmp_path_factory.mktemp("editorial")
    corpus = write_corpus(
        root / "corpus",
        {
            "pages/jabs.html": page("Flu jabs", "Flu jabs for children this winter."),
            "pages/clinic.html": page("Clinic", "A flu clinic in Bedford."),
            "pages/parking.html": page("Parking", "Parking at the hospital."),
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=root / "index")
    build_index(settings)
    return SearchService(settings.index_dir)


def test_which_documents_are_in_the_index(small: SearchService) -> None:
    assert small.has_document("pages/jabs.html")
    assert not small.has_document("pages/jabs")
    assert not small.has_document("news/2019-old-page.html")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flu", 2),
        ("Flu jab", 1),  # every word, as searches read them: "jab" is "jabs"
        ("jabs", 1),
        ("clinics", 1),
        ("at the", 1),  # stop words are words
        ("flu parking", 0),
        ("-parking", 1),  # no syntax: a minus does not leave a word out
        ("", 0),
        ("?!", 0),
    ],
    ids=[
        "one-word",
        "two-words",
        "plural",
        "stemmed",
        "stop-word",
        "never-together",
        "no-syntax",
        "empty",
        "no-words",
    ],
)
def test_how_many_documents_hold_every_word(small: SearchService, text: str, expected: int) -> None:
    assert small.document_frequency(text) == expected


def test_a_best_bet_says_whether_it_is_scheduled_active_ending_soon_or_expired() -> None:
    from datetime import date

    from search_api.editorial.best_bets import BestBets

    bets = BestBets.parse(
        '[[pin]]\nqueries = ["flu jab"]\ndocuments = ["a.html"]\n'
        "from = 2026-01-01\nuntil = 2026-03-31\n"
        '[[pin]]\nqueries = ["green plan", "net zero"]\ndocuments = ["b.html"]\n'
    )
    dated, standing = bets.every_pin()
    assert [dated.status(date(2025, 12, 31)), standing.status(date(2025, 12, 31))] == [
        "scheduled",
        "active",
    ]
    assert dated.status(date(2026, 3, 16)) == "active"
    assert dated.status(date(2026, 3, 17)) == "ending soon"  # 14 days left
    assert dated.status(date(2026, 3, 31)) == "ending soon"
    assert dated.status(date(2026, 4, 1)) == "expired"
    assert standing.to_json(date(2026, 1, 1)) == {
        "queries": ["green plan", "net zero"],
        "documents": ["b.html"],
        "from": None,
        "until": None,
        "status": "active",
    }
