"""Query-time synonyms and acronyms from an editable file (``config/synonyms.txt``).

Applied when a query is read, never when documents are indexed, so editing the file changes
the next search without a rebuild. Two kinds of line:

    jab, vaccination, immunisation      a group: any entry also finds the others
    kids => children, young people      one way: "kids" also finds the right-hand entries,
                                        but "children" does not find "kids"

What is typed always counts more than what a synonym adds (``RankingSettings.synonym_weight``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer import folded_words, stem_word

Key = tuple[str, ...]


def phrase_key(text: str) -> Key:
    """What a phrase is matched by: its words lower-cased and stemmed, stop words kept (so
    "a and e" is still three words)."""
    return tuple(stem_word(word) for word in folded_words(text))


def _entries(text: str) -> list[str]:
    return [entry.strip() for entry in text.split(",") if entry.strip()]


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
            if "=>" in line:
                left, _, right = line.partition("=>")
                if "=>" in right:
                    raise ValueError(f"line {number}: a one-way line has one =>")
                typed, added = _entries(left), _entries(right)
                if not typed or not added:
                    raise ValueError(f"line {number}: a one-way line needs entries on both sides")
                for entry in added:
                    if not phrase_key(entry):
                        raise ValueError(f"line {number}: {entry!r} has no words")
                alternatives = [*typed, *added]
            else:
                typed = alternatives = _entries(line)
                if len(typed) < 2:
                    raise ValueError(f"line {number}: a group needs at least two entries")
            for entry in typed:
                thesaurus._add(number, entry, alternatives)
        return thesaurus

    def _add(self, number: int, entry: str, alternatives: list[str]) -> None:
        key = phrase_key(entry)
        if not key:
            raise ValueError(f"line {number}: {entry!r} has no words")
        known = self.alternatives.get(key, ())
        self.alternatives[key] = tuple(dict.fromkeys([*known, *alternatives]))
        self.longest = max(self.longest, len(key))

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
