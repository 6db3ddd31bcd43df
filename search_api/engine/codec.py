"""A term's raw postings, for ``postings.py``: read from Whoosh's storage format where this
module knows it, through Whoosh's public API everywhere else.

``PostingArrays`` wants a term's whole posting list at once (document numbers and weights, as
arrays), and for a few documents the term's word positions. Whoosh's public matchers hand
postings out one Python call at a time. The ``whoosh3`` codec stores them in blocks of up to
128, and ``CodecPostings`` decodes a block whole, and finds a document's block by bisection
(the 20 commonest words of a 2,000-page site read in 58 ms, against 90 ms a posting at a time);
but it reads private attributes of ``whoosh.codec.whoosh3.W3LeafMatcher`` (``_read_ids``,
``_ids``, ``_goto``...) and of ``SegmentReader`` (``_terms``), which any other Whoosh release
may change without a word. So it reads an index only when the installed distribution and
version are the ones it was written against (``CODEC_DISTRIBUTION``, ``CODEC_VERSION``) and
every segment uses the codec it reads (``CODEC``); otherwise ``PublicPostings`` gives the same
documents, weights and positions through ``IndexReader.postings`` and the matcher methods
Whoosh documents (``is_active``, ``id``, ``weight``, ``value_as``, ``next``, ``skip_to``), and
one warning says why (``fallback_reason``).

This is the only module of the project that touches Whoosh's internals.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from abc import ABC, abstractmethod
from bisect import bisect_left
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import whoosh
from cachetools import LRUCache
from whoosh.reading import IndexReader, TermNotFound

# What the codec reader was written against: the distribution pinned in setup.cfg, and the
# codec its index writer uses.
CODEC_DISTRIBUTION = "whoosh3"
CODEC_VERSION = "3.54.0"
CODEC = "whoosh.codec.whoosh3.W3Codec"
# The reader names ``PostingArrays.reader_name`` and ``/health`` report.
CODEC_READER = "whoosh3-codec"
PUBLIC_READER = "public-api"
# Terms whose block lists, and postings blocks (up to 128 postings each), are kept for
# checking phrases.
CACHE_BLOCK_LISTS = 20_000
CACHE_BLOCKS = 8_192
DOC = np.int32
log = logging.getLogger(__name__)


class TermPostings(ABC):
    """A term's postings in one index version, read as ``PostingArrays`` needs them."""

    name: str

    @abstractmethod
    def read(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """The term's postings in every segment: index-wide document numbers (ascending, as
        ``DOC``) and weights (the counts times the field's boost). They may include deleted
        documents: the caller keeps the live ones."""

    @abstractmethod
    def positions(self, field: str, btext: bytes, docs: np.ndarray) -> list[list[int]]:
        """The term's word positions in each of ``docs`` (ascending, live, every one holding
        the term)."""

    @abstractmethod
    def clear(self) -> None:
        """Drops what has been decoded and kept."""


class PublicPostings(TermPostings):
    """Postings through Whoosh's public reader and matcher API: one call per posting, on any
    Whoosh that has ``IndexReader.postings`` (2.7 has)."""

    name = PUBLIC_READER

    def __init__(self, reader: IndexReader, reason: str | None = None) -> None:
        self.reader = reader
        # Why the codec reader is not used, for diagnosis.
        self.reason = reason

    def clear(self) -> None:
        pass  # nothing is kept

    def read(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        ids: list[int] = []
        weights: list[float] = []
        try:
            matcher = self.reader.postings(field, btext)
        except TermNotFound:
            return np.empty(0, DOC), np.empty(0, np.float64)
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return np.asarray(ids, DOC), np.asarray(weights, np.float64)

    def positions(self, field: str, btext: bytes, docs: np.ndarray) -> list[list[int]]:
        if not len(docs):
            return []
        matcher = self.reader.postings(field, btext)
        found: list[list[int]] = []
        for docnum in docs.tolist():
            matcher.skip_to(docnum)
            if not matcher.is_active() or matcher.id() != docnum:
                raise ValueError(f"{field}:{btext!r} is not in document {docnum}")
            found.append(list(matcher.value_as("positions")))
        return found


class CodecPostings(TermPostings):
    """Postings read block by block from the ``whoosh3`` codec's private structures. Use
    ``open_term_postings``, which checks that they are the ones this class reads."""

    name = CODEC_READER

    def __init__(self, reader: IndexReader) -> None:
        from whoosh.codec.whoosh3 import W3LeafMatcher

        self._block_matcher = W3LeafMatcher
        self.schema = reader.schema
        self.leaves = list(reader.leaf_readers())
        # A term stored some other way than in blocks (Whoosh can inline very short posting
        # lists in the term index) is read through the public API.
        self._public = PublicPostings(reader)
        # For phrase checks on a few documents: terms' block lists, and decoded blocks.
        self._block_lists: LRUCache[tuple, _BlockList | None] = LRUCache(CACHE_BLOCK_LISTS)
        self._blocks: LRUCache[tuple, tuple[list[int], list[bytes]]] = LRUCache(CACHE_BLOCKS)

    def clear(self) -> None:
        self._block_lists.clear()
        self._blocks.clear()

    def _raw_matcher(self, leaf: Any, field: str, btext: bytes) -> Any:
        """The segment's matcher over the term's postings, deleted documents included."""
        return leaf._terms.matcher(field, btext, self.schema[field].format)

    def read(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for leaf, offset in self.leaves:
            if (field, btext) not in leaf:
                continue
            matcher = self._raw_matcher(leaf, field, btext)
            if not isinstance(matcher, self._block_matcher):
                return self._public.read(field, btext)
            while matcher.is_active():
                matcher._read_ids()
                matcher._read_weights()
                ids.append(np.asarray(matcher._ids, DOC) + offset)
                weights.append(np.asarray(matcher._weights, np.float64))
                matcher._next_block()
        if not ids:
            return np.empty(0, DOC), np.empty(0, np.float64)
        return np.concatenate(ids), np.concatenate(weights)

    def positions(self, field: str, btext: bytes, docs: np.ndarray) -> list[list[int]]:
        decode = self.schema[field].format.decode_positions
        found: list[list[int]] = []
        for number, (leaf, offset) in enumerate(self.leaves):
            end = offset + leaf.doc_count_all()
            inside = docs[(docs >= offset) & (docs < end)] - offset
            if not len(inside) or (field, btext) not in leaf:
                continue
            blocks = self._block_list(number, field, btext)
            if blocks is None:
                return self._public.positions(field, btext, docs)
            for docnum in inside.tolist():
                which = bisect_left(blocks.max_ids, docnum)
                ids, values = self._block(blocks, (number, field, btext, which))
                found.append(decode(values[bisect_left(ids, docnum)]))
        return found

    def _block_list(self, leaf_number: int, field: str, btext: bytes) -> _BlockList | None:
        key = (leaf_number, field, btext)
        if key not in self._block_lists:
            matcher = self._raw_matcher(self.leaves[leaf_number][0], field, btext)
            blocks = _BlockList(matcher) if isinstance(matcher, self._block_matcher) else None
            self._block_lists[key] = blocks
            return blocks
        return self._block_lists[key]

    def _block(self, blocks: _BlockList, key: tuple) -> tuple[list[int], list[bytes]]:
        block = self._blocks.get(key)
        if block is None:
            block = blocks.read(key[-1])
            self._blocks[key] = block
        return block


class _BlockList:
    """Where each block of one term's postings (in one segment) starts, and its highest
    document number, read once from the block headers; then any block on demand.

    Whoosh's own ``skip_to`` steps through a block one posting at a time in Python; with this
    a document's block is found by bisection and its data decoded at most once while cached.
    """

    def __init__(self, matcher: Any) -> None:
        self.matcher = matcher
        self.starts: list[int] = []
        self.max_ids: list[int] = []
        position = matcher._baseoffset
        while matcher.is_active():
            self.starts.append(position)
            self.max_ids.append(matcher.block_max_id())
            position = matcher._nextoffset
            matcher._next_block()

    def read(self, number: int) -> tuple[list[int], list[bytes]]:
        matcher = self.matcher
        matcher._goto(self.starts[number])
        matcher._read_ids()
        matcher._read_values()
        return list(matcher._ids), matcher._values


def fallback_reason(distribution: str, version: str, codec: str) -> str | None:
    """Why the codec reader must not read an index whose segments use ``codec`` (a class's
    full name) under the Whoosh installed as ``distribution`` at ``version``; None when it
    may."""
    if _canonical(distribution) != CODEC_DISTRIBUTION or version != CODEC_VERSION:
        return (
            f"the installed Whoosh is {distribution} {version}, and the codec reader is "
            f"written against {CODEC_DISTRIBUTION} {CODEC_VERSION} only"
        )
    if codec != CODEC:
        return f"the index is written with {codec}, and the codec reader reads {CODEC} only"
    return None


def open_term_postings(
    reader: IndexReader,
    *,
    public_only: bool = False,
    installed: tuple[str, str] | None = None,
) -> TermPostings:
    """The reader of ``reader``'s postings: the codec reader when ``fallback_reason`` allows
    it for the installed Whoosh (``installed``: its distribution and version, found when not
    given) and every segment's codec, else the public-API one, with a warning saying why
    (once per reason: every build opens a new version). ``public_only`` asks for the public
    one whatever the check says (for tests and diagnosis)."""
    if public_only:
        return PublicPostings(reader, "asked for")
    distribution, version = installed or installed_whoosh()
    codecs = sorted({_class_name(leaf.codec()) for leaf, _ in reader.leaf_readers()})
    for codec in codecs:
        if (reason := fallback_reason(distribution, version, codec)) is not None:
            _warn_once(reason)
            return PublicPostings(reader, reason)
    return CodecPostings(reader)


@cache
def _warn_once(reason: str) -> None:
    log.warning("postings are read through Whoosh's public API (slower): %s", reason)


@cache
def installed_whoosh() -> tuple[str, str]:
    """The distribution that installed the ``whoosh`` package imported here, and its version
    (all installed distributions are looked through only when it is not the pinned one)."""
    imported = Path(whoosh.__file__).resolve()
    if found := _provider(CODEC_DISTRIBUTION, imported):
        return found
    for name in importlib.metadata.packages_distributions().get("whoosh", []):
        if found := _provider(name, imported):
            return found
    return "an unknown distribution", whoosh.versionstring()


def _provider(name: str, imported: Path) -> tuple[str, str] | None:
    """The name and version of distribution ``name`` if it installed ``imported``."""
    try:
        found = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in found.files or []:
        located = file.as_posix() == "whoosh/__init__.py" and found.locate_file(file)
        if located and Path(str(located)).resolve() == imported:
            return found.metadata["Name"], found.version
    return None


def _class_name(codec: object) -> str:
    kind = type(codec)
    return f"{kind.__module__}.{kind.__qualname__}"


def _canonical(distribution: str) -> str:
    """A distribution name as package installers compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()
