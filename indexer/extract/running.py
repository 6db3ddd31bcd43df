"""Running headers and footers: lines repeated at the top or bottom of most pages of a PDF.

A report's title above every page or "Page 3 of 12" below it says nothing about the page, yet
it would make every page match a query for its words; so such lines are dropped. A line is
running when, with its digits ignored, it is among the first or last few lines of more than
half of the pages that have text. Only lines in those edge positions are dropped, and never
a page's only text (a deck whose every slide repeats one line keeps it).
"""

from __future__ import annotations

import re
from collections import Counter

# How many non-blank lines at each end of a page are looked at.
EDGE_LINES = 3
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _key(line: str) -> str:
    """A line as compared across pages: page numbers and case do not count."""
    return _SPACE.sub(" ", _DIGITS.sub("#", line.casefold())).strip()


def _edge_positions(lines: list[str]) -> set[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return set(filled[:EDGE_LINES] + filled[-EDGE_LINES:])


def running_lines(pages: list[str]) -> set[str]:
    """Keys of the lines that run along the edges of most pages with text."""
    with_text = [page for page in pages if page.strip()]
    if len(with_text) < 2:
        return set()
    counts: Counter[str] = Counter()
    for page in with_text:
        lines = page.splitlines()
        counts.update({_key(lines[i]) for i in _edge_positions(lines)} - {""})
    needed = len(with_text) // 2 + 1
    return {key for key, count in counts.items() if count >= needed}


def drop_running_lines(pages: list[str]) -> list[str]:
    """Each page's text without its running header and footer lines."""
    running = running_lines(pages)
    if not running:
        return pages
    return [_strip(page, running) for page in pages]


def _strip(page: str, running: set[str]) -> str:
    lines = page.splitlines()
    edges = _edge_positions(lines)
    kept = [line for i, line in enumerate(lines) if i not in edges or _key(line) not in running]
    text = "\n".join(kept).strip()
    return re.sub(r"\n\s*\n+", "\n\n", text) if text else page
