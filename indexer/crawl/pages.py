"""What the crawler needs from an HTML page: where its links lead, which URL it says is its
own, and whether its owner lets it be indexed or its links followed.

The page's text is not read here: a fetched page is saved and then goes through the same
extractor as a page on disk (``indexer.extract``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from indexer.crawl.urls import normalise
from indexer.errors import UnsupportedFile
from indexer.extract import sniff
from indexer.extract.html import decode_html

# Directives of X-Robots-Tag that take a value after a colon, so that "unavailable_after: ..."
# is not read as rules for a crawler named "unavailable_after".
_VALUED_DIRECTIVES = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)
_AGENT_PREFIX = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*:\s*(.*)", re.S)
_SEPARATORS = re.compile(r"[,\s]+")


@dataclass(slots=True, kw_only=True)
class PageLinks:
    # Normalised absolute http(s) URLs of <a href> and <area href>, in document order,
    # de-duplicated; rel="nofollow" links left out.
    links: list[str] = field(default_factory=list)
    canonical: str | None = None  # <link rel="canonical" href>, normalised absolute
    noindex: bool = False  # <meta name="robots"|name=token content="noindex"> (or "none")
    nofollow: bool = False  # the same metas with "nofollow" (or "none"): links is then []


def read_page(data: bytes, url: str, token: str) -> PageLinks:
    """Links and robots metas of the page at ``url``; never raises for what the bytes hold:
    broken markup gives what a browser would make of it, binary data an empty PageLinks."""
    root = _parse(data)
    if root is None:
        return PageLinks()
    base = _base_url(root, url)
    noindex = nofollow = False
    canonical = None
    for element in root.iter("meta", "link"):
        if element.tag == "meta":
            name = (element.get("name") or "").strip().lower()
            if name in ("robots", token.lower()):
                no_index, no_follow = _directives(element.get("content") or "")
                noindex, nofollow = noindex or no_index, nofollow or no_follow
        elif canonical is None and "canonical" in _rel(element) and element.get("href"):
            canonical = normalise(element.get("href") or "", base)
    links = [] if nofollow else _links(root, base)
    return PageLinks(links=links, canonical=canonical, noindex=noindex, nofollow=nofollow)


def header_directives(values: list[str], token: str) -> tuple[bool, bool]:
    """(noindex, nofollow) from X-Robots-Tag header values: each line is a comma-separated
    list, and a "name:" prefix makes the directives after it apply to that crawler alone."""
    token = token.lower()
    noindex = nofollow = False
    for value in values:
        agent: str | None = None  # a new header line applies to every crawler again
        for part in value.split(","):
            directive = part.strip().lower()
            prefix = _AGENT_PREFIX.fullmatch(directive)
            if prefix and prefix.group(1) not in _VALUED_DIRECTIVES:
                agent, directive = prefix.group(1), prefix.group(2).strip()
            if agent is not None and agent != token:
                continue
            no_index, no_follow = _directives(directive)
            noindex, nofollow = noindex or no_index, nofollow or no_follow
    return noindex, nofollow


def _parse(data: bytes) -> lxml.html.HtmlElement | None:
    """The document's tree, or None for bytes that are no page at all. Decoded first with
    the extractor's own rules, then handed to libxml2 as UTF-8 so that it cannot guess
    differently from a <meta charset>."""
    if not data.strip() or sniff(data) != "text":
        return None
    try:
        markup = decode_html(data)
        parser = lxml.html.HTMLParser(encoding="utf-8")
        return lxml.html.document_fromstring(markup.encode("utf-8", "replace"), parser=parser)
    except (UnsupportedFile, etree.ParserError, ValueError):
        return None


def _base_url(root: lxml.html.HtmlElement, url: str) -> str:
    """The first <base href> (itself relative to the page) when it is an http(s) URL."""
    for base in root.iter("base"):
        href = base.get("href")
        if href is not None:
            return normalise(href, url) or url
    return url


def _links(root: lxml.html.HtmlElement, base: str) -> list[str]:
    seen: dict[str, None] = {}
    for element in root.iter("a", "area"):
        href = element.get("href")
        if href is None or "nofollow" in _rel(element):
            continue
        target = normalise(href, base)
        if target is not None:
            seen.setdefault(target, None)
    return list(seen)


def _rel(element: lxml.html.HtmlElement) -> set[str]:
    return set((element.get("rel") or "").lower().split())


def _directives(content: str) -> tuple[bool, bool]:
    words = set(_SEPARATORS.split(content.strip().lower()))
    return bool(words & {"noindex", "none"}), bool(words & {"nofollow", "none"})
