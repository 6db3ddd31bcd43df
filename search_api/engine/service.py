"""Searching the published index: ranked, filtered, faceted, highlighted.

One searcher is opened on the published version and shared by every request. Between
requests, at most every ``refresh_seconds``, the service looks at the index's pointer file and
opens the new version when a build has published one; requests already running finish on the
searcher they started with.

Per search: every match is found and scored with posting arrays (``postings.py``), which gives
the total and the facet counts for all matches at array speed; only the documents that can
make the page shown are given the typed words' proximity bonus (through Whoosh's phrase
matcher), read from stored fields and highlighted. Whole responses are cached per index
version, so a new version never answers from the old one's results.

The editors' rules (synonyms, best bets, hidden and demoted documents, the suggestion
stoplist) are the files on disk as they are now; a search may be given a set of rules of its
own instead (``EditorialRules``: a preview of a draft), and its answer is then never cached.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.query import Or
from whoosh.searching import Searcher

from indexer import MINOR_WORDS, PAGE_BREAK, IndexStore, shorten
from search_api.editorial.best_bets import BestBets
from search_api.editorial.checks import Check, parse_checks
from search_api.editorial.hidden import HiddenRules
from search_api.editorial.rules import EditorialRules
from search_api.editorial.stoplist import parse_stoplist
from search_api.editorial.synonyms import Thesaurus
from search_api.editorial.watched import WatchedFile
from search_api.engine.facets import facet_values
from search_api.engine.highlight import SNIPPET_CHARS, Highlighter, query_terms
from search_api.engine.postings import (
    DOC,
    Matches,
    PostingArrays,
    exclude,
    member,
    restrict,
    union_docs,
)
from search_api.engine.proximity import bonus as proximity_bonus
from search_api.engine.query import QueryReader, UserQuery, every_word, words_without_syntax
from search_api.engine.ranking import RankingSettings
from search_api.engine.versions import OneVersion, Version, VersionKeeper, open_version

# Sort orders: None ranks by relevance; True and False sort by date, newest or oldest first.
SORTS: dict[str, bool | None] = {"relevance": None, "newest": True, "oldest": False}
# What /documents/{id} returns, and the part of it each search result repeats.
STORED_FIELDS = (
    "id",
    "url",
    "path",
    "type",
    "title",
    "summary",
    "body",
    "date",
    "year",
    "topics",
    "scope",
    "page_count",
    "content_hash",
    "source",
)
RESULT_FIELDS = ("id", "url", "title", "type", "date", "topics", "scope", "source")
# Documents beyond the page shown whose proximity bonus is worked out: the bonus can lift a
# document only from among the next best by their word scores.
RERANK_DEPTH = 40
# How long a search may take before its optional steps are left out (``Budget``).
DEFAULT_BUDGET_SECONDS = 0.25


@dataclass(slots=True, kw_only=True)
class SearchRequest:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    # Publication dates from and to (inclusive); either excludes undated documents.
    date_from: date | None = None
    date_to: date | None = None

    def cache_key(self) -> tuple:
        """The request with what cannot change its answer taken out (spacing, filter order)."""
        filters = tuple(sorted((k, tuple(sorted(set(v)))) for k, v in self.filters.items() if v))
        return (
            " ".join(self.q.split()),
            filters,
            self.sort,
            self.page,
            self.per_page,
            self.date_from,
            self.date_to,
        )


class SearchService:
    """Answers searches from the published index version, with the editors' synonyms, best
    bets and hidden documents as they are on disk now (files read again when they change)."""

    def __init__(
        self,
        index_dir: Path,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        synonyms_file: Path | None = None,
        best_bets_file: Path | None = None,
        hidden_file: Path | None = None,
        suggest_stoplist_file: Path | None = None,
        checks_file: Path | None = None,
        ranking: RankingSettings | None = None,
        today: Callable[[], date] = date.today,
        cache_responses: bool = True,
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
        public_postings: bool = False,
        only_version: Path | None = None,
    ) -> None:
        """``public_postings`` reads postings through Whoosh's public API even where the
        faster codec reader applies (``search_api.engine.codec``): for tests and diagnosis.
        ``only_version`` answers from that version folder alone (``for_version``).
        ``checks_file`` is not read by a search: it is kept with the rule files because
        editors publish the quality checks with them."""
        self.store = IndexStore(index_dir) if only_version is None else OneVersion(only_version)
        self.synonyms = WatchedFile(synonyms_file, Thesaurus.parse, Thesaurus())
        self.best_bets = WatchedFile(best_bets_file, BestBets.parse, BestBets({}))
        self.hidden = WatchedFile(hidden_file, HiddenRules.parse, HiddenRules())
        self.suggest_stoplist = WatchedFile(suggest_stoplist_file, parse_stoplist, frozenset[str]())
        self.quality_checks = WatchedFile(checks_file, parse_checks, tuple[Check, ...]())
        # Where the live rule files are, by ``RULE_FILES`` name (None: switched off).
        self.rule_files: dict[str, Path | None] = {
            "synonyms": synonyms_file,
            "best_bets": best_bets_file,
            "hidden": hidden_file,
            "stoplist": suggest_stoplist_file,
            "checks": checks_file,
        }
        self.ranking = ranking or RankingSettings()
        self.today = today
        self.cache_responses = cache_responses
        self.budget_seconds = budget_seconds
        self.versions = VersionKeeper(
            self.store,
            lambda path: open_version(
                path, self.store, self.ranking, public_postings=public_postings
            ),
            refresh_seconds,
            clock,
        )

    @classmethod
    def for_version(cls, version_dir: Path, **options: Any) -> SearchService:
        """A service answering from one version folder only, published or not, that never
        moves to another: a build's new version is searched with it before it is published.
        ``options`` are the constructor's (the rule files, the ranking); nothing is cached, as
        it answers a few searches once. ``close`` it when done."""
        return cls(
            version_dir.parent,
            refresh_seconds=float("inf"),
            cache_responses=False,
            only_version=version_dir,
            **options,
        )

    def close(self) -> None:
        """Closes the index files now rather than when the service is collected: for a service
        made by ``for_version``, whose folder a held build deletes next."""
        self.versions.close()

    def search(self, request: SearchRequest, rules: EditorialRules | None = None) -> dict[str, Any]:
        """The answer with the live rule files; with ``rules``, with those instead (a preview,
        never read from nor put in the response cache)."""
        started = time.perf_counter()
        return self.versions.answer_from(
            lambda version: self._search(version, request, rules, started)
        )

    def _search(
        self,
        version: Version,
        request: SearchRequest,
        rules: EditorialRules | None,
        started: float,
    ) -> dict[str, Any]:
        today = self.today()
        budget = Budget(started + self.budget_seconds)
        if rules is not None:
            answer = self._answer(
                version, request, rules.thesaurus, rules.best_bets, rules.hidden, today, budget
            )
        else:
            thesaurus, synonyms_read = self.synonyms.with_generation()
            best_bets, best_bets_read = self.best_bets.with_generation()
            hidden, hidden_read = self.hidden.with_generation()
            # Everything an answer depends on besides the index version, whose cache this is.
            key = (request.cache_key(), synonyms_read, best_bets_read, hidden_read, today)
            cached = version.cached(key) if self.cache_responses else None
            if cached is None:
                answer = self._answer(version, request, thesaurus, best_bets, hidden, today, budget)
                if self.cache_responses and not answer["partial"]:
                    version.remember(key, answer)
            else:
                answer = cached
        took_ms = round((time.perf_counter() - started) * 1000, 2)
        return {"query": request.q} | answer | {"took_ms": took_ms}

    def _answer(
        self,
        version: Version,
        request: SearchRequest,
        thesaurus: Thesaurus,
        best_bets: BestBets,
        hidden: HiddenRules,
        today: date,
        budget: Budget,
    ) -> dict[str, Any]:
        pinned_ids = best_bets.pinned(request.q, today) if request.q else []
        hidden_ids, demoted_ids = hidden.applying(request.q)
        # The whole search holds the lock, not only its reads of Whoosh's storage: measured
        # (``bench.threads``, 10,000 pages, 2 cores), locking only those reads let two threads'
        # searches interleave under the GIL and cost a fifth of the throughput (141-156
        # searches/s on 2 threads against 184-186), as numpy's arrays here are too small for
        # its GIL-free work to pay for the switching. Processes scale instead (``bench.cluster``).
        with version.lock:
            searcher = version.searcher
            query = self._reader(version, thesaurus).read(request.q)
            if query.lists_everything:
                found = version.postings.matches(query.strict)
            else:
                found = version.postings.covering(query.clauses, query.excluded, query.minor)
            pinned = [n for i in pinned_ids if (n := searcher.document_number(id=i)) is not None]
            pinned_docs = np.asarray(sorted(pinned), DOC)
            matched = union_docs(found.docs, pinned_docs)
            if hidden_ids:  # left out before anything is counted; best bets win
                unpinned = _without(_document_numbers(searcher, hidden_ids), pinned_docs)
                matched = _without(matched, unpinned)
            matched = version.facets.in_date_range(matched, request.date_from, request.date_to)
            allowed, facets = version.facets.count(matched, request.filters)
            kept = member(np.asarray(pinned, DOC), allowed)
            demoted = _without(_document_numbers(searcher, demoted_ids), pinned_docs)
            ranked = _Ranked(
                pinned=[n for n, ok in zip(pinned, kept.tolist(), strict=True) if ok],
                found=restrict(found, allowed),
                demoted=demoted,
            )
            results = self._page_of_hits(version, query, ranked, request, today, budget)
            suggestion = self._suggestion(version, thesaurus, query) if budget.left() else None
        return {
            "partial": budget.spent,
            "total": len(allowed),
            "page": request.page,
            "per_page": request.per_page,
            "suggestion": suggestion,
            "results": results,
            "facets": facets,
        }

    def _reader(self, version: Version, thesaurus: Thesaurus) -> QueryReader:
        return QueryReader(version.vocabulary, thesaurus, version.count, self.ranking)

    def _suggestion(self, version: Version, thesaurus: Thesaurus, query: UserQuery) -> str | None:
        """The corrected query, offered only when it finds something itself."""
        suggested = query.suggestion()
        if suggested is None:
            return None
        corrected = self._reader(version, thesaurus).read(suggested)
        if corrected.corrections:
            return None
        found = version.postings.covering(corrected.clauses, corrected.excluded, corrected.minor)
        if not len(found):
            return None
        return suggested

    def _page_of_hits(
        self,
        version: Version,
        query: UserQuery,
        ranked: _Ranked,
        request: SearchRequest,
        today: date,
        budget: Budget,
    ) -> list[dict[str, Any]]:
        first = (request.page - 1) * request.per_page
        last = first + request.per_page
        if first >= ranked.total:
            return []  # past the last page
        newest_first = SORTS[request.sort]
        if newest_first is None and query.lists_everything:
            newest_first = True  # nothing to rank by
        if newest_first is None:
            recency = version.recency(self.ranking.recency, today)
            if not budget.left():
                query = replace(query, proximity=None)  # ranked by the words alone
            order = ranked.by_relevance(version.postings, query, recency, limit=last)[first:]
        else:
            everything = ranked.everything()
            if request.sort == "relevance" and len(ranked.demoted):
                # Listing everything "by relevance" is by date, demoted documents last (a date
                # order asked for is kept whole).
                demoted = everything[member(everything, ranked.demoted)]
                groups = [_without(everything, demoted), demoted]
                dated = np.concatenate([version.facets.by_date(g, newest_first) for g in groups])
            else:
                dated = version.facets.by_date(everything, newest_first)
            order = [(int(d), None, False) for d in dated[first:last]]
        # Listing everything ("" or "*") has no words to show in context: snippets are summaries.
        searcher = version.searcher
        highlighter = None
        if not query.lists_everything and query.telling and budget.left():
            # Marked: the words that found the results, not "the" or "how" beside them.
            marked = Or(query.telling) if len(query.telling) > 1 else query.telling[0]
            typed = [w for w in words_without_syntax(request.q) if w.lower() not in MINOR_WORDS]
            highlighter = Highlighter(
                query_terms(marked, version.postings), " ".join(typed) or request.q
            )
        return [
            _result(searcher.stored_fields(d), score, highlighter) | {"pinned": pinned}
            for d, score, pinned in order
        ]

    def current(self) -> Version:
        """The version requests are answered from now (reopened when a build published one)."""
        return self.versions.current()

    def live_rules(self) -> EditorialRules:
        """The live rule files as they are read now (a file that cannot be parsed: its last
        good reading, as searches use it)."""
        return EditorialRules(
            thesaurus=self.synonyms.get(),
            best_bets=self.best_bets.get(),
            hidden=self.hidden.get(),
            stoplist=self.suggest_stoplist.get(),
            checks=self.quality_checks.get(),
        )

    def has_document(self, doc_id: str) -> bool:
        """Whether the version answering now holds ``doc_id`` (for checking editors' rules)."""

        def read(version: Version) -> bool:
            with version.lock:
                return version.searcher.document_number(id=doc_id) is not None

        return self.versions.answer_from(read)

    def document_frequency(self, text: str) -> int:
        """How many documents of the version answering now contain every word of ``text``,
        read as searches read words (stemmed; no synonyms): how common a word or phrase an
        editor means to use is. 0 when ``text`` has no words."""
        query = every_word(text)

        def count(version: Version) -> int:
            with version.lock:
                return version.count(query)

        return self.versions.answer_from(count)

    def suggest(self, typed: str) -> dict[str, Any]:
        """Completions of what has been typed so far (no searcher needed: lists in memory)."""
        suggestions = self.versions.current().suggester.suggest(typed, self.suggest_stoplist.get())
        return {"query": typed, "suggestions": suggestions}

    def document(self, doc_id: str) -> dict[str, Any] | None:
        def read(version: Version) -> dict[str, Any] | None:
            with version.lock:
                fields = version.searcher.document(id=doc_id)
            return _stored_document(fields) if fields else None

        return self.versions.answer_from(read)

    def health(self) -> dict[str, Any]:
        version = self.versions.current()
        with version.lock:
            count = version.searcher.doc_count()
        return {
            "status": "ok",
            "documents": count,
            "index_version": version.name,
            "built_at": version.info.get("built_at"),
            "postings_reader": version.postings.reader_name,
        }

    def last_build(self) -> dict[str, Any] | None:
        """The last build's record, which may have failed and left an older version serving."""
        return self.store.last_build()


class Budget:
    """The time a search may take. Past it, each remaining optional step is left out (the
    proximity bonus, snippets in context, the spelling suggestion) and the answer says it is
    ``partial``; every match is still found, counted and ranked by its words' scores."""

    __slots__ = ("deadline", "spent")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.spent = False

    def left(self) -> bool:
        if not self.spent and time.perf_counter() > self.deadline:
            self.spent = True
        return not self.spent


@dataclass(slots=True, kw_only=True)
class _Ranked:
    """The documents a search may show: pinned ones first, then the rest by score, then the
    demoted ones by score."""

    pinned: list[int]
    found: Matches
    # Editors' demoted documents (ascending; none of them pinned).
    demoted: np.ndarray

    def everything(self) -> np.ndarray:
        return union_docs(self.found.docs, np.asarray(sorted(self.pinned), DOC))

    @property
    def total(self) -> int:
        return len(self.everything())

    def by_relevance(
        self, postings: PostingArrays, query: UserQuery, recency: np.ndarray, limit: int
    ) -> list[tuple[int, float | None, bool]]:
        order: list[tuple[int, float | None, bool]] = [(d, None, True) for d in self.pinned]
        group = self.found
        if self.pinned:
            group = exclude(group, np.asarray(sorted(self.pinned), DOC))
        groups = [group]
        if len(self.demoted):
            groups = [exclude(group, self.demoted), restrict(group, self.demoted)]
        for each in groups:
            wanted = limit - len(order)
            if wanted <= 0:
                break
            best = _top_scored(postings, query, each, recency, wanted)
            order.extend((d, score, False) for d, score in best)
        return order[:limit]


def _document_numbers(searcher: Searcher, ids: frozenset[str]) -> np.ndarray:
    """The index's numbers for the documents it holds of ``ids``, ascending."""
    numbers = {n for i in ids if (n := searcher.document_number(id=i)) is not None}
    return np.asarray(sorted(numbers), DOC)


def _without(docs: np.ndarray, left_out: np.ndarray) -> np.ndarray:
    """``docs`` (ascending) without those in ``left_out`` (ascending)."""
    if not len(left_out):
        return docs
    kept: np.ndarray = docs[~member(docs, left_out)]
    return kept


def _top_scored(
    postings: PostingArrays, query: UserQuery, group: Matches, recency: np.ndarray, limit: int
) -> list[tuple[int, float]]:
    """The ``limit`` best documents of a group, by word score plus proximity bonus, times
    recency: the bonus is worked out for the best by word score and ``RERANK_DEPTH`` more."""
    if not len(group):
        return []
    scores = group.scores * recency[group.docs]
    depth = min(len(group), limit + (RERANK_DEPTH if query.proximity is not None else 0))
    if depth < len(group):
        top = np.sort(np.argpartition(-scores, depth - 1)[:depth])
    else:
        top = np.arange(len(group))
    docs = group.docs[top]
    if query.proximity is not None:
        bonus = proximity_bonus(postings, query.proximity, docs)
        final = (group.scores[top] + bonus) * recency[docs]
    else:
        final = scores[top]
    best = np.lexsort((docs, -final))[:limit]
    return [(int(docs[i]), float(final[i])) for i in best]


def _iso_date(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


def _result(
    fields: dict[str, Any], score: float | None, highlighter: Highlighter | None
) -> dict[str, Any]:
    """One hit; a PDF's hit leads with its best page: that page's snippet and deep link."""
    pages = highlighter.pages(fields) if highlighter else []
    snippet = pages[0]["snippet"] if pages else highlighter.snippet(fields) if highlighter else ""
    if not snippet:
        text = fields.get("summary") or fields.get("body", "").replace(PAGE_BREAK, " ")
        snippet = html.escape(shorten(text, SNIPPET_CHARS), quote=False)
    document = _stored_document(fields)
    result = {key: document[key] for key in RESULT_FIELDS} | {
        "snippet": snippet,
        "score": round(score, 4) if score is not None else None,
        "pages": pages,
    }
    if pages:
        result["url"] = pages[0]["url"]
    return result


def _stored_document(fields: dict[str, Any]) -> dict[str, Any]:
    """Stored fields as plain JSON types, under the names the API documents."""
    document = {name: fields.get(name) for name in STORED_FIELDS}
    document["date"] = _iso_date(fields.get("date"))
    document["topics"] = list(facet_values(fields, "topic"))
    document["source"] = fields.get("source") or "corpus"  # versions built before sources
    return document
