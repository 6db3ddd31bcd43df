"""Which pages of a PDF answer a query: the hit names them, best first, with a deep link.

A PDF is one document in the index (facet counts and totals stay per document); its stored body
keeps page boundaries as ``PAGE_BREAK``. At result time the body is split back into pages and
each page is scored by the query's terms as the index analysed them: distinct terms matched
first, then how often they occur, then the earlier page.

Running the analyzer over a 60-page report costs tens of milliseconds per hit, so pages are
scanned with one regular expression for the words that can stem to a query term instead, and
only those words are stemmed. The Porter stemmer only rewrites a word's ending (at most its
last letter changes: "happy" -> "happi"), so a word whose stem is a term starts with all but
the term's last letter.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from indexer import PAGE_BREAK, canonical_spelling, stem_word

# Pages a hit lists at most.
MAX_PAGES = 3


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    """A word as the index's analyser ends it: one spelling, then stemmed."""
    return stem_word(canonical_spelling(word))


@dataclass(slots=True, frozen=True)
class PageMatch:
    number: int
    text: str


class PageRanker:
    """Ranks the pages of any paginated body against one query's indexed terms."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = frozenset(terms)
        prefixes = sorted({t[:-1] if len(t) > 3 else t for t in self.terms}, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, prefixes))
        self._candidates = re.compile(rf"\b(?:{alternatives})\w*(?:\.\w+)*") if prefixes else None

    def best(self, body: str, limit: int = MAX_PAGES) -> list[PageMatch]:
        """Up to ``limit`` pages where query terms occur, best first."""
        if self._candidates is None:
            return []
        scored = []
        for number, text in enumerate(body.split(PAGE_BREAK), start=1):
            found = self._terms_on(text)
            if found:
                scored.append((-len(found), -found.total(), number, text))
        scored.sort()
        return [PageMatch(number=number, text=text) for _, _, number, text in scored[:limit]]

    def _terms_on(self, text: str) -> Counter[str]:
        assert self._candidates is not None
        stems = (_stem(m.group()) for m in self._candidates.finditer(text.lower()))
        return Counter(s for s in stems if s in self.terms)


def page_url(url: str, number: int) -> str:
    """A link that opens the PDF at a page (the PDF open-parameters fragment)."""
    return f"{url.split('#', 1)[0]}#page={number}"
