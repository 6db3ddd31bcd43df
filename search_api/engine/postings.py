"""Matching and scoring over whole posting lists at once, with numpy.

Whoosh's matchers walk postings one document at a time in Python, a few microseconds a step;
a common word on a site of 10,000 pages has thousands of postings, and a search needs every
match (for the total and the facet counts), not only the first ten. Here a term's postings are
read into arrays once per index version (and kept in a bounded cache), and the query tree
becomes set operations and vectorised BM25F on those arrays.

``codec.py`` reads the postings: a block at a time from Whoosh's storage format when the
installed Whoosh is the release it knows, else a posting at a time through Whoosh's public API
(the same arrays, read more slowly). This module itself uses Whoosh's public API only.

Scores are BM25F as ``ranking.py`` defines it, over Whoosh's quantised document lengths: a
word searched in several fields (the parser's OR of the same term per field) is one BM25F
score, its fields' frequencies combined before saturation; sums for AND/OR and the best
(weighted) alternative for a disjunction-max. Phrases are matched by Whoosh's own matcher and
scored as the BM25F of their words; prefixes and wildcards as their best expansion. Query kinds
without an array form (ranges, and anything else) are read through Whoosh's matcher, scores
included, and cached the same way, so any query the parser builds can be evaluated. The
proximity bonus, scored for a few documents already found, is ``proximity.py``'s.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass
from functools import reduce

import numpy as np
from cachetools import LRUCache
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    DisjunctionMax,
    Every,
    MultiTerm,
    Not,
    NullQuery,
    Or,
    Phrase,
    Query,
    Require,
    Term,
)
from whoosh.searching import Searcher

from indexer import TEXT_FIELDS
from search_api.engine.codec import DOC, TermPostings, open_term_postings
from search_api.engine.ranking import RankingSettings, bm25f, coverage_factor, idf, normalised_tf

# Postings (over all cached entries) kept between searches: about 12 bytes each, so at most
# about 100 MB. A site of 10,000 pages holds fewer; at 100,000, 500 unseen queries after the
# popular mix filled 6.2 million, and 4 million re-read 7% more terms.
CACHE_POSTINGS = 8_000_000
# Index terms a prefix, wildcard or fuzzy word may stand for (the commonest are kept). Three
# two-letter prefixes such as "st* th* re*" took 366 ms with 500 each on 1,000 pages, 167 ms
# with 100; a site search's prefixes rarely mean more than a hundred words.
MAX_EXPANSION = 100


@dataclass(frozen=True, slots=True)
class Matches:
    """Documents in ascending order, each with its score for the query that found them."""

    docs: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.docs)

    def scaled(self, boost: float) -> Matches:
        return self if boost == 1.0 else Matches(self.docs, self.scores * boost)


EMPTY = Matches(np.empty(0, DOC), np.empty(0, np.float64))


class PostingArrays:
    """One index version's postings as arrays; ``matches(query)`` for any parsed query.

    Not thread-safe: callers hold the version's lock, as for its searcher. (The caches take a
    lock of their own as well, so that a caller that forgets cannot corrupt them.)

    ``term_postings`` reads the raw postings; by default the one ``codec.open_term_postings``
    chooses for the installed Whoosh and the index (``reader_name`` says which).
    """

    def __init__(
        self,
        searcher: Searcher,
        ranking: RankingSettings | None = None,
        cache_postings: int = CACHE_POSTINGS,
        term_postings: TermPostings | None = None,
    ) -> None:
        self.searcher = searcher
        self.ranking = ranking or RankingSettings()
        reader = searcher.reader()
        self.reader = reader
        self.term_postings = term_postings or open_term_postings(reader)
        self.doc_count = reader.doc_count_all()
        live = np.zeros(self.doc_count, bool)
        live[np.fromiter(reader.all_doc_ids(), DOC)] = True
        self.live = live
        self.all_docs = np.flatnonzero(live).astype(DOC)
        self.live_count = len(self.all_docs)
        self.lengths = {
            name: np.fromiter(
                (reader.doc_field_length(d, name, 0) for d in range(self.doc_count)),
                np.float64,
                self.doc_count,
            )
            for name in TEXT_FIELDS
            if name in reader.schema
        }
        self.average_lengths = {
            name: searcher.avg_field_length(name) or 1.0 for name in self.lengths
        }
        # Posting weights hold the schema's field boost; BM25F applies its own field weights.
        self.field_boosts = {
            name: getattr(reader.schema[name].format, "field_boost", 1.0) or 1.0
            for name in self.lengths
        }
        # Leaf results, least recently used dropped first once the postings held exceed
        # the limit (an entry costs one per posting, and one for itself).
        self._cache: LRUCache[Query | tuple, Matches] = LRUCache(
            cache_postings, getsizeof=lambda found: len(found) + 1
        )
        self._cache_lock = threading.Lock()
        self._expansions: LRUCache[Query, list[bytes | str]] = LRUCache(1024)

    # --- public ---------------------------------------------------------------------------

    @property
    def reader_name(self) -> str:
        """Which reader reads the postings: ``codec.CODEC_READER`` or ``PUBLIC_READER``."""
        return self.term_postings.name

    def clear(self) -> None:
        """Drops what has been read and decoded (call with the version's lock held)."""
        with self._cache_lock:
            self._cache.clear()
        self._expansions.clear()
        self.term_postings.clear()

    def matches(self, query: Query | None) -> Matches:
        """Every live document ``query`` matches, with Whoosh's score for it."""
        if query is None or query is NullQuery:
            return EMPTY
        if isinstance(query, Every):
            return Matches(self.all_docs, np.ones(len(self.all_docs)))
        if (unit := _field_unit(query, self.lengths)) is not None:
            return self._cached(query, lambda: self._unit(unit).scaled(query.boost))
        if isinstance(query, (DisjunctionMax, Or)) and plain_or(query):
            parts = [self.matches(q) for q in query.subqueries]
            combined = _union(parts, best=isinstance(query, DisjunctionMax))
            return combined.scaled(query.boost)
        if isinstance(query, And):
            return self._and(query)
        if isinstance(query, AndMaybe):
            # The optional part never decides a match; its score is added only for the few
            # documents that can be shown (``bonus``).
            return self.matches(query.a)
        if isinstance(query, Require):
            return restrict(self.matches(query.a), self.matches(query.b).docs)
        if isinstance(query, AndNot):
            return exclude(self.matches(query.a), self.matches(query.b).docs)
        if isinstance(query, Not):
            everything = Matches(self.all_docs, np.ones(len(self.all_docs)))
            return exclude(everything, self.matches(query.query).docs)
        return self._leaf(query)

    def count(self, query: Query | None) -> int:
        return len(self.matches(query))

    def covering(
        self, clauses: list[Query], excluded: list[Query], minor: list[bool] | None = None
    ) -> Matches:
        """Documents matching any clause and none of ``excluded``, each scored as its clauses'
        scores added up, times its coverage of the query (``ranking.coverage_factor``): the
        share of the clauses' information (idf) it matches.

        A ``minor`` clause ("the", "how") adds to the score of the documents the other
        clauses find, but finds none by itself, unless every clause is minor: "the waiting
        list" lists the pages about waiting lists, not every page that says "the"."""
        if not clauses:
            return self._without(
                Matches(self.all_docs, np.ones(len(self.all_docs))) if excluded else EMPTY,
                excluded,
            )
        parts = [self.matches(clause) for clause in clauses]
        found = _union(parts, best=False)
        if len(parts) > 1 and len(found):
            minor = minor or [False] * len(parts)
            telling = [p for p, is_minor in zip(parts, minor, strict=True) if not is_minor]
            if telling and len(telling) < len(parts):
                found = restrict(found, _union(telling, best=False).docs)
            if self.ranking.coverage_exponent:
                informative = [idf(self.live_count, len(part)) for part in parts]
                covered = np.zeros(len(found))
                for part, information in zip(parts, informative, strict=True):
                    covered[member(found.docs, part.docs)] += information
                factor = coverage_factor(covered, sum(informative), self.ranking.coverage_exponent)
                found = Matches(found.docs, found.scores * factor)
        return self._without(found, excluded)

    def _without(self, found: Matches, excluded: list[Query]) -> Matches:
        for query in excluded:
            found = exclude(found, self.matches(query).docs)
        return found

    # --- internals ------------------------------------------------------------------------

    def _and(self, query: And) -> Matches:
        wanted = [q for q in query.subqueries if not isinstance(q, Not)]
        unwanted = [q.query for q in query.subqueries if isinstance(q, Not)]
        if not wanted:
            result = Matches(self.all_docs, np.zeros(len(self.all_docs)))
        else:
            parts = sorted((self.matches(q) for q in wanted), key=len)
            result = reduce(intersect, parts)
        for q in unwanted:
            result = exclude(result, self.matches(q).docs)
        return result.scaled(query.boost)

    def _leaf(self, query: Query) -> Matches:
        return self._cached(query, lambda: self._through_whoosh(query))

    def _cached(self, key: Query | tuple, compute: Callable[[], Matches]) -> Matches:
        with self._cache_lock:
            found = self._cache.get(key)
        if found is not None:
            return found
        found = compute()
        # suppress: larger than the whole cache, so used once and not kept.
        with self._cache_lock, suppress(ValueError):
            self._cache[key] = found
        return found

    def _unit(self, unit: _Unit) -> Matches:
        """One word, phrase or prefix searched in one or more text fields, as one BM25F
        score (the unit's boost is applied by the caller)."""
        if unit.kind == "term":
            return self._word(unit.fields, unit.texts[0])
        if unit.kind == "phrase":
            matched = union_docs(*(self._leaf(q).docs for q in unit.queries))
            if not len(matched):
                return EMPTY
            words = [self._word(unit.fields, text) for text in unit.texts]
            total = np.zeros(len(matched))
            for word in words:
                at = member(matched, word.docs)
                total[at] += word.scores[np.searchsorted(word.docs, matched[at])]
            return Matches(matched, total)
        texts = sorted({text for q in unit.queries for text in self.expansion(q)})
        parts = [self._word(unit.fields, text) for text in texts]
        return _union(parts, best=True).scaled(self.ranking.expansion_weight)

    def term(self, field: str, text: str) -> Matches:
        """A word in one field, scored with BM25F (as ``_unit`` scores it in several)."""
        return self.matches(Term(field, text))

    def _word(self, fields: tuple[str, ...], text: str | bytes) -> Matches:
        """BM25F: each field's frequencies normalised by its length and weighted, summed,
        then saturated once, with one idf for the word in any of the fields."""
        ranking = self.ranking
        postings = [(name, *self._postings(name, text)) for name in fields]
        postings = [(name, docs, tf) for name, docs, tf in postings if len(docs)]
        if not postings:
            return EMPTY
        low = min(int(docs[0]) for _, docs, _ in postings)
        high = max(int(docs[-1]) for _, docs, _ in postings) + 1
        seen = np.zeros(high - low, bool)
        combined = np.zeros(high - low)
        for name, docs, tf in postings:
            at = docs - low
            seen[at] = True
            combined[at] += normalised_tf(
                tf,
                self.lengths[name][docs],
                self.average_lengths[name],
                ranking.field_b.get(name, 0.75),
                ranking.field_weights.get(name, 1.0),
            )
        docs = np.flatnonzero(seen)
        scores = bm25f(idf(self.live_count, len(docs)), combined[docs], ranking.k1)
        return Matches((docs + low).astype(DOC), scores)

    def expansion(self, query: MultiTerm) -> list[bytes | str]:
        """The index terms a prefix, wildcard or fuzzy word stands for: at most
        ``MAX_EXPANSION``, the commonest (choosing them reads every candidate's frequency,
        so the choice is remembered)."""
        with self._cache_lock:
            found = self._expansions.get(query)
        if found is None:
            field = query.field()
            texts = sorted({text for _, text in query.expanded_terms(self.reader)})
            if len(texts) > MAX_EXPANSION:
                texts = heapq.nlargest(
                    MAX_EXPANSION, texts, key=lambda t: self.reader.doc_frequency(field, t)
                )
            found = texts
            with self._cache_lock:
                self._expansions[query] = found
        return found

    def _postings(self, field: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        """A term's live documents and its frequency in each, read once and kept (per field
        and term) in the cache."""
        found = self._cached(("frequencies", field, text), lambda: self._read_postings(field, text))
        return found.docs, found.scores

    def _read_postings(self, field: str, text: str | bytes) -> Matches:
        btext = self.reader.schema[field].to_bytes(text) if isinstance(text, str) else text
        if (field, btext) not in self.reader:
            return EMPTY
        docs, tf = self.term_postings.read(field, btext)
        if not len(docs):
            return EMPTY
        keep = self.live[docs]  # the codec reader's postings include deleted documents
        # Frequencies in the Matches' score slot: the raw count, without the schema's boost.
        return Matches(docs[keep], tf[keep] / self.field_boosts[field])

    def _through_whoosh(self, query: Query) -> Matches:
        """Matches and scores from Whoosh's own matcher, for query kinds arrays don't model."""
        matcher = query.matcher(self.searcher, self.searcher.context())
        docs: list[int] = []
        scores: list[float] = []
        while matcher.is_active():
            docs.append(matcher.id())
            scores.append(matcher.score())
            matcher.next()
        if not docs:
            return EMPTY
        found = Matches(np.asarray(docs, DOC), np.asarray(scores, np.float64))
        return restrict(found, self.all_docs) if len(self.all_docs) < self.doc_count else found


def plain_or(query: Query) -> bool:
    """An OR without Whoosh's match-count scaling or minimum (those go through Whoosh)."""
    return not getattr(query, "scale", None) and not getattr(query, "minmatch", 0)


def _union(parts: list[Matches], best: bool) -> Matches:
    """Documents in any part; scores added, or the best taken for a disjunction-max."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    # Accumulate over a dense range of document numbers: no sorting, one pass per part.
    low = min(int(p.docs[0]) for p in parts)
    high = max(int(p.docs[-1]) for p in parts) + 1
    seen = np.zeros(high - low, bool)
    combined = np.full(high - low, -np.inf) if best else np.zeros(high - low)
    for part in parts:
        at = part.docs - low
        seen[at] = True
        if best:
            combined[at] = np.maximum(combined[at], part.scores)
        else:
            combined[at] += part.scores
    docs = np.flatnonzero(seen)
    return Matches((docs + low).astype(DOC), combined[docs])


def union_docs(*arrays: np.ndarray) -> np.ndarray:
    """The documents in any of ``arrays`` (each ascending), ascending."""
    return _union([Matches(a, np.zeros(len(a))) for a in arrays], best=False).docs


def member(docs: np.ndarray, of: np.ndarray) -> np.ndarray:
    """For each of ``docs``, whether it is in ``of`` (ascending, without repeats)."""
    if not len(of):
        return np.zeros(len(docs), bool)
    at = np.minimum(np.searchsorted(of, docs), len(of) - 1)
    found: np.ndarray = of[at] == docs
    return found


def intersect(a: Matches, b: Matches) -> Matches:
    if len(a) > len(b):
        a, b = b, a
    keep = member(a.docs, b.docs)
    docs = a.docs[keep]
    return Matches(docs, a.scores[keep] + b.scores[np.searchsorted(b.docs, docs)])


def restrict(found: Matches, docs: np.ndarray) -> Matches:
    keep = member(found.docs, docs)
    return Matches(found.docs[keep], found.scores[keep])


def exclude(found: Matches, docs: np.ndarray) -> Matches:
    keep = ~member(found.docs, docs)
    return Matches(found.docs[keep], found.scores[keep])


@dataclass(frozen=True, slots=True)
class _Unit:
    """The same word, phrase or prefix searched in several text fields."""

    kind: str  # "term", "phrase" or "expansion"
    fields: tuple[str, ...]
    # The term's text, or the phrase's words.
    texts: tuple[str, ...]
    queries: tuple[Query, ...]


def _field_unit(query: Query, text_fields: Collection[str]) -> _Unit | None:
    """``query`` read as one unit over fields (what the parser makes of a typed word: an OR
    of the same term per field), or None when it is anything else."""
    if isinstance(query, Or) and not isinstance(query, DisjunctionMax):
        if not plain_or(query) or not query.subqueries:
            return None
        parts = tuple(query.subqueries)
    elif isinstance(query, (Term, Phrase, MultiTerm)):
        parts = (query,)
    else:
        return None
    if any(p.boost != 1.0 for p in parts):
        return None
    first = parts[0]
    fields = tuple(str(getattr(p, "fieldname", "")) for p in parts)
    if len(set(fields)) < len(fields) or not set(fields) <= set(text_fields):
        return None
    if all(type(p) is Term for p in parts) and len({p.text for p in parts}) == 1:
        return _Unit("term", fields, (first.text,), parts)
    if all(isinstance(p, Phrase) for p in parts):
        if len({(tuple(p.words), p.slop) for p in parts}) == 1:
            return _Unit("phrase", fields, tuple(first.words), parts)
        return None
    same_kind = all(isinstance(p, MultiTerm) and type(p) is type(first) for p in parts)
    if same_kind and len({getattr(p, "text", None) for p in parts}) == 1:
        return _Unit("expansion", fields, (), parts)
    return None
