"""Reads a news or standing page: its metadata and its main text, without the site furniture.

A page is mostly furniture (menus, cookie notice, breadcrumb, share links, the "Latest news and
highlights" teasers, footer). Indexing it would make every page match every popular query, so
it is removed before the main text is read. Metadata is read first, from the whole page, each
field with a fallback order.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from datetime import date

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, Tag

from indexer.dates import find_written_date, parse_iso_date
from indexer.errors import EmptyFile
from indexer.text import clean_inline, join_paragraphs, shorten

# Elements that never hold article text.
_NEVER_CONTENT = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "button",
    "select",
    "input",
    "dialog",
)
# class or id words that mark furniture in typical CMS templates.
_FURNITURE = re.compile(
    r"(^|[-_ ])(cookie|consent|breadcrumbs?|share|sharing|social|latest|related|teasers?|"
    r"promo|newsletter|skip|menu|sidebar|banner|site-header|site-footer|masthead|"
    r"pagination|view-all|back-link)([-_ ]|$)",
    re.I,
)
_BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dt", "dd", "td", "th")
_TITLE_SEPARATORS = re.compile(r"\s+[|–—-]\s+|\s+::\s+")
_MIN_MAIN_TEXT = 80


@dataclass(slots=True, kw_only=True)
class HtmlContent:
    title: str
    body: str
    summary: str
    date: date | None = None
    canonical_url: str | None = None
    topics: list[str] = field(default_factory=list)
    is_article: bool = False
    language: str | None = None


def parse_html(data: bytes) -> BeautifulSoup:
    """Parses bytes whatever their encoding: a BOM, a declared charset, or a good guess."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        return BeautifulSoup(data, "html.parser")


def extract_html(data: bytes) -> HtmlContent:
    soup = parse_html(data)
    published = _published_date(soup)
    title = _title(soup)
    for element in soup.find_all(_NEVER_CONTENT):
        element.decompose()
    for element in _furniture(soup):
        if not element.decomposed:  # it may sit inside furniture removed before it
            element.decompose()
    main = _main_container(soup)
    published = published or _visible_date(soup, main)
    body = _main_text(main)
    if len(body) < _MIN_MAIN_TEXT:
        raise EmptyFile("no main content: the page has no article text to index")
    summary = _meta(soup, "description", "og:description") or _first_paragraph(body)
    return HtmlContent(
        title=title or shorten(body, 80),
        body=body,
        summary=clean_inline(summary),
        date=published,
        canonical_url=_canonical_url(soup),
        topics=_topics(soup),
        is_article=_meta(soup, "og:type") == "article" or published is not None,
        language=_language(soup),
    )


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if isinstance(tag, Tag) and (content := clean_inline(str(tag.get("content", "")))):
            return content
    return None


def _title(soup: BeautifulSoup) -> str:
    """The headline, else og:title, else <title> without the site-name suffix."""
    h1 = soup.find("h1")
    if isinstance(h1, Tag) and (text := clean_inline(h1.get_text(" "))):
        return text
    if og_title := _meta(soup, "og:title"):
        return og_title
    if soup.title and (text := clean_inline(soup.title.get_text(" "))):
        return _TITLE_SEPARATORS.split(text)[0]
    return ""


def _published_date(soup: BeautifulSoup) -> date | None:
    """Machine-readable dates first: they cannot be confused with a teaser's date."""
    meta = _meta(soup, "article:published_time", "datePublished", "dcterms.date", "date")
    if found := parse_iso_date(meta):
        return found
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        if found := _json_ld_date(script.get_text()):
            return found
    return None


def _json_ld_date(text: str) -> date | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("datePublished"), str):
                return parse_iso_date(item["datePublished"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _visible_date(soup: BeautifulSoup, main: Tag) -> date | None:
    """A <time> or a written date in the article or beside its headline (furniture is gone)."""
    h1 = soup.find("h1")
    places = [main] + ([h1.parent] if isinstance(h1, Tag) and isinstance(h1.parent, Tag) else [])
    for place in places:
        for time_tag in place.find_all("time"):
            if found := parse_iso_date(str(time_tag.get("datetime", ""))) or find_written_date(
                time_tag.get_text(" ")
            ):
                return found
    for place in places:
        if found := find_written_date(place.get_text(" ")[:400]):
            return found
    return None


def _furniture(soup: BeautifulSoup) -> list[Tag]:
    found = []
    for element in soup.find_all(True):
        if not isinstance(element, Tag) or element.name in ("html", "body", "main", "article"):
            continue
        marks = " ".join([*element.get("class", []), str(element.get("id", ""))])
        role = str(element.get("role", ""))
        if _FURNITURE.search(marks) or role in ("navigation", "banner", "contentinfo"):
            found.append(element)
    return found


def _main_container(soup: BeautifulSoup) -> Tag:
    """The most specific element that marks itself as the main content, else <body>."""
    candidates = [
        soup.find("article"),
        soup.find(attrs={"role": "main"}),
        soup.find("main"),
        soup.find(id=re.compile(r"^(main-?)?content$", re.I)),
    ]
    for candidate in candidates:
        if isinstance(candidate, Tag) and len(candidate.get_text(strip=True)) >= _MIN_MAIN_TEXT:
            return candidate
    return soup.body or soup


def _main_text(main: Tag) -> str:
    """Block-level text in reading order, one paragraph per block, the headline left out."""
    for heading in main.find_all("h1"):
        heading.decompose()
    paragraphs = [
        block.get_text(" ") for block in main.find_all(_BLOCKS) if not block.find(_BLOCKS)
    ]
    if not paragraphs:
        paragraphs = main.get_text("\n").split("\n")
    return join_paragraphs(paragraphs)


def _first_paragraph(body: str) -> str:
    """The opening paragraph, passing over short lines such as a date or a byline."""
    paragraphs = body.split("\n\n")
    return shorten(next((p for p in paragraphs if len(p) >= 60), paragraphs[0]))


def _canonical_url(soup: BeautifulSoup) -> str | None:
    link = soup.find("link", rel="canonical")
    href = str(link.get("href", "")).strip() if isinstance(link, Tag) else ""
    if href.startswith(("http://", "https://")):
        return href
    return _meta(soup, "og:url")


def _topics(soup: BeautifulSoup) -> list[str]:
    topics = [
        clean_inline(str(tag.get("content", "")))
        for tag in soup.find_all("meta", attrs={"property": "article:tag"})
    ]
    if keywords := _meta(soup, "keywords"):
        topics.extend(clean_inline(word) for word in keywords.split(","))
    return list(dict.fromkeys(t for t in topics if t))


def _language(soup: BeautifulSoup) -> str | None:
    html = soup.find("html")
    lang = str(html.get("lang", "")).strip() if isinstance(html, Tag) else ""
    return lang or None
