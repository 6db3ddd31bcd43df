"""Suggestions as people type: titles and frequent words from the index that complete what has
been typed so far, found by binary search in sorted lists built once per index version.

Staff can keep words and phrases out of suggestions with ``config/suggest-stoplist.txt`` (one
per line), read again when it changes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from indexer.analysis import plain_words

MAX_SUGGESTIONS = 8
MAX_TITLES = 4
# A word must occur in this many documents to be offered as a completion.
MIN_DOCUMENTS = 2


def parse_stoplist(text: str) -> frozenset[str]:
    return frozenset(
        " ".join(plain_words(line))
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )


class Suggester:
    def __init__(self, titles: Iterable[str], frequencies: dict[str, int]) -> None:
        self.frequencies = frequencies
        self.words = sorted(
            word
            for word, documents in frequencies.items()
            if documents >= MIN_DOCUMENTS and len(word) > 2 and word.isalpha()
        )
        self.titles = sorted(set(titles))
        # Every title's words, to check that a multi-word completion is a phrase the site uses.
        self.title_text = "\n".join(" ".join(plain_words(title)) for title in self.titles)
        self.title_words = sorted(
            (word, position)
            for position, title in enumerate(self.titles)
            for word in set(plain_words(title))
        )

    def suggest(self, typed: str, stoplist: frozenset[str] = frozenset()) -> list[str]:
        words = plain_words(typed)
        if not words:
            return []
        head, last = words[:-1], words[-1]
        found = [*self._titles(head, last)[:MAX_TITLES], *self._phrases(head, last)]
        allowed = [
            s for s in dict.fromkeys(found) if not _stopped(s, stoplist) and s.lower() != typed
        ]
        return allowed[:MAX_SUGGESTIONS]

    def _titles(self, head: list[str], last: str) -> list[str]:
        start = bisect_left(self.title_words, (last, -1))
        matches = []
        for word, position in self.title_words[start:]:
            if not word.startswith(last):
                break
            title = self.titles[position]
            if set(head) <= set(plain_words(title)):
                matches.append(title)
        return sorted(set(matches), key=len)

    def _phrases(self, head: list[str], last: str) -> list[str]:
        start = bisect_left(self.words, last)
        completions = []
        for word in self.words[start:]:
            if not word.startswith(last):
                break
            completions.append(word)
        completions.sort(key=lambda word: -self.frequencies[word])
        phrases = [" ".join([*head, word]) for word in completions]
        if head:  # "green p" -> "green plan", not "green people": only phrases titles use
            phrases = [phrase for phrase in phrases if phrase in self.title_text]
        return phrases[:MAX_SUGGESTIONS]


def _stopped(suggestion: str, stoplist: frozenset[str]) -> bool:
    normalised = " ".join(plain_words(suggestion))
    return normalised in stoplist or any(word in stoplist for word in normalised.split())
