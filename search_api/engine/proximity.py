"""The bonus for the typed words found close together, worked out for a few documents.

Finding and scoring every match is ``postings.py``'s job; this module scores a query (in
practice the typed words as a sloppy phrase per field) for the documents that can still reach
the page shown. A phrase is checked on those documents' word positions alone, read through
the same term postings and caches; any other query goes through Whoosh's own matcher.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
from whoosh.query import Or, Phrase, Query

from search_api.engine.postings import PostingArrays, intersect, member, plain_or


def bonus(postings: PostingArrays, query: Query, docs: np.ndarray) -> np.ndarray:
    """``query``'s score for each of ``docs`` (ascending), 0 where it does not match:
    for scoring a few documents, not for finding them. Phrases (and ORs of them) are
    checked on those documents' positions alone; other queries go through Whoosh."""
    if isinstance(query, Or) and plain_or(query):
        total = sum((bonus(postings, q, docs) for q in query.subqueries), np.zeros(len(docs)))
        boosted: np.ndarray = total * query.boost
        return boosted
    if isinstance(query, Phrase) and query.fieldname in postings.lengths:
        return _phrase(postings, query, docs)
    return through_whoosh(postings, query, docs)


def _phrase(postings: PostingArrays, phrase: Phrase, docs: np.ndarray) -> np.ndarray:
    """The sum of the phrase's words' BM25F scores in its field, times its boost, where
    the words occur in order, each 1 to ``slop`` positions after the one before (the
    documents Whoosh's phrase matcher finds)."""
    scores = np.zeros(len(docs))
    words = [postings.term(phrase.fieldname, word) for word in phrase.words]
    if len(words) < 2 or not all(len(w) for w in words):
        return scores
    together = reduce(intersect, words)  # documents holding every word
    present = member(docs, together.docs)
    if not present.any():
        return scores
    candidates = docs[present]
    field = phrase.fieldname
    btexts = [postings.reader.schema[field].to_bytes(w) for w in phrase.words]
    positions = [postings.term_postings.positions(field, text, candidates) for text in btexts]
    near = np.array(
        [_in_order([p[i] for p in positions], phrase.slop) for i in range(len(candidates))],
        bool,
    )
    matched = candidates[near]
    at = np.searchsorted(together.docs, matched)
    scores[np.flatnonzero(present)[near]] = together.scores[at] * phrase.boost
    return scores


def through_whoosh(postings: PostingArrays, query: Query, docs: np.ndarray) -> np.ndarray:
    """``query``'s score for each of ``docs`` from Whoosh's own matcher, skipping to each."""
    scores = np.zeros(len(docs))
    matcher = query.matcher(postings.searcher, postings.searcher.context())
    for i, docnum in enumerate(docs.tolist()):
        if not matcher.is_active():
            break
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                break
        if matcher.id() == docnum:
            scores[i] = matcher.score()
    return scores


def _in_order(positions: list[list[int]], slop: int) -> bool:
    """Whether one position from each list follows the previous by 1 to ``slop``."""
    reached = set(positions[0])
    for following in positions[1:]:
        reached = {q for q in following if any(1 <= q - p <= slop for p in reached)}
        if not reached:
            return False
    return True
