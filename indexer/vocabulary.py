"""The spelling vocabulary of an index version: every word of the indexed text as written,
with the number of documents it occurs in. Typo correction and suggestions pick from it.

It is kept in a file beside the index rather than as a field of it. As a field, its postings
were half of all postings written and about half of a build's writing time, yet only the
words and their document counts were ever read. An update adjusts the previous version's
counts: the words of documents taken out (read from their stored text) are counted down, those
of documents written are counted up.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from indexer.analysis import spelling_analyzer
from indexer.files import write_atomically

VOCABULARY = "vocabulary.json"
# The stored fields a document's words are read from, in the order they are indexed.
WORD_FIELDS = ("title", "summary", "body")

_ANALYZER = spelling_analyzer()


def document_words(texts: Iterable[str]) -> set[str]:
    """The distinct spelling words of a document's texts."""
    words: set[str] = _ANALYZER.distinct_terms("\n".join(texts))
    return words


class WordCounts:
    """Documents per word; a word no document holds any more is dropped."""

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts: Counter[str] = Counter(counts or {})

    def add(self, words: Iterable[str]) -> None:
        self.counts.update(words)

    def remove(self, words: Iterable[str]) -> None:
        counts = self.counts
        for word in words:
            left = counts.get(word, 0) - 1
            if left > 0:
                counts[word] = left
            else:
                counts.pop(word, None)

    def save(self, version: Path) -> None:
        """Written whole or not at all: an update starts from these counts."""
        write_atomically(
            version / VOCABULARY,
            json.dumps(dict(sorted(self.counts.items())), separators=(",", ":")),
        )

    @classmethod
    def load(cls, version: Path) -> WordCounts | None:
        """The version's counts; None when it has none or the file cannot be read."""
        try:
            data = json.loads((version / VOCABULARY).read_text(encoding="utf-8"))
            return cls({str(word): int(count) for word, count in data.items()})
        except (OSError, ValueError, TypeError, AttributeError):
            return None
