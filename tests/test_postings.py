"""Matching and scoring with posting arrays: the same documents as Whoosh's own matchers, and
the scores ``search_api.engine.ranking`` defines, checked against a plain reading of the formulas
through Whoosh's public reader API."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from whoosh.collectors import TopCollector
from whoosh.query import DisjunctionMax, Or, Query, Term

from search_api.engine.proximity import bonus, through_whoosh
from search_api.engine.query import QueryReader
from search_api.engine.ranking import RankingSettings
from search_api.engine.service import SearchService

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


def whoosh_docs(service: SearchService, query: Query) -> set[int]:
    """Every document Whoosh's matchers find for ``query`` (no top-N shortcuts)."""
    searcher = service.current().searcher
    collector = TopCollector(limit=100_000, usequality=False, replace=0)
    searcher.search_with_collector(query, collector)
    results = collector.results()
    return {results.docnum(i) for i in range(results.scored_length())}


def reader_for(service: SearchService) -> QueryReader:
    version = service.current()
    return QueryReader(version.vocabulary, service.synonyms.get(), version.count, service.ranking)


def _walk(query: Query):
    yield query
    if not query.is_leaf():
        for child in query.children():
            yield from _walk(child)


@pytest.mark.parametrize("typed", TYPED)
def test_arrays_match_what_whoosh_matches(service: SearchService, typed: str) -> None:
    user_query = reader_for(service).read(typed)
    postings = service.current().postings
    for query in [user_query.strict, *user_query.clauses]:
        if query is None:
            continue
        assert set(postings.matches(query).docs.tolist()) == whoosh_docs(service, query)


def plain_bm25f(service: SearchService, word: str) -> dict[int, float]:
    """BM25F for one analysed word over the text fields, read document by document."""
    ranking = service.ranking
    searcher = service.current().searcher
    reader = searcher.reader()
    combined: dict[int, float] = {}
    for field in ("title", "summary", "body"):
        if (field, word) not in reader:
            continue
        boost = reader.schema[field].format.field_boost
        average = searcher.avg_field_length(field)
        b, weight = ranking.field_b[field], ranking.field_weights[field]
        matcher = reader.postings(field, word)
        while matcher.is_active():
            doc = matcher.id()
            tf = matcher.weight() / boost
            length = reader.doc_field_length(doc, field, 0)
            combined[doc] = combined.get(doc, 0.0) + weight * tf / ((1 - b) + b * length / average)
            matcher.next()
    n, documents = len(combined), reader.doc_count()
    idf = math.log(1 + (documents - n + 0.5) / (n + 0.5))
    k1 = ranking.k1
    return {doc: idf * tf * (k1 + 1) / (tf + k1) for doc, tf in combined.items()}


@pytest.mark.parametrize("word", ["green", "plan", "pharmaci", "vaccin", "the"])
def test_a_word_in_several_fields_is_one_bm25f_score(service: SearchService, word: str) -> None:
    query = Or([Term(field, word) for field in ("title", "summary", "body")])
    found = service.current().postings.matches(query)
    expected = plain_bm25f(service, word)
    assert expected, "the word is in the sample corpus: the check can fail"
    assert found.docs.tolist() == sorted(expected)
    assert found.scores == pytest.approx([expected[d] for d in found.docs.tolist()])


def test_an_alternative_scores_at_its_weight_and_a_group_as_its_best(
    service: SearchService,
) -> None:
    query = reader_for(service).read("kids jabs").strict
    dismax = next(q for q in _walk(query) if isinstance(q, DisjunctionMax))
    postings = service.current().postings
    found = postings.matches(dismax)
    typed, *alternatives = dismax.subqueries
    assert typed.boost == 1.0
    assert {a.boost for a in alternatives} == {service.ranking.synonym_weight}
    per_alternative = [postings.matches(q) for q in dismax.subqueries]
    for docnum, score in zip(found.docs.tolist(), found.scores.tolist(), strict=True):
        best = max(
            float(part.scores[part.docs.tolist().index(docnum)])
            for part in per_alternative
            if docnum in part.docs.tolist()
        )
        assert score == pytest.approx(best)


def test_matching_more_of_the_query_adds_to_the_score(service: SearchService) -> None:
    """No tier: a document matching one clause can be listed; one matching both adds both
    clauses' scores (and, with a coverage exponent, is multiplied by its coverage)."""
    user_query = reader_for(service).read("green roof")
    postings = service.current().postings
    found = postings.covering(user_query.clauses, [])
    parts = [postings.matches(clause) for clause in user_query.clauses]
    both = np.intersect1d(parts[0].docs, parts[1].docs)
    only_one = np.setxor1d(parts[0].docs, parts[1].docs)
    assert len(both) and len(only_one)
    assert set(found.docs.tolist()) == set(parts[0].docs.tolist()) | set(parts[1].docs.tolist())
    doc = int(both[0])
    expected = sum(float(p.scores[np.searchsorted(p.docs, doc)]) for p in parts)
    assert float(found.scores[np.searchsorted(found.docs, doc)]) == pytest.approx(expected)


def test_the_coverage_exponent_scales_partial_matches_by_their_share_of_idf(
    service: SearchService,
) -> None:
    ranked = SearchService(
        service.store.root, ranking=RankingSettings(coverage_exponent=2.0), cache_responses=False
    )
    version = ranked.current()
    user_query = reader_for(ranked).read("green roof")
    postings = version.postings
    found = postings.covering(user_query.clauses, [])
    parts = [postings.matches(clause) for clause in user_query.clauses]
    n = postings.live_count
    information = [math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for p in parts]
    doc = int(np.setdiff1d(parts[0].docs, parts[1].docs)[0])
    plain = float(parts[0].scores[np.searchsorted(parts[0].docs, doc)])
    share = information[0] / sum(information)
    score = float(found.scores[np.searchsorted(found.docs, doc)])
    assert score == pytest.approx(plain * share**2)


@pytest.mark.parametrize(
    "typed", ["mental health", "green plan", "waiting lists", "spring covid-19 vaccinations"]
)
def test_the_phrase_bonus_goes_where_whoosh_finds_the_phrase(
    service: SearchService, typed: str
) -> None:
    proximity = reader_for(
        SearchService(
            service.store.root,
            ranking=RankingSettings(proximity_boost=2.0),
            cache_responses=False,
        )
    ).read(typed)
    assert proximity.proximity is not None
    postings = service.current().postings
    docs = postings.covering(proximity.clauses, []).docs
    ours = bonus(postings, proximity.proximity, docs)
    whoosh = through_whoosh(postings, proximity.proximity, docs)
    assert (ours > 0).tolist() == (whoosh > 0).tolist()
    assert np.count_nonzero(ours) > 0  # the phrase occurs somewhere: the check can fail
