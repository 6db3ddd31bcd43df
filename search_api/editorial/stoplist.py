"""Queries never offered as suggestions, one per line, as editors keep them in
``config/suggest-stoplist.txt`` (``#`` starts a comment)."""

from __future__ import annotations

from indexer import folded_words


def parse_stoplist(text: str) -> frozenset[str]:
    """Each line's words as the suggester compares them (lower case, accents folded)."""
    return frozenset(
        " ".join(folded_words(line))
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
