"""Searching the published index: ranked, filtered, faceted, highlighted.

One searcher is opened on the published version and shared by every request. Between
requests, at most every ``refresh_seconds``, the service looks at the index's pointer file and
opens the new version when a build has published one; requests already running finish on the
searcher they started with.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh.collectors import FilterCollector, SortingCollector, TopCollector
from whoosh.highlight import ContextFragmenter, Formatter, get_text
from whoosh.index import open_dir
from whoosh.query import Every, Query
from whoosh.searching import Results, Searcher
from whoosh.sorting import FieldFacet

from indexer.schema import FACET_FIELDS
from indexer.store import IndexStore
from indexer.text import shorten
from search_api.query import parse_user_query

SORTS: dict[str, FieldFacet | None] = {
    "relevance": None,
    "newest": FieldFacet("date", reverse=True),
    "oldest": FieldFacet("date"),
}
SNIPPET_CHARS = 240
_LINE_BREAKS = re.compile(r"\s*\n\s*")


class IndexUnavailable(Exception):
    """No index version has been published at the configured location."""


@dataclass(slots=True, kw_only=True)
class SearchRequest:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10


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
        self.values: dict[int, dict[str, tuple[str, ...]]] = {
            docnum: {name: _facet_values(fields, name) for name in FACET_FIELDS}
            for docnum, fields in stored
        }

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
    info: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)


class SearchService:
    def __init__(
        self,
        index_dir: Path,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = IndexStore(index_dir)
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._reopen_lock = threading.Lock()
        self._version = self._open_current()
        self._checked_at = clock()

    def _open_current(self) -> _Version:
        path = self.store.current()
        if path is None:
            raise IndexUnavailable(
                f"no index published in {self.store.root}: run 'blmk-index build' first"
            )
        searcher = open_dir(str(path)).searcher()
        return _Version(
            name=path.name,
            searcher=searcher,
            facets=FacetTable(searcher.reader().iter_docs()),
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
                self._version = self._open_current()
        finally:
            self._reopen_lock.release()
        return self._version

    def search(self, request: SearchRequest) -> dict[str, Any]:
        started = time.perf_counter()
        version = self.current()
        query = parse_user_query(request.q) if request.q.strip() else Every()
        with version.lock:
            searcher = version.searcher
            matched = searcher.docs_for_query(query) if query is not None else ()
            allowed, facets = version.facets.count(matched, request.filters)
            results = []
            if allowed:
                results = self._page_of_hits(searcher, query, allowed, request)
        return {
            "query": request.q,
            "total": len(allowed),
            "page": request.page,
            "per_page": request.per_page,
            "results": results,
            "facets": facets,
            "took_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    def _page_of_hits(
        self, searcher: Searcher, query: Query, allowed: set[int], request: SearchRequest
    ) -> list[dict[str, Any]]:
        sort = SORTS[request.sort]
        if isinstance(query, Every) and sort is None:
            sort = SORTS["newest"]  # nothing to rank by: newest first
        first = (request.page - 1) * request.per_page
        if first >= len(allowed):
            return []  # past the last page
        hits = _collect(searcher, query, allowed, sort, limit=first + request.per_page)
        hits.fragmenter = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
        hits.formatter = MarkFormatter()
        return [_result(hit, scored=sort is None) for hit in hits[first:]]

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


def _collect(
    searcher: Searcher, query: Query, allowed: set[int], sort: FieldFacet | None, limit: int
) -> Results:
    """The top ``limit`` allowed hits, ranked exactly.

    Whoosh's default top-N search swaps matchers for cheaper ones once the N-th best score is
    known, and with field boosts that drops documents that belong in the top N: a smaller
    limit can lose the best hit (whoosh issue #413). Replacement and block skipping are off.
    """
    if sort is None:
        collector = TopCollector(limit=limit, usequality=False, replace=0)
    else:
        collector = SortingCollector(sort, limit=limit)
    filtered = FilterCollector(collector, allow=allowed)
    searcher.search_with_collector(query, filtered)
    return filtered.results()


def _iso_date(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


def _topics(fields: dict[str, Any]) -> list[str]:
    return list(_facet_values(fields, "topic"))


def _result(hit: Any, *, scored: bool) -> dict[str, Any]:
    # Stored fields, not hit[...]: a sortable column answers with a default for a missing date.
    fields = hit.fields()
    snippet = hit.highlights("body", top=2) or hit.highlights("summary")
    if not snippet:
        text = fields.get("summary") or fields.get("body", "")
        snippet = html.escape(shorten(text, SNIPPET_CHARS), quote=False)
    return {
        "id": fields["id"],
        "url": fields.get("url"),
        "title": fields.get("title"),
        "type": fields.get("type"),
        "date": _iso_date(fields.get("date")),
        "snippet": snippet,
        "score": round(hit.score, 4) if scored and hit.score is not None else None,
        "topics": _topics(fields),
        "scope": fields.get("scope"),
    }


def _stored_document(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": fields["id"],
        "url": fields.get("url"),
        "path": fields.get("path"),
        "type": fields.get("type"),
        "title": fields.get("title"),
        "summary": fields.get("summary"),
        "body": fields.get("body"),
        "date": _iso_date(fields.get("date")),
        "year": fields.get("year"),
        "topics": _topics(fields),
        "scope": fields.get("scope"),
        "page_count": fields.get("page_count"),
        "content_hash": fields.get("content_hash"),
    }
