"""Typo tolerance: words the index has never seen, matched to the nearest words it has.

The vocabulary is every word of the indexed text as written, with the number of documents it
occurs in, read once per index version from the file the build wrote beside the index
(``indexer.vocabulary``). Candidates are found by edit distance (rapidfuzz, compiled, scans a
large vocabulary in milliseconds); the caller chooses among them with the rest of the query
as context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from indexer import WordCounts, spelling_analyzer

# Words shorter than this are never corrected: too many real words are one letter away.
MIN_CORRECTABLE = 4
# Longer words may be further from the word meant.
TWO_EDITS_FROM = 6
CANDIDATES = 8

_ANALYZER = spelling_analyzer()


def max_edits(word: str) -> int:
    return 2 if len(word) >= TWO_EDITS_FROM else 1


@dataclass(frozen=True, slots=True)
class Candidate:
    word: str
    edits: int
    documents: int


class SpellingVocabulary:
    def __init__(self, frequencies: dict[str, int]) -> None:
        self.frequencies = frequencies
        self._words = list(frequencies)

    @classmethod
    def of_version(cls, version: Path) -> SpellingVocabulary:
        """The vocabulary the build wrote beside the index; empty (no corrections) without it."""
        counts = WordCounts.load(version)
        return cls(dict(counts.counts) if counts else {})

    def unknown(self, word: str) -> bool:
        """True when ``word`` is a word worth correcting that no indexed document contains.

        Stop words, numbers, codes and very short words never count as unknown.
        """
        terms = [token.text for token in _ANALYZER(word)]
        if not terms or not self.frequencies:
            return False
        return any(
            term not in self.frequencies and len(term) >= MIN_CORRECTABLE and term.isalpha()
            for term in terms
        )

    def candidates(self, word: str) -> list[Candidate]:
        """Indexed words within the allowed edit distance, nearest and commonest first."""
        word = word.lower()
        found = process.extract(
            word,
            self._words,
            scorer=Levenshtein.distance,
            score_cutoff=max_edits(word),
            limit=CANDIDATES * 4,
        )
        candidates = [
            Candidate(choice, int(edits), self.frequencies[choice]) for choice, edits, _ in found
        ]
        candidates.sort(key=lambda c: (c.edits, -c.documents, c.word))
        return candidates[:CANDIDATES]
