"""Query-time synonyms and acronyms from an editable file (``config/synonyms.txt``).

Applied when a query is read, never when documents are indexed, so editing the file changes
the next search without a rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.analysis import plain_words, stem_word

Key = tuple[str, ...]


def phrase_key(text: str) -> Key:
    """What a phrase is matched by: its words lower-cased and stemmed, stop words kept (so
    "a and e" is still three words)."""
    return tuple(stem_word(word) for word in plain_words(text))


@dataclass(slots=True)
class Thesaurus:
    # For each entry's key, every entry of every group it belongs to, as written.
    alternatives: dict[Key, tuple[str, ...]] = field(default_factory=dict)
    longest: int = 0

    @classmethod
    def parse(cls, text: str) -> Thesaurus:
        thesaurus = cls()
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            entries = [entry.strip() for entry in line.split(",") if entry.strip()]
            if len(entries) < 2:
                raise ValueError(f"line {number}: a group needs at least two entries")
            for entry in entries:
                key = phrase_key(entry)
                if not key:
                    raise ValueError(f"line {number}: {entry!r} has no words")
                known = thesaurus.alternatives.get(key, ())
                thesaurus.alternatives[key] = tuple(dict.fromkeys([*known, *entries]))
                thesaurus.longest = max(thesaurus.longest, len(key))
        return thesaurus

    def find(self, words: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        """Where groups occur in a run of typed words: (start, end, alternatives), longest
        match first, not overlapping."""
        keys = [phrase_key(word) for word in words]
        found, start = [], 0
        while start < len(words):
            for end in range(min(len(words), start + self.longest), start, -1):
                key = tuple(part for k in keys[start:end] for part in k)
                if key and (alternatives := self.alternatives.get(key)):
                    found.append((start, end, alternatives))
                    start = end
                    break
            else:
                start += 1
        return found
