"""The main text of a page: the article a person reads, without the site around it.

Two readers: ``element_text`` for an element a site profile has already picked out, and
``generic_main_text`` for markup we have never seen. The generic one is trafilatura, chosen by
measurement: on the 88 real news pages of the article-extraction benchmark it scored F1 0.969
(favouring precision, comments left out), against 0.775 for the class-name heuristics this
project used before and 0.68 for the whole page's text (``bench/extraction.py``).
"""

from __future__ import annotations

import logging

import trafilatura
from bs4 import Tag

from indexer.text import join_paragraphs

# Elements whose text is one paragraph; an element holding other blocks is not read whole.
BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dt", "dd", "td", "th")

# trafilatura logs each page it finds too short at INFO or DEBUG; a build reports that itself.
logging.getLogger("trafilatura").setLevel(logging.WARNING)


def element_text(element: Tag) -> str:
    """Block-level text in reading order, one paragraph per block."""
    paragraphs = [
        block.get_text(" ") for block in element.find_all(BLOCKS) if not block.find(BLOCKS)
    ]
    if not paragraphs:
        paragraphs = element.get_text("\n").split("\n")
    return join_paragraphs(paragraphs)


def generic_main_text(markup: str) -> str:
    """Main text found by trafilatura's layout analysis; paragraphs one per line there."""
    text = trafilatura.extract(
        markup,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        output_format="txt",
    )
    return join_paragraphs((text or "").split("\n"))
