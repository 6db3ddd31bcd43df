"""Searching the published index: ranked, filtered, faceted, highlighted.

One searcher is opened on the published version and shared by every request. Between
requests, at most every ``refresh_seconds``, the service looks at the index's pointer file and
opens the new version when a build has published one; requests already running finish on the
searcher they started with.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from whoosh.collectors import FilterCollector, TopCollector
from whoosh.highlight import ContextFragmenter, Formatter, get_text, highlight
from whoosh.index import open_dir
from whoosh.query import Every, Query
from whoosh.searching import Searcher

from indexer.document import PAGE_BREAK
from indexer.schema import FACET_FIELDS, SCHEMA, TEXT_FIELDS
from indexer.store import IndexStore
from indexer.text import shorten
from search_api.best_bets import BestBets
from search_api.pages import PageRanker, page_url
from search_api.query import QueryReader, UserQuery
from search_api.ranking import RankingWeighting, RecencySettings
from search_api.spelling import Vocabulary
from search_api.suggest import Suggester, parse_stoplist
from search_api.synonyms import Thesaurus
from search_api.watched import WatchedFile

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
)
RESULT_FIELDS = ("id", "url", "title", "type", "date", "topics", "scope")
SNIPPET_CHARS = 240
EXCERPT_CHARS = 700
ANALYZER = SCHEMA["body"].analyzer
_LINE_BREAKS = re.compile(r"\s*[\n\f]\s*")
log = logging.getLogger(__name__)


class IndexUnavailable(Exception):
    """No index version has been published at the configured location."""


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


class MarkFormatter(Formatter):
    """Matched words in <mark>; every other character of the snippet HTML-escaped."""

    between = " … "

    def _text(self, text: str) -> str:
        # Paragraph breaks matter in a page, not inside a one-line snippet.
        return html.escape(_LINE_BREAKS.sub(" ", text), quote=False)

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{html.escape(get_text(text, token, replace), quote=False)}</mark>"


class FacetTable:
    """Each document's facet values, read once per index version.

    Counting facets from memory costs one pass over the matching documents for all facets
    together, instead of one Whoosh pass per facet.
    """

    def __init__(self, stored: Iterable[tuple[int, dict[str, Any]]]) -> None:
        self.values: dict[int, dict[str, tuple[str, ...]]] = {}
        self.dates: dict[int, datetime] = {}
        for docnum, fields in stored:
            self.values[docnum] = {name: _facet_values(fields, name) for name in FACET_FIELDS}
            if isinstance(fields.get("date"), datetime):
                self.dates[docnum] = fields["date"]

    def in_date_range(
        self, docnums: Iterable[int], start: date | None, end: date | None
    ) -> set[int]:
        if start is None and end is None:
            return set(docnums)
        return {
            d
            for d in docnums
            if (published := self.dates.get(d)) is not None
            and (start is None or published.date() >= start)
            and (end is None or published.date() <= end)
        }

    def by_date(self, docnums: Iterable[int], newest_first: bool) -> list[int]:
        """Dated documents in date order, then undated ones, whichever way dates run."""
        dated = sorted(
            (d for d in docnums if d in self.dates),
            key=lambda d: (self.dates[d], -d if newest_first else d),
            reverse=newest_first,
        )
        undated = sorted(d for d in docnums if d not in self.dates)
        return dated + undated

    def passes(self, docnum: int, filters: dict[str, tuple[str, ...]], skip: str = "") -> bool:
        values = self.values[docnum]
        return all(
            any(v in values[name] for v in wanted)
            for name, wanted in filters.items()
            if wanted and name != skip
        )

    def count(
        self, matched: Iterable[int], filters: dict[str, tuple[str, ...]]
    ) -> tuple[set[int], dict[str, list[dict[str, Any]]]]:
        """The documents passing every filter, and for each facet its value counts.

        A facet's counts apply the filters of the *other* facets only, so choosing "news"
        still shows how many case studies there are to switch to.
        """
        allowed: set[int] = set()
        counters = {name: Counter() for name in FACET_FIELDS}
        for docnum in matched:
            values = self.values.get(docnum)
            if values is None:
                continue
            if self.passes(docnum, filters):
                allowed.add(docnum)
            for name in FACET_FIELDS:
                if self.passes(docnum, filters, skip=name):
                    counters[name].update(values[name])
        facets = {
            name: _facet_list(name, counters[name], filters.get(name, ())) for name in FACET_FIELDS
        }
        return allowed, facets


def _facet_values(fields: dict[str, Any], name: str) -> tuple[str, ...]:
    value = fields.get(name)
    if not value:
        return ()
    if name == "topic":
        return tuple(v for v in str(value).split(",") if v)
    return (str(value),)


def _facet_list(name: str, counts: Counter, selected: tuple[str, ...]) -> list[dict[str, Any]]:
    for value in selected:
        counts.setdefault(value, 0)
    if name == "year":
        order = sorted(counts, reverse=True)
    else:
        order = sorted(counts, key=lambda value: (-counts[value], value.lower()))
    return [{"value": v, "count": counts[v], "selected": v in selected} for v in order]


@dataclass(slots=True)
class _Version:
    """One opened index version; its lock serialises use of its (not thread-safe) searcher."""

    name: str
    searcher: Searcher
    facets: FacetTable
    vocabulary: Vocabulary
    suggester: Suggester
    info: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, query: Query | None) -> int:
        return sum(1 for _ in self.searcher.docs_for_query(query)) if query is not None else 0


class SearchService:
    """Answers searches from the published index version, with the editors' synonyms and
    best bets as they are on disk now (files read again when they change)."""

    def __init__(
        self,
        index_dir: Path,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        synonyms_file: Path | None = None,
        best_bets_file: Path | None = None,
        suggest_stoplist_file: Path | None = None,
        recency: RecencySettings | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.store = IndexStore(index_dir)
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.synonyms = WatchedFile(synonyms_file, Thesaurus.parse, Thesaurus())
        self.best_bets = WatchedFile(best_bets_file, BestBets.parse, BestBets({}))
        self.suggest_stoplist = WatchedFile(suggest_stoplist_file, parse_stoplist, frozenset())
        self.recency = recency or RecencySettings()
        self.today = today
        self._reopen_lock = threading.Lock()
        self._version = self._open_current()
        self._checked_at = clock()

    def _open_current(self) -> _Version:
        path = self.store.current()
        if path is None:
            raise IndexUnavailable(
                f"no index published in {self.store.root}: run 'blmk-index build' first"
            )
        index = open_dir(str(path))
        reader = index.reader()
        titles: list[str] = []

        def stored() -> Iterator[tuple[int, dict[str, Any]]]:
            """Every document's stored fields, read once: titles noted for suggestions."""
            for docnum, fields in reader.iter_docs():
                titles.append(str(fields.get("title", "")))
                yield docnum, fields

        facets = FacetTable(stored())
        types = {docnum: values["type"] for docnum, values in facets.values.items()}
        weighting = RankingWeighting(types, facets.dates, self.recency, self.today)
        vocabulary = Vocabulary.from_reader(reader)
        return _Version(
            name=path.name,
            searcher=Searcher(reader, weighting=weighting, fromindex=index),
            facets=facets,
            vocabulary=vocabulary,
            suggester=Suggester(titles, vocabulary.frequencies),
            info=self.store.build_info(path),
        )

    def current(self) -> _Version:
        """The version to answer a request from, reopened if a build has published another."""
        now = self.clock()
        if now - self._checked_at < self.refresh_seconds:
            return self._version
        if not self._reopen_lock.acquire(blocking=False):
            return self._version  # another request is already reopening
        try:
            self._checked_at = now
            published = self.store.current()
            if published is not None and published.name != self._version.name:
                try:
                    self._version = self._open_current()
                except Exception:  # a damaged version must not take the live search down
                    log.exception(
                        "cannot open index version %s; still serving %s",
                        published.name,
                        self._version.name,
                    )
        finally:
            self._reopen_lock.release()
        return self._version

    def search(self, request: SearchRequest) -> dict[str, Any]:
        started = time.perf_counter()
        version = self.current()
        thesaurus = self.synonyms.get()
        pinned_ids = self.best_bets.get().pinned(request.q, self.today()) if request.q else []
        with version.lock:
            searcher = version.searcher
            query = QueryReader(version.vocabulary, thesaurus, version.count).read(request.q)
            strict = set(searcher.docs_for_query(query.strict)) if query.strict else set()
            relaxed = set(searcher.docs_for_query(query.relaxed)) if query.relaxed else set()
            pinned = [n for i in pinned_ids if (n := searcher.document_number(id=i)) is not None]
            matched = version.facets.in_date_range(
                strict | relaxed | set(pinned), request.date_from, request.date_to
            )
            allowed, facets = version.facets.count(matched, request.filters)
            ranked = _Ranked(
                pinned=[n for n in pinned if n in allowed],
                strict=strict & allowed,
                relaxed=relaxed & allowed,
            )
            results = self._page_of_hits(version, query, ranked, request) if allowed else []
            suggestion = self._suggestion(version, thesaurus, query)
        return {
            "query": request.q,
            "total": len(allowed),
            "page": request.page,
            "per_page": request.per_page,
            "suggestion": suggestion,
            "results": results,
            "facets": facets,
            "took_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    @staticmethod
    def _suggestion(version: _Version, thesaurus: Thesaurus, query: UserQuery) -> str | None:
        """The corrected query, offered only when it finds something itself."""
        suggested = query.suggestion()
        if suggested is None:
            return None
        corrected = QueryReader(version.vocabulary, thesaurus, version.count).read(suggested)
        if corrected.corrections or version.count(corrected.relaxed or corrected.strict) == 0:
            return None
        return suggested

    def _page_of_hits(
        self, version: _Version, query: UserQuery, ranked: _Ranked, request: SearchRequest
    ) -> list[dict[str, Any]]:
        first = (request.page - 1) * request.per_page
        last = first + request.per_page
        if first >= ranked.total:
            return []  # past the last page
        newest_first = SORTS[request.sort]
        if newest_first is None and query.lists_everything:
            newest_first = True  # nothing to rank by
        if newest_first is None:
            order = ranked.by_relevance(version.searcher, query, limit=last)[first:]
        else:
            everything = ranked.strict | ranked.relaxed | set(ranked.pinned)
            by_date = version.facets.by_date(everything, newest_first)[first:last]
            order = [(d, None, False) for d in by_date]
        # Listing everything ("" or "*") has no words to show in context: snippets are summaries.
        searcher = version.searcher
        snippets = None
        if not query.lists_everything and query.strict is not None:
            snippets = _Snippets(searcher, query.strict, request.q)
        return [
            _result(searcher.stored_fields(d), score, snippets) | {"pinned": pinned}
            for d, score, pinned in order
        ]

    def suggest(self, typed: str) -> dict[str, Any]:
        """Completions of what has been typed so far (no searcher needed: lists in memory)."""
        suggestions = self.current().suggester.suggest(typed, self.suggest_stoplist.get())
        return {"query": typed, "suggestions": suggestions}

    def document(self, doc_id: str) -> dict[str, Any] | None:
        version = self.current()
        with version.lock:
            fields = version.searcher.document(id=doc_id)
        return _stored_document(fields) if fields else None

    def health(self) -> dict[str, Any]:
        version = self.current()
        with version.lock:
            count = version.searcher.doc_count()
        return {
            "status": "ok",
            "documents": count,
            "index_version": version.name,
            "built_at": version.info.get("built_at"),
        }


@dataclass(slots=True, kw_only=True)
class _Ranked:
    """The documents a search may show, in the groups that decide their order: pinned ones
    first, then those matching every word, then those matching some."""

    pinned: list[int]
    strict: set[int]
    relaxed: set[int]

    @property
    def total(self) -> int:
        return len(self.strict | self.relaxed | set(self.pinned))

    def by_relevance(
        self, searcher: Searcher, query: UserQuery, limit: int
    ) -> list[tuple[int, float | None, bool]]:
        order: list[tuple[int, float | None, bool]] = [(d, None, True) for d in self.pinned]
        shown = set(self.pinned)
        for group, group_query in ((self.strict, query.strict), (self.relaxed, query.relaxed)):
            wanted = limit - len(order)
            candidates = group - shown
            if wanted <= 0 or not candidates or group_query is None:
                continue
            scored = _top_scored(searcher, query.ranked(group_query), candidates, limit=wanted)
            order.extend((d, score, False) for d, score in scored)
            shown.update(d for d, _ in scored)
        return order[:limit]


def _top_scored(
    searcher: Searcher, query: Query, allowed: set[int], limit: int
) -> list[tuple[int, float]]:
    """The ``limit`` best-scoring allowed documents, ranked exactly.

    Whoosh's default top-N search swaps matchers for cheaper ones once the N-th best score is
    known, and with field boosts that drops documents that belong in the top N: a smaller
    limit can lose the best hit (whoosh issue #413). Replacement and block skipping are off.
    """
    collector = FilterCollector(
        TopCollector(limit=limit, usequality=False, replace=0), allow=allowed
    )
    searcher.search_with_collector(query, collector)
    results = collector.results()
    return [(results.docnum(i), results.score(i)) for i in range(results.scored_length())]


class _Snippets:
    """Highlights the words of one query in any document's stored text."""

    def __init__(self, searcher: Searcher, query: Query, typed: str) -> None:
        # Not query.existing_terms(): it stops at the first field it meets (its loop variable
        # shadows its field argument), so body words went unmarked when the title matched.
        reader = searcher.reader()
        self.words = {
            text.decode() if isinstance(text, bytes) else str(text)
            for leaf in query.leaves()
            if not isinstance(leaf, Every)  # "*" matches everything and marks nothing
            for field, text in leaf.expanded_terms(reader, phrases=True)
            if field in TEXT_FIELDS
        }
        # Where a body's matches begin: the indexed forms, then the words as typed.
        typed_words = {word.lower() for word in re.findall(r"\w{2,}", typed)}
        self.needles = sorted(self.words) + sorted(typed_words)
        self.fragmenter = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
        self.formatter = MarkFormatter()
        self.ranker = PageRanker(self.words)

    def __call__(self, fields: dict[str, Any]) -> str:
        for text in (_excerpt(fields.get("body", ""), self.needles), fields.get("summary", "")):
            if text and (snippet := self._highlight(text)):
                return snippet
        return ""

    def pages(self, fields: dict[str, Any]) -> list[dict[str, Any]]:
        """A paginated document's best-matching pages, each with its snippet and deep link."""
        if not fields.get("page_count"):
            return []
        return [
            {
                "number": page.number,
                "snippet": self._highlight(_excerpt(page.text, self.needles))
                or html.escape(shorten(page.text, SNIPPET_CHARS), quote=False),
                "url": page_url(fields.get("url", ""), page.number),
            }
            for page in self.ranker.best(fields.get("body", ""))
        ]

    def _highlight(self, text: str) -> str:
        return highlight(text, self.words, ANALYZER, self.fragmenter, self.formatter, top=2)


def _iso_date(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


def _topics(fields: dict[str, Any]) -> list[str]:
    return list(_facet_values(fields, "topic"))


def _excerpt(text: str, needles: list[str]) -> str:
    """A window of the body around its first match: highlighting re-analyses the text it is
    given, so a 60-page report would otherwise cost tens of milliseconds per hit."""
    lower = text.lower()
    found = [at for needle in needles if (at := lower.find(needle)) >= 0]
    start = max(0, min(found) - EXCERPT_CHARS // 4) if found else 0
    return text[start : start + EXCERPT_CHARS]


def _result(
    fields: dict[str, Any], score: float | None, snippets: _Snippets | None
) -> dict[str, Any]:
    """One hit; a PDF's hit leads with its best page: that page's snippet and deep link."""
    pages = snippets.pages(fields) if snippets else []
    snippet = pages[0]["snippet"] if pages else snippets(fields) if snippets else ""
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
    document["topics"] = _topics(fields)
    return document
