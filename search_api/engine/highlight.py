"""Snippets: a short passage of a hit with the query's words marked, and a PDF's best pages.

Only the hits on the page shown are highlighted, each from a bounded excerpt of its text
around its first match. Highlighting re-analyses the text it marks, so instead of running the
whole analyser over every excerpt, each distinct word is analysed once (and remembered across
searches): a word is marked when one of its indexed forms is a term of the query.

The output is HTML: every character of the text escaped, matched words in ``<mark>``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from whoosh.query import Every, MultiTerm, Query

from indexer import SCHEMA, TEXT_FIELDS, shorten
from search_api.engine.pdf_pages import PageRanker, page_url
from search_api.engine.postings import PostingArrays

SNIPPET_CHARS = 240
# Text shown before the first match of a snippet's window.
LEAD_CHARS = 60
EXCERPT_CHARS = 480
_ANALYZER = SCHEMA["body"].analyzer
_WORD = r"\w+(?:['’.&/\-]\w+)*"
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=200_000)
def indexed_forms(word: str) -> frozenset[str]:
    """The terms the index holds for one written word ("Vaccinations" -> {"vaccin"})."""
    return frozenset(token.text for token in _ANALYZER(word))


def query_terms(query: Query, postings: PostingArrays) -> frozenset[str]:
    """The text-field terms a query can match; a prefix or wildcard stands for the same
    (capped) terms it was searched with."""
    # Not query.existing_terms(): it stops at the first field it meets (its loop variable
    # shadows its field argument), so body words went unmarked when the title matched.
    terms: set[str] = set()
    for leaf in query.leaves():
        if isinstance(leaf, Every):  # "*" matches everything and marks nothing
            continue
        if isinstance(leaf, MultiTerm):
            texts = postings.expansion(leaf) if leaf.field() in TEXT_FIELDS else []
        else:
            reader = postings.reader
            texts = [t for f, t in leaf.expanded_terms(reader, phrases=True) if f in TEXT_FIELDS]
        terms.update(text.decode() if isinstance(text, bytes) else str(text) for text in texts)
    return frozenset(terms)


@dataclass(slots=True, frozen=True)
class _Window:
    start: int
    end: int


class Highlighter:
    """Marks one query's terms in any document's stored text."""

    def __init__(self, terms: frozenset[str], typed: str) -> None:
        self.terms = terms
        # Where a body's matches begin: the indexed forms, then the words as typed.
        typed_words = {word.lower() for word in re.findall(r"\w{2,}", typed)}
        self.needles = sorted(terms) + sorted(typed_words)
        self._ranker: PageRanker | None = None  # built for the first paginated hit
        # Only words starting as a term does can match it: the analyser keeps a word's first
        # letter, but for British spellings such as "oedema" (indexed as "edema").
        initials = {term[0] for term in terms if term}
        if "e" in initials:
            initials.add("o")
        letters = "".join(sorted(re.escape(letter) for letter in initials))
        starts = f"(?=[{letters}])" if letters else "(?!)"
        self._candidates = re.compile(rf"(?<!\w){starts}{_WORD}", re.IGNORECASE)

    def snippet(self, fields: dict[str, Any]) -> str:
        """The best passage of the body (or else the summary) with the matches marked."""
        for text in (excerpt(fields.get("body", ""), self.needles), fields.get("summary", "")):
            if text and (marked := self.mark(text)):
                return marked
        return ""

    def pages(self, fields: dict[str, Any]) -> list[dict[str, Any]]:
        """A paginated document's best-matching pages, each with its snippet and deep link."""
        if not fields.get("page_count"):
            return []
        return [
            {
                "number": page.number,
                "snippet": self.mark(excerpt(page.text, self.needles))
                or html.escape(shorten(page.text, SNIPPET_CHARS), quote=False),
                "url": page_url(fields.get("url", ""), page.number),
            }
            for page in self.ranker().best(fields.get("body", ""))
        ]

    def ranker(self) -> PageRanker:
        if self._ranker is None:
            self._ranker = PageRanker(self.terms)
        return self._ranker

    def mark(self, text: str) -> str:
        """A window of ``text`` holding the most distinct matched terms, marked; "" when
        nothing in it matches."""
        text = _SPACES.sub(" ", text)
        found = [
            (m.start(), m.end(), forms)
            for m in self._candidates.finditer(text)
            if (forms := indexed_forms(m.group().lower()) & self.terms)
        ]
        if not found:
            return ""
        window = self._best_window(text, found)
        pieces: list[str] = []
        at = window.start
        for start, end, _ in found:
            if start < window.start or end > window.end:
                continue
            pieces += [html.escape(text[at:start], quote=False), "<mark>"]
            pieces += [html.escape(text[start:end], quote=False), "</mark>"]
            at = end
        pieces.append(html.escape(text[at : window.end], quote=False))
        return "".join(pieces).strip()

    @staticmethod
    def _best_window(text: str, found: list[tuple[int, int, frozenset[str]]]) -> _Window:
        best, best_distinct = None, -1
        for start, _, _ in found:
            begin = max(0, start - LEAD_CHARS)
            finish = begin + SNIPPET_CHARS
            inside = (forms for s, e, forms in found if s >= begin and e <= finish)
            distinct = len(frozenset().union(*inside))
            if distinct > best_distinct:
                best, best_distinct = begin, distinct
        assert best is not None
        return _Window(*_word_bounds(text, best, best + SNIPPET_CHARS))


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """``start`` and ``end`` moved inwards so that no word is cut in two."""
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start, end)
        start = space + 1 if space >= 0 else start
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, min(end, len(text))


def excerpt(text: str, needles: list[str]) -> str:
    """A window of a (possibly very long) text around its first match."""
    lower = text.lower()
    found = [at for needle in needles if (at := lower.find(needle)) >= 0]
    start = max(0, min(found) - EXCERPT_CHARS // 4) if found else 0
    return text[start : start + EXCERPT_CHARS]
