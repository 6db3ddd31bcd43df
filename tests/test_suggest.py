"""Suggestions against a plain reading of what they promise: the shortest titles holding the
typed words (the last one as a prefix), then the commonest words or title phrases that
complete what was typed."""

from __future__ import annotations

from collections import Counter
from random import Random

import pytest

from indexer.analysis import folded_words
from search_api.engine.suggest import MAX_SUGGESTIONS, MAX_TITLES, MIN_DOCUMENTS, Suggester

WORDS = [
    "green",
    "plan",
    "people",
    "pharmacy",
    "pharmacist",
    "mental",
    "health",
    "help",
    "waiting",
    "list",
    "lists",
    "care",
]


def titles(count: int) -> list[str]:
    rng = Random(5)
    return [" ".join(rng.choices(WORDS, k=rng.randint(2, 6))).capitalize() for _ in range(count)]


def expected(all_titles: list[str], frequencies: dict[str, int], typed: str) -> list[str]:
    *head, last = folded_words(typed)
    ordered = sorted(set(all_titles), key=lambda t: (len(t), t))
    holding = [
        t
        for t in ordered
        if set(head) <= set(folded_words(t)) and any(w.startswith(last) for w in folded_words(t))
    ]
    found = holding[:MAX_TITLES]
    if not head:
        words = [
            w
            for w, n in frequencies.items()
            if n >= MIN_DOCUMENTS and len(w) > 2 and w.isalpha() and w.startswith(last)
        ]
        found += sorted(words, key=lambda w: (-frequencies[w], w))[:MAX_SUGGESTIONS]
    else:
        phrases: Counter[str] = Counter()
        for title in holding:
            words = folded_words(title)
            for i in range(len(words) - len(head)):
                if words[i : i + len(head)] == head and words[i + len(head)].startswith(last):
                    phrases[" ".join(words[i : i + len(head) + 1])] += 1
        found += [p for p, _ in phrases.most_common(MAX_SUGGESTIONS)]
    return [s for s in dict.fromkeys(found) if s.lower() != typed][:MAX_SUGGESTIONS]


@pytest.mark.parametrize(
    "typed", ["g", "p", "pharm", "green p", "mental h", "waiting list", "care he", "zebra", "x y"]
)
def test_suggestions_are_what_a_plain_reading_gives(typed: str) -> None:
    listed = titles(600)
    frequencies = Counter(w for t in listed for w in set(folded_words(t)))
    suggester = Suggester(listed, dict(frequencies))
    assert suggester.suggest(typed) == expected(listed, frequencies, typed)
