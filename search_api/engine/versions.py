"""Which published index version answers, and what stands in when one is damaged.

A build publishes a new version by moving the index's pointer file; between requests, at most
every ``refresh_seconds``, the keeper looks at the pointer and opens the new version. Requests
already running finish on the version they started with. A version whose files turn out to be
damaged is set aside and the one served before it answers again, so a bad build or a disk
fault never takes the live search down while an earlier version can be read.
"""

from __future__ import annotations

import logging
import pickle
import struct
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from cachetools import LRUCache
from whoosh.index import open_dir
from whoosh.query import Query
from whoosh.reading import CorruptIndexError, ReaderClosed
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from indexer import IndexStore
from search_api.engine.codec import open_term_postings
from search_api.engine.facets import FacetColumns
from search_api.engine.postings import PostingArrays
from search_api.engine.ranking import RankingSettings, RecencySettings, recency_factors
from search_api.engine.spelling import SpellingVocabulary
from search_api.engine.suggest import Suggester
from search_api.errors import IndexUnavailable

# Whole responses cached per version (a new version never answers from the old one's).
CACHED_RESPONSES = 4096
log = logging.getLogger(__name__)
T = TypeVar("T")


# What reading a version's files raises when they are damaged or cannot be read: a fault of
# the files (disk, copying, tampering), not of this code. The version is then set aside.
INDEX_DAMAGE: tuple[type[BaseException], ...] = (
    CorruptIndexError,
    OSError,
    EOFError,
    zlib.error,
    struct.error,
    pickle.UnpicklingError,
)
# A version that failed is tried again after this long: the fault may have been put right.
RETRY_SECONDS = 30.0


@dataclass(slots=True, weakref_slot=True)
class Version:
    """One opened index version; its lock serialises use of its (not thread-safe) searcher."""

    name: str
    searcher: Searcher
    postings: PostingArrays
    facets: FacetColumns
    vocabulary: SpellingVocabulary
    suggester: Suggester
    info: dict[str, Any]
    responses: LRUCache = field(default_factory=lambda: LRUCache(CACHED_RESPONSES))
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The cache's own (an LRU's bookkeeping is not thread-safe); never held while searching.
    responses_lock: threading.Lock = field(default_factory=threading.Lock)
    _recency: tuple[date, RecencySettings, np.ndarray] | None = None

    def count(self, query: Query | None) -> int:
        return self.postings.count(query)

    def cached(self, key: tuple) -> dict[str, Any] | None:
        with self.responses_lock:
            return self.responses.get(key)

    def remember(self, key: tuple, answer: dict[str, Any]) -> None:
        with self.responses_lock:
            self.responses[key] = answer

    def release_caches(self) -> None:
        """Frees what searching has cached, for a version kept only in case the next one
        fails: two versions' caches would double the memory searching holds."""
        with self.lock:
            self.postings.clear()
        with self.responses_lock:
            self.responses.clear()
        self.suggester.clear()

    def recency(self, settings: RecencySettings, today: date) -> np.ndarray:
        """Each document's recency multiplier, worked out again when the day changes."""
        if self._recency is None or self._recency[:2] != (today, settings):
            self._recency = (today, settings, recency_factors(self.facets, settings, today))
        return self._recency[2]


def open_version(
    path: Path, store: IndexStore, ranking: RankingSettings, *, public_postings: bool = False
) -> Version:
    """Opens one published version: its searcher, posting arrays, facet columns, vocabulary
    and suggester, all read once here so that requests only look things up.

    Postings are read from Whoosh's storage format only when the installed Whoosh and the
    index's codec are the ones ``codec.py`` was written against (a warning says when not);
    ``public_postings`` reads them through Whoosh's public API regardless, for tests and
    diagnosis."""
    index = open_dir(str(path))
    reader = index.reader()
    term_postings = open_term_postings(reader, public_only=public_postings)
    titles: list[str] = []

    def stored() -> Iterator[tuple[int, dict[str, Any]]]:
        """Every document's stored fields, read once: titles noted for suggestions."""
        for docnum, fields in reader.iter_docs():
            titles.append(str(fields.get("title", "")))
            yield docnum, fields

    facets = FacetColumns(reader.doc_count_all(), stored())
    searcher = Searcher(reader, weighting=BM25F(), fromindex=index)
    vocabulary = SpellingVocabulary.of_version(path)
    version = Version(
        name=path.name,
        searcher=searcher,
        postings=PostingArrays(searcher, ranking, term_postings=term_postings),
        facets=facets,
        vocabulary=vocabulary,
        suggester=Suggester(titles, vocabulary.frequencies),
        info=store.build_info(path),
    )
    # The segment files stay open while the version is in use; they are closed when no
    # request and no service holds it any longer (a replaced version may still be
    # answering requests that started on it).
    weakref.finalize(version, _close, searcher)
    return version


class OneVersion(IndexStore):
    """The index root as if ``version`` were published and the only version: a build's new
    version is searched through it before it is published (the quality checks)."""

    def __init__(self, version: Path) -> None:
        super().__init__(version.parent)
        self.version = version

    def current(self) -> Path | None:
        return self.version

    def published(self) -> list[Path]:
        return [self.version]


class VersionKeeper:
    """Holds the version being served and the one served before it, which stands in when
    the current one fails."""

    def __init__(
        self,
        store: IndexStore,
        open_: Callable[[Path], Version],
        refresh_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self._open = open_
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._reopen_lock = threading.Lock()
        # Versions that failed to open or to answer, and when (``RETRY_SECONDS``).
        self._failed: dict[str, float] = {}
        # The version served before the current one: it stands in if the current one fails.
        self._previous: Version | None = None
        self._version = self._open_first()
        self._checked_at = clock()

    def _open_first(self) -> Version:
        """The published version, or when it cannot be opened the newest earlier one that
        can (the problem logged); ``IndexUnavailable`` when there is none."""
        current = self.store.current()
        if current is None:
            raise IndexUnavailable(
                f"no index published in {self.store.root}: run 'blmk-index build' first"
            )
        earlier = [v for v in reversed(self.store.published()) if v.name != current.name]
        for path in [current, *earlier]:
            try:
                return self._open(path)
            except Exception:
                log.exception("cannot open index version %s", path.name)
                self._failed[path.name] = self.clock()
        raise IndexUnavailable(
            f"the published index version {current.name} in {self.store.root} cannot be read, "
            "and no earlier version can stand in: rebuild it with 'blmk-index build'"
        )

    def current(self) -> Version:
        """The version to answer a request from, reopened if a build has published another."""
        now = self.clock()
        if now - self._checked_at < self.refresh_seconds:
            return self._version
        if not self._reopen_lock.acquire(blocking=False):
            return self._version  # another request is already reopening
        try:
            self._checked_at = now
            try:
                published = self.store.current()
            except OSError:  # the index folder cannot be read just now: keep what is open
                log.exception("cannot tell which version is published; %s", self._version.name)
                published = None
            if (
                published is not None
                and published.name != self._version.name
                and now - self._failed.get(published.name, -RETRY_SECONDS) >= RETRY_SECONDS
            ):
                try:
                    opened = self._open(published)
                except Exception:  # a damaged version must not take the live search down
                    self._failed[published.name] = now
                    log.exception(
                        "cannot open index version %s; still serving %s",
                        published.name,
                        self._version.name,
                    )
                else:
                    self._previous, self._version = self._version, opened
                    self._failed.pop(published.name, None)
                    self._previous.release_caches()
        finally:
            self._reopen_lock.release()
        return self._version

    def _set_aside(self, version: Version) -> Version:
        """After ``version`` failed to read its own files: the version to answer from instead
        (the one served before it), or ``IndexUnavailable`` when there is none."""
        log.exception("index version %s is damaged", version.name)
        with self._reopen_lock:
            self._failed[version.name] = self.clock()
            if self._version is version:
                if self._previous is None or self._previous is version:
                    raise IndexUnavailable(
                        f"the index version {version.name} is damaged and no earlier version "
                        "is open to stand in: rebuild the index with 'blmk-index build'"
                    )
                self._version, self._previous = self._previous, None
                log.warning("serving %s in place of %s", self._version.name, version.name)
            return self._version

    def close(self) -> None:
        """Closes the open versions' files now, not when they are collected: for a keeper of
        one version whose folder is about to be deleted. Nothing can be read afterwards."""
        for version in (self._version, self._previous):
            if version is not None:
                _close(version.searcher)

    def answer_from(self, read: Callable[[Version], T]) -> T:
        """``read`` on the version being served; on a damaged one, once more on the version
        that stands in for it; when that fails too, ``IndexUnavailable``."""
        version = self.current()
        try:
            return read(version)
        except INDEX_DAMAGE:
            stand_in = self._set_aside(version)
        try:
            return read(stand_in)
        except INDEX_DAMAGE as error:
            with suppress(IndexUnavailable):
                self._set_aside(stand_in)
            raise IndexUnavailable(
                f"the index versions {version.name} and {stand_in.name} are damaged: rebuild "
                "the index with 'blmk-index build'"
            ) from error


def _close(searcher: Searcher) -> None:
    with suppress(ReaderClosed):  # closed already, by whoever broke it
        searcher.close()
