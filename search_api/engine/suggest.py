"""Suggestions as people type: titles and frequent words from the index that complete what has
been typed so far, found by binary search in sorted lists built once per index version.

Every keystroke asks, so the work per request is bounded: a prefix's range of the sorted lists
is scanned once, and the answers for recent prefixes are kept (they recur: everyone typing
"waiting list" first types "w", "wa", "wai"). Staff can keep words and phrases out of
suggestions with ``config/suggest-stoplist.txt`` (one per line), read again when it changes;
it is applied after the cache, so a change shows at once.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable

import numpy as np
from cachetools import LRUCache

from indexer import folded_words

MAX_SUGGESTIONS = 8
MAX_TITLES = 4
# A word must occur in this many documents to be offered as a completion.
MIN_DOCUMENTS = 2
# Completions remembered per index version.
CACHED_PREFIXES = 20_000
# Titles (the shortest) read for the phrases that complete several words: "the p" may match
# thousands of titles on a large site, and a few thousand show the common phrases well.
MAX_PHRASE_TITLES = 2_000


class Suggester:
    def __init__(self, titles: Iterable[str], frequencies: dict[str, int]) -> None:
        self.frequencies = frequencies
        self.words = sorted(
            word
            for word, documents in frequencies.items()
            if documents >= MIN_DOCUMENTS and len(word) > 2 and word.isalpha()
        )
        # Shortest titles first, so a scan meets the best title completions first.
        self.titles = sorted(set(titles), key=lambda title: (len(title), title))
        # Each title's words; one string object per distinct word (100,000 titles hold
        # under a million words but only tens of thousands of different ones).
        shared: dict[str, str] = {}
        self.title_words = [
            [shared.setdefault(word, word) for word in folded_words(title)] for title in self.titles
        ]
        # Every (word, title position) pair, sorted, as two parallel sequences: prefix
        # ranges are found by bisecting the words.
        pairs = sorted(
            (word, position)
            for position, words in enumerate(self.title_words)
            for word in set(words)
        )
        self.index_words = [word for word, _ in pairs]
        self.index_titles = np.fromiter((position for _, position in pairs), np.int32, len(pairs))
        self._cache: LRUCache[tuple[str, ...], list[str]] = LRUCache(CACHED_PREFIXES)
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Drops the completions worked out so far."""
        with self._lock:
            self._cache.clear()

    def suggest(self, typed: str, stoplist: frozenset[str] = frozenset()) -> list[str]:
        words = folded_words(typed)
        if not words:
            return []
        key = tuple(words)
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            head, last = words[:-1], words[-1]
            titles = self._titles_with(head, last).tolist()
            found = [*(self.titles[p] for p in titles[:MAX_TITLES])]
            found += self._phrases(head, last, titles)
            found = list(dict.fromkeys(found))
            with self._lock:
                self._cache[key] = found
        allowed = [s for s in found if not _stopped(s, stoplist) and s.lower() != typed]
        return allowed[:MAX_SUGGESTIONS]

    def _titles_with(self, head: list[str], last: str) -> np.ndarray:
        """Titles (positions, shortest first) holding every word of ``head`` and a word that
        starts with ``last``: one mark per title for each word, over the pairs' ranges."""
        words = self.index_words
        start = bisect_left(words, last)
        ranges = [(start, bisect_left(words, last + "\uffff", lo=start))]
        ranges += [(bisect_left(words, w), bisect_right(words, w)) for w in set(head)]
        wanted = np.ones(len(self.titles), bool)
        for lo, hi in ranges:
            if lo == hi:
                return np.empty(0, np.int32)
            marked = np.zeros(len(self.titles), bool)
            marked[self.index_titles[lo:hi]] = True
            wanted &= marked
        return np.flatnonzero(wanted)

    def _phrases(self, head: list[str], last: str, titles: list[int]) -> list[str]:
        if not head:  # a word: the commonest words starting so
            start = bisect_left(self.words, last)
            end = bisect_left(self.words, last + "\uffff", lo=start)
            common = heapq.nlargest(
                MAX_SUGGESTIONS, self.words[start:end], key=lambda w: self.frequencies[w]
            )
            return common
        # "green p" -> "green plan", not "green people": only phrases that titles use, the
        # commonest first.
        size = len(head)
        phrases: Counter[str] = Counter()
        for position in titles[:MAX_PHRASE_TITLES]:
            words = self.title_words[position]
            for i in range(len(words) - size):
                if words[i : i + size] == head and words[i + size].startswith(last):
                    phrases[" ".join(words[i : i + size + 1])] += 1
        return [phrase for phrase, _ in phrases.most_common(MAX_SUGGESTIONS)]


def _stopped(suggestion: str, stoplist: frozenset[str]) -> bool:
    normalised = " ".join(folded_words(suggestion))
    return normalised in stoplist or any(word in stoplist for word in normalised.split())
