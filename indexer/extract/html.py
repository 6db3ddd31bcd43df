"""Reads a news or standing page the way a person does: its metadata, and its main text
without the site furniture around it.

A page is mostly furniture (menus, cookie notice, breadcrumb, share links, the "Latest news and
highlights" teasers, footer). Indexed, it would make every page match every popular query, so
only the main text is kept: from the element a site profile names when the page is one of the
site's own templates, else from the generic extractor, which needs no selectors at all.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import date

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, Tag, UnicodeDammit

from indexer.errors import EmptyFile, UnsupportedFile
from indexer.extract.html_metadata import Crumb, read_metadata
from indexer.extract.main_text import element_text, generic_main_text
from indexer.extract.profile import SiteProfile
from indexer.text import clean_inline, shorten

MIN_MAIN_TEXT = 80
# The generic extractor's parser (libxml2) drops whatever is nested deeper than this.
MAX_READ_DEPTH = 256
_HTML_MARKUP = re.compile(
    r"<\s*(!doctype\s+html|html|head|body|title|meta|p|div|main|article|section|h[1-6]|table)\b",
    re.I,
)


@dataclass(slots=True, kw_only=True)
class HtmlContent:
    title: str
    body: str
    summary: str
    date: date | None = None
    canonical_url: str | None = None
    topics: list[str] = field(default_factory=list)
    breadcrumb: list[Crumb] = field(default_factory=list)
    is_article: bool = False
    language: str | None = None
    # "profile" when a site profile found the main text, "generic" otherwise.
    read_by: str = "generic"


def decode_html(data: bytes) -> str:
    """Text from bytes whatever their encoding: a BOM, a declared charset, else a good guess
    (UTF-8, then windows-1252, which old CMS pages use without saying so)."""
    dammit = UnicodeDammit(data, is_html=True)
    if dammit.unicode_markup is None:
        raise UnsupportedFile("not HTML: the file's text could not be decoded")
    return dammit.unicode_markup


def looks_like_html(markup: str) -> bool:
    """Whether text holds HTML markup at all (a text file saved as .html does not)."""
    return _HTML_MARKUP.search(markup[:65536]) is not None


def parse_html(markup: str) -> BeautifulSoup:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        return BeautifulSoup(markup, "lxml")


def extract_html(data: bytes, profile: SiteProfile | None = None) -> HtmlContent:
    markup = decode_html(data)
    if not markup.strip():
        raise EmptyFile("empty: the file holds no text")
    if not looks_like_html(markup):
        raise UnsupportedFile("not HTML: the file has an HTML name but holds no HTML markup")
    soup = parse_html(markup)
    meta = read_metadata(soup)
    body, read_by = "", "generic"
    if profile and (element := profile.main_element(soup)) is not None:
        body, read_by = element_text(element), "profile"
    if len(body) < MIN_MAIN_TEXT:
        body, read_by = generic_main_text(markup), "generic"
    body = _without_leading_headline(body, meta.title)
    if len(body) < MIN_MAIN_TEXT:
        if _nested_deeper_than(soup, MAX_READ_DEPTH):
            raise EmptyFile(
                f"no main content: the page's elements are nested more than {MAX_READ_DEPTH} "
                "deep, and the text below that depth cannot be read (unclosed tags?)"
            )
        raise EmptyFile("no main content: the page has no article text to index")
    return HtmlContent(
        title=meta.title or shorten(body, 80),
        body=body,
        summary=clean_inline(meta.description or _first_paragraph(body)),
        date=meta.date,
        canonical_url=meta.canonical_url,
        topics=meta.topics,
        breadcrumb=meta.breadcrumb,
        is_article=meta.is_article,
        language=meta.language,
        read_by=read_by,
    )


def _nested_deeper_than(soup: BeautifulSoup, limit: int) -> bool:
    """Whether any element sits more than ``limit`` elements deep (walked without recursion:
    the depth is what is in question)."""
    level: list[Tag] = [soup]
    depth = 0
    while level:
        if depth > limit:
            return True
        level = [child for tag in level for child in tag.children if isinstance(child, Tag)]
        depth += 1
    return False


def _without_leading_headline(body: str, title: str) -> str:
    """The body without the headline repeated as its first paragraph (it is the title)."""
    first, _, rest = body.partition("\n\n")
    return rest if title and first == title else body


def _first_paragraph(body: str) -> str:
    """The opening paragraph, passing over short lines such as a date or a byline."""
    paragraphs = body.split("\n\n")
    return shorten(next((p for p in paragraphs if len(p) >= 60), paragraphs[0]))
