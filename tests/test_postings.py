"""Matching and scoring with posting arrays gives what Whoosh's own matchers give: the same
documents, the same scores (where Whoosh's score is right), the same phrase bonuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from whoosh.collectors import TopCollector
from whoosh.query import DisjunctionMax, MultiTerm, Query

from search_api.query import QueryReader
from search_api.search import SearchService

QUERIES = json.loads((Path(__file__).parent / "relevance" / "queries.json").read_text())
SYNTAX = [
    '"green plan"',
    "pharm*",
    "nurse -bedford",
    "title:plan",
    "flu OR measles",
    "(mental health) AND -covid",
    "covid-19 vaccine",
    "a&e",
    "kids jabs",
    "mentle helth",
]
TYPED = [q["query"] for q in QUERIES] + SYNTAX


def whoosh_scores(service: SearchService, query: Query) -> dict[int, float]:
    """Every match and its score, by Whoosh's matchers (no top-N shortcuts)."""
    searcher = service.current().searcher
    collector = TopCollector(limit=100_000, usequality=False, replace=0)
    searcher.search_with_collector(query, collector)
    results = collector.results()
    return {results.docnum(i): results.score(i) for i in range(results.scored_length())}


def reader_for(service: SearchService) -> QueryReader:
    version = service.current()
    return QueryReader(version.vocabulary, service.synonyms.get(), version.count)


def _walk(query: Query):
    yield query
    if not query.is_leaf():
        for child in query.children():
            yield from _walk(child)


@pytest.mark.parametrize("typed", TYPED)
def test_arrays_match_and_score_as_whoosh_does(service: SearchService, typed: str) -> None:
    user_query = reader_for(service).read(typed)
    for query in (user_query.strict, user_query.relaxed):
        if query is None:
            continue
        found = service.current().postings.matches(query)
        expected = whoosh_scores(service, query)
        assert found.docs.tolist() == sorted(expected)
        # Whoosh's disjunction-max and prefix/wildcard scores are inconsistent (below).
        if not any(isinstance(q, (DisjunctionMax, MultiTerm)) for q in _walk(query)):
            assert found.scores == pytest.approx([expected[d] for d in found.docs.tolist()])


def test_a_disjunction_scores_its_best_alternative(service: SearchService) -> None:
    """Whoosh's own disjunction-max matcher can take a score from another document (it does
    not check that both sides sit on the same one); the arrays take each document's best."""
    query = reader_for(service).read("kids jabs").strict
    dismax = next(q for q in _walk(query) if isinstance(q, DisjunctionMax))
    found = service.current().postings.matches(dismax)
    per_alternative = [whoosh_scores(service, q) for q in dismax.subqueries]
    for docnum, score in zip(found.docs.tolist(), found.scores.tolist(), strict=True):
        assert score == pytest.approx(max(s.get(docnum, 0.0) for s in per_alternative))


@pytest.mark.parametrize(
    "typed", ["mental health", "green plan", "waiting lists", "spring covid-19 vaccinations"]
)
def test_the_phrase_bonus_is_whooshs_phrase_score(service: SearchService, typed: str) -> None:
    user_query = reader_for(service).read(typed)
    postings = service.current().postings
    docs = postings.matches(user_query.relaxed or user_query.strict).docs
    ours = postings.bonus(user_query.proximity, docs)
    whoosh = postings._bonus_through_whoosh(user_query.proximity, docs)
    assert ours == pytest.approx(whoosh)
    assert np.count_nonzero(ours) > 0  # the phrase occurs somewhere: the check can fail
