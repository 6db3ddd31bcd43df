"""Text analysis: what documents and queries are both turned into."""

from __future__ import annotations

import pytest
from whoosh.analysis.analyzers import CompositeAnalyzer

from indexer.analysis import canonical_spelling, folded_words, spelling_analyzer, text_analyzer
from tests.conftest import CORPUS

ANALYZER = text_analyzer()
# Real pages, markup and all: many words, codes, stop words and odd characters.
HTML_SAMPLES = sorted(CORPUS.rglob("*.html"))[:12]


def terms(text: str, mode: str = "index") -> list[str]:
    return [token.text for token in ANALYZER(text, mode=mode)]


@pytest.mark.parametrize(
    ("text", "index_terms", "query_terms"),
    [
        ("A&E", ["a&e"], ["a&e"]),
        ("COVID-19", ["covid-19", "covid", "19"], ["covid-19"]),
        ("2025/26", ["2025/26", "2025", "26"], ["2025/26"]),
        ("3.5 miles", ["3.5", "mile"], ["3.5", "mile"]),
    ],
    ids=["a-and-e", "covid-19", "financial-year", "decimal"],
)
def test_codes_are_kept_whole_and_indexed_by_their_parts_too(
    text: str, index_terms: list[str], query_terms: list[str]
) -> None:
    assert terms(text) == index_terms
    assert terms(text, mode="query") == query_terms


def test_a_codes_parts_share_its_position_so_phrases_still_match() -> None:
    positions = [(t.text, t.pos) for t in ANALYZER("new COVID-19 jabs", positions=True)]
    assert positions == [("new", 0), ("covid-19", 1), ("covid", 1), ("19", 1), ("jab", 2)]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("organisation", "organization"),
        ("paediatric", "pediatric"),
        ("anaemia", "anemia"),
        ("colour", "color"),
        ("centre", "center"),
        ("programme", "program"),
        ("analysed", "analyzed"),
        ("GP's", "gp"),
        ("children's", "children"),
        ("Café", "cafe"),
        ("vaccinations", "vaccination"),
    ],
)
def test_spellings_forms_and_accents_meet(first: str, second: str) -> None:
    assert terms(first) == terms(second)


@pytest.mark.parametrize("word", ["size", "prize", "four", "hour", "seize", "practice"])
def test_spelling_rules_leave_other_words_alone(word: str) -> None:
    assert canonical_spelling(word) == word


def test_stop_words_stay_and_the_spelling_vocabulary_keeps_words_as_written() -> None:
    """Every word is indexed: "have your say" is a page's whole title, and idf, not a list,
    says how little "the" counts."""
    assert terms("the waiting lists for the hospital") == [
        "the",
        "wait",
        "list",
        "for",
        "the",
        "hospit",
    ]
    vocabulary = [t.text for t in spelling_analyzer()("The waiting lists, COVID-19")]
    assert vocabulary == ["the", "waiting", "lists", "covid-19", "covid", "19"]


def test_folded_words_keep_everything_for_phrase_matching() -> None:
    assert folded_words("A and E, GP's Café") == ["a", "and", "e", "gp", "cafe"]


INDEXING_SAMPLES = [
    "The new COVID-19 jabs: the GP's café at A&E, 2025/26 and 3.5 miles away.",
    "a an the of I O'Brien's paediatric organisations' behaviour — ’s 's x-y-z a&e&f",
    "Stop words first: the and of to a in is it that. Then words: vaccinations, centres.",
    "Ünïcödé naïve résumé façade Straße ﬁnance 1st 2nd 10/11/2025 e-mail co-operate",
    "",
    "   \n\f  ",
]


@pytest.mark.parametrize("make", [text_analyzer, spelling_analyzer], ids=["text", "spelling"])
@pytest.mark.parametrize("positions", [True, False], ids=["positions", "no-positions"])
def test_indexing_shortcut_gives_the_chains_own_tokens(make, positions: bool) -> None:
    """Indexing takes a cached shortcut; it must give exactly what the filters give."""
    analyzer = make()
    chain = CompositeAnalyzer(*analyzer.items)
    texts = [
        *INDEXING_SAMPLES,
        *(path.read_bytes().decode("utf-8", "replace") for path in HTML_SAMPLES),
    ]
    for text in texts:
        options = {"positions": positions, "boosts": True, "mode": "index"}
        fast = [(t.text, t.pos if positions else None, t.boost) for t in analyzer(text, **options)]
        slow = [(t.text, t.pos if positions else None, t.boost) for t in chain(text, **options)]
        assert fast == slow
