"""The main text of a page: the article a person reads, without the site around it.

Two readers: ``element_text`` for an element a site profile has already picked out, and
``generic_main_text`` for markup we have never seen. The generic one is trafilatura, chosen by
measurement: on the 88 real news pages of the article-extraction benchmark it scored F1 0.969
(favouring precision, comments left out), against 0.775 for the class-name heuristics this
project used before and 0.68 for the whole page's text (``bench/extraction.py``). It reads the
page after ``strip_furniture`` has taken out the blocks themes label as furniture: on the NHS
pages of ``tests/test_nhs_pages_extraction.py`` it otherwise took a "latest news" block for the
article of a page written as lists, and on the news pages that costs nothing.
"""

from __future__ import annotations

import logging

import trafilatura
from bs4 import Tag

from indexer.extract.furniture import strip_furniture
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
    # Parsed as trafilatura parses a string, so that only the furniture differs.
    tree = trafilatura.load_html(markup)
    if tree is None:
        return ""
    text = trafilatura.extract(
        strip_furniture(tree),
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        output_format="txt",
    )
    return join_paragraphs((text or "").split("\n"))
