"""What a web page says about itself: title, date, summary, canonical URL, breadcrumb, topics,
language. Read from the whole page before any furniture is removed, each with a fallback order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag

from indexer.dates import find_written_date, parse_iso_date
from indexer.text import clean_inline

_TITLE_SEPARATORS = re.compile(r"\s+[|–—-]\s+|\s+::\s+")
# Containers whose dates belong to other pages (teasers, related links) or to no page at all.
_ELSEWHERE_TAGS = frozenset({"nav", "aside", "footer", "script", "style", "noscript", "template"})
_ELSEWHERE_MARKS = re.compile(
    r"(^|[-_ ])(latest|related|teasers?|promo|sidebar|more-news|recommended|trending|"
    r"popular|breadcrumbs?|cookie|share)([-_ ]|$)",
    re.I,
)
# How much text next to the headline may hold its date: after it, then before it.
_AFTER_HEADLINE_CHARS = 300
_BEFORE_HEADLINE_CHARS = 120


@dataclass(frozen=True, slots=True)
class Crumb:
    label: str
    href: str | None = None


@dataclass(slots=True, kw_only=True)
class PageMetadata:
    title: str = ""
    date: date | None = None
    description: str | None = None
    canonical_url: str | None = None
    breadcrumb: list[Crumb] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    language: str | None = None
    is_article: bool = False


class MetaTags:
    """A page's ``<meta>`` tags by name and property, read in one pass over the page."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.values: dict[str, list[str]] = {}
        for tag in soup.find_all("meta"):
            key = tag.get("property") or tag.get("name") or tag.get("itemprop")
            content = clean_inline(str(tag.get("content", "")))
            if key and content:
                self.values.setdefault(str(key).lower(), []).append(content)

    def first(self, *names: str) -> str | None:
        """The first non-empty content among ``names``, in the order given."""
        for name in names:
            if found := self.values.get(name.lower()):
                return found[0]
        return None

    def all(self, name: str) -> list[str]:
        return self.values.get(name.lower(), [])


def read_metadata(soup: BeautifulSoup) -> PageMetadata:
    meta = MetaTags(soup)
    published = machine_readable_date(soup, meta) or date_near_headline(soup)
    return PageMetadata(
        title=headline(soup, meta),
        date=published,
        description=meta.first("description", "og:description"),
        canonical_url=canonical_url(soup, meta),
        breadcrumb=breadcrumb(soup),
        topics=declared_topics(meta),
        language=declared_language(soup, meta),
        is_article=meta.first("og:type") == "article" or published is not None,
    )


def headline(soup: BeautifulSoup, meta: MetaTags) -> str:
    """The article's <h1>, else og:title, else <title> without the site-name suffix."""
    h1 = soup.find("h1")
    if isinstance(h1, Tag) and (text := clean_inline(h1.get_text(" "))):
        return text
    if og_title := meta.first("og:title"):
        return og_title
    if soup.title and (text := clean_inline(soup.title.get_text(" "))):
        return _TITLE_SEPARATORS.split(text)[0]
    return ""


def machine_readable_date(soup: BeautifulSoup, meta: MetaTags) -> date | None:
    """Publication date from metadata (meta tags, then JSON-LD): never a teaser's date."""
    declared = meta.first(
        "article:published_time", "datePublished", "dcterms.date", "DC.date", "date"
    )
    if found := parse_iso_date(declared):
        return found
    for item in _json_ld_items(soup):
        if isinstance(value := item.get("datePublished"), str) and (found := parse_iso_date(value)):
            return found
    return None


def date_near_headline(soup: BeautifulSoup) -> date | None:
    """A <time> or a date written in words just after the headline (or just before it),
    skipping anything inside teaser lists, sidebars and other furniture."""
    h1 = soup.find("h1")
    if not isinstance(h1, Tag):
        return None
    for nodes, budget in (
        (h1.next_elements, _AFTER_HEADLINE_CHARS),
        (h1.previous_elements, _BEFORE_HEADLINE_CHARS),
    ):
        if found := _first_date(nodes, budget):
            return found
    return None


def _first_date(nodes: Iterator[PageElement], budget: int) -> date | None:
    read = 0
    for node in nodes:
        if isinstance(node, Tag):
            if node.name == "time" and not _elsewhere(node):
                found = parse_iso_date(str(node.get("datetime", "")))
                if found := found or find_written_date(node.get_text(" ")):
                    return found
            continue
        if type(node) is not NavigableString or _elsewhere(node):
            continue
        text = clean_inline(str(node))
        if found := find_written_date(text):
            return found
        read += len(text)
        if read > budget:
            break
    return None


def _elsewhere(node: PageElement) -> bool:
    for parent in node.parents:
        if parent.name in _ELSEWHERE_TAGS:
            return True
        classes = [str(c) for c in parent.get_attribute_list("class") if c]
        marks = " ".join([*classes, str(parent.get("id", ""))])
        if marks.strip() and _ELSEWHERE_MARKS.search(marks):
            return True
    return False


def canonical_url(soup: BeautifulSoup, meta: MetaTags) -> str | None:
    link = soup.find("link", rel="canonical")
    href = str(link.get("href", "")).strip() if isinstance(link, Tag) else ""
    if href.startswith(("http://", "https://")):
        return href
    og_url = meta.first("og:url")
    return og_url if og_url and og_url.startswith(("http://", "https://")) else None


def breadcrumb(soup: BeautifulSoup) -> list[Crumb]:
    """The trail from the home page to this page, from markup or from JSON-LD."""
    trail = soup.find(attrs={"aria-label": re.compile(r"^breadcrumbs?$", re.I)}) or soup.find(  # type: ignore[call-overload]
        class_=re.compile(r"(^|[-_])breadcrumbs?($|[-_])", re.I)
    )
    if isinstance(trail, Tag):
        crumbs = _crumbs_from_markup(trail)
        if crumbs:
            return crumbs
    for item in _json_ld_items(soup):
        if item.get("@type") == "BreadcrumbList" and isinstance(item.get("itemListElement"), list):
            return [
                Crumb(clean_inline(str(entry.get("name", ""))), entry.get("item"))
                for entry in item["itemListElement"]
                if isinstance(entry, dict) and entry.get("name")
            ]
    return []


def _crumbs_from_markup(trail: Tag) -> list[Crumb]:
    items = trail.find_all("li")
    if items:
        crumbs = []
        for item in items:
            link = item.find("a")
            href = str(link.get("href")) if isinstance(link, Tag) and link.get("href") else None
            crumbs.append(Crumb(clean_inline(item.get_text(" ")), href))
        return [crumb for crumb in crumbs if crumb.label]
    # A flat trail: links separated by » or >, the current page as plain text at the end.
    crumbs = [
        Crumb(clean_inline(a.get_text(" ")), str(a["href"]) if a.get("href") else None)
        for a in trail.find_all("a")
    ]
    last = trail.contents[-1] if trail.contents else None
    if isinstance(last, NavigableString):
        label = clean_inline(str(last)).strip("»>›/| ")
        if label:
            crumbs.append(Crumb(label))
    return [crumb for crumb in crumbs if crumb.label]


def declared_topics(meta: MetaTags) -> list[str]:
    topics = list(meta.all("article:tag"))
    if keywords := meta.first("keywords"):
        topics.extend(clean_inline(word) for word in keywords.split(","))
    return list(dict.fromkeys(t for t in topics if t))


def declared_language(soup: BeautifulSoup, meta: MetaTags) -> str | None:
    """The page's language tag: <html lang>, else a Content-Language or og:locale meta."""
    html = soup.find("html")
    lang = str(html.get("lang") or html.get("xml:lang") or "") if isinstance(html, Tag) else ""
    if not lang.strip():
        equiv = soup.find("meta", attrs={"http-equiv": re.compile("^content-language$", re.I)})
        lang = str(equiv.get("content", "")) if isinstance(equiv, Tag) else ""
    if not lang.strip():
        lang = (meta.first("og:locale") or "").replace("_", "-")
    lang = lang.split(",")[0].strip()
    return lang if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", lang) else None


def _json_ld_items(soup: BeautifulSoup) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD blocks, nested ones (@graph) included."""
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            stack = [json.loads(script.get_text())]
        except ValueError:
            continue
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                yield item
                stack.extend(reversed(list(item.values())))
            elif isinstance(item, list):
                stack.extend(reversed(item))
