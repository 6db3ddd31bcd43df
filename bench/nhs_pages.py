"""Real NHS pages as an unfamiliar website: rendered into HTML, mixed with foreign news.

``../shared/data/nhs-pages`` holds 85 pages' clean text (title, date, kind, main text) with 100
judged queries. To test the whole pipeline, not only the ranking, each page is rendered into
HTML in one of two CMS-like templates that share nothing with the sample site's own: a menu, a
cookie banner, a breadcrumb, share links, a "latest news" block carrying six *other* pages'
headlines and teasers, and a footer. The 88 real news pages of ``article-extraction/`` are added
as distractors, as they were published. The files are laid out by host and URL path, as a copy
of the sites would be, so that nothing in the folders tells the indexer what a page is.

The reference engine reads the same pages' clean text: the judged text for the NHS pages, the
marked article body (and the page's ``<title>``) for the distractors.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

Kind = Literal["known-item", "topic"]
# Headlines and teasers of other pages in each page's "latest news" block.
LATEST_NEWS = 6
TEASER_WORDS = 24


@dataclass(frozen=True, slots=True)
class Page:
    """A page with its clean text: an NHS page, or a distractor from another site."""

    doc_id: str
    url: str
    title: str
    text: str
    kind: str = "page"
    published: date | None = None

    @property
    def corpus_path(self) -> str:
        """Where the page's HTML is written: host, then the URL's path."""
        parts = urlsplit(self.url)
        path = re.sub(r"[^\w./-]+", "-", parts.path.strip("/")) or "index"
        name = path if path.endswith((".html", ".htm")) else f"{path}.html"
        return f"{parts.hostname}/{name}"


@dataclass(frozen=True, slots=True)
class JudgedQuery:
    qid: str
    query: str
    kind: Kind
    relevant: frozenset[str]

    @property
    def number(self) -> int:
        return int(self.qid.lstrip("d"))

    @property
    def half(self) -> str:
        """Odd-numbered queries tune the ranking; even-numbered ones only check it."""
        return "odd" if self.number % 2 else "even"


@dataclass(frozen=True, slots=True)
class Collection:
    pages: list[Page]
    distractors: list[Page]
    queries: list[JudgedQuery]
    # Raw HTML of each distractor, by doc_id.
    distractor_html: dict[str, bytes]

    @property
    def everything(self) -> list[Page]:
        return [*self.pages, *self.distractors]


def load_pages(data: Path) -> list[Page]:
    """Only the NHS pages, for a test of their extraction that needs neither the queries nor
    the distractors; ``data`` as for ``load_collection``."""
    return [
        Page(
            doc_id=item["id"],
            url=item["url"],
            title=item["title"],
            text=item["text"],
            kind=item["kind"],
            published=date.fromisoformat(item["date"]) if item["date"] else None,
        )
        for item in _json_lines(data / "nhs-pages" / "pages.jsonl")
    ]


def load_collection(data: Path) -> Collection:
    """``data`` is the shared data folder (holding ``nhs-pages`` and ``article-extraction``)."""
    pages = load_pages(data)
    queries = [
        JudgedQuery(
            qid=item["qid"],
            query=item["query"],
            kind=item["kind"],
            relevant=frozenset(item["relevant"]),
        )
        for item in _json_lines(data / "nhs-pages" / "queries.jsonl")
    ]
    articles = data / "article-extraction"
    truth = json.loads((articles / "ground-truth.json").read_text(encoding="utf-8"))
    distractors, raw = [], {}
    for page_id, item in sorted(truth.items()):
        markup = gzip.decompress((articles / "html" / f"{page_id}.html.gz").read_bytes())
        title_tag = BeautifulSoup(markup, "lxml").title
        doc_id = f"other-{page_id[:12]}"
        distractors.append(
            Page(
                doc_id=doc_id,
                url=item["url"] or f"https://news.example/{page_id}",
                title=title_tag.get_text(" ", strip=True) if title_tag else "",
                text=item["articleBody"],
                kind="news",
            )
        )
        raw[doc_id] = markup
    return Collection(pages=pages, distractors=distractors, queries=queries, distractor_html=raw)


def _json_lines(path: Path) -> Iterator[dict]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


# --- rendering ------------------------------------------------------------------------------

MENU = ("Home", "About us", "Your health", "Our services", "Get involved", "News", "Contact us")
COOKIE_TEXT = (
    "We use necessary cookies to make this website work. We would also like to set optional "
    "analytics cookies to help us improve it. We will not set optional cookies unless you "
    "accept them."
)
SHARE_LABELS = ("Share on Facebook", "Share on X", "Share on LinkedIn", "Share by email")
FOOTER_LINKS = (
    "Accessibility statement",
    "Privacy notice",
    "Cookie settings",
    "Freedom of information requests",
    "Modern slavery statement",
)


def footer_text(host: str) -> str:
    return (
        f"{host} is published by the local NHS. Registered office: Unit 4, Riverside Business "
        "Park. All content is available under the Open Government Licence v3.0, except where "
        "otherwise stated."
    )


def teaser(page: Page) -> str:
    words = page.text.split()
    return " ".join(words[:TEASER_WORDS]) + ("…" if len(words) > TEASER_WORDS else "")


def others_for(page: Page, pages: list[Page]) -> list[Page]:
    """Six other pages, chosen by a hash of the page's id so each page has its own six."""
    seed = int(hashlib.sha256(page.doc_id.encode()).hexdigest(), 16)
    candidates = [p for p in pages if p.doc_id != page.doc_id]
    return random.Random(seed).sample(candidates, min(LATEST_NEWS, len(candidates)))


def paragraphs_html(text: str) -> str:
    """Each line a paragraph; a short line without closing punctuation reads as a heading."""
    blocks = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        escaped = html.escape(line)
        if len(line) <= 70 and not line.endswith((".", ",", ";", ":")) and " " in line:
            blocks.append(f"<h2>{escaped}</h2>")
        elif line.startswith(("•", "- ")):
            blocks.append(f"<ul><li>{html.escape(line.lstrip('•- '))}</li></ul>")
        else:
            blocks.append(f"<p>{escaped}</p>")
    return "\n".join(blocks)


def _date_words(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def render_modern(page: Page, others: list[Page]) -> str:
    """Template A: HTML5 landmarks, Open Graph metadata, a card grid of latest news."""
    host = urlsplit(page.url).hostname or ""
    title = html.escape(page.title)
    menu = "".join(f'<li><a href="/{m.lower().replace(" ", "-")}">{m}</a></li>' for m in MENU)
    cards = "".join(
        f'<li class="card"><h3 class="card__title"><a href="{html.escape(o.url)}">'
        f'{html.escape(o.title)}</a></h3><p class="card__text">{html.escape(teaser(o))}</p></li>'
        for o in others
    )
    share = "".join(f'<li><a href="#share">{label}</a></li>' for label in SHARE_LABELS)
    footer = "".join(f'<li><a href="/{f.lower()}">{f}</a></li>' for f in FOOTER_LINKS)
    meta_date = (
        f'<meta property="article:published_time" content="{page.published.isoformat()}">'
        if page.published
        else ""
    )
    shown_date = (
        f'<p class="page-meta">Published {_date_words(page.published)}</p>'
        if page.published
        else ""
    )
    og_type = "article" if page.kind == "news" else "website"
    first_sentence = html.escape(page.text.split("\n")[0][:200])
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{title} | {html.escape(host)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{first_sentence}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="{og_type}">
<link rel="canonical" href="{html.escape(page.url)}">
{meta_date}
</head>
<body>
<div class="cookie-consent" role="dialog" aria-label="Cookies on this website">
<h2>Cookies on this website</h2><p>{COOKIE_TEXT}</p>
<button>Accept analytics cookies</button> <button>Reject analytics cookies</button>
</div>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header"><a class="logo" href="/">{html.escape(host)}</a>
<nav class="primary-nav" aria-label="Main menu"><ul>{menu}</ul></nav>
<form class="site-search" action="/search"><input name="q" aria-label="Search"></form>
</header>
<nav class="breadcrumbs" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>
<li><a href="/{page.kind}s">{page.kind.capitalize()}s</a></li><li>{title}</li></ol></nav>
<main id="main">
<article class="content">
<h1>{title}</h1>
{shown_date}
{paragraphs_html(page.text)}
</article>
<div class="share-this"><p>Share this page</p><ul>{share}</ul></div>
<section class="latest-news"><h2>Latest news</h2><ul class="cards">{cards}</ul>
<a href="/news">View all news</a></section>
</main>
<footer class="site-footer"><ul>{footer}</ul><p>{html.escape(footer_text(host))}</p></footer>
</body>
</html>
"""


def render_legacy(page: Page, others: list[Page]) -> str:
    """Template B: an older CMS's nested divs with ids, a sidebar, no Open Graph."""
    host = urlsplit(page.url).hostname or ""
    title = html.escape(page.title)
    menu = " | ".join(f'<a href="/page/{i}">{m}</a>' for i, m in enumerate(MENU))
    items = "".join(
        f'<div class="views-row"><div class="views-field-title"><a href="{html.escape(o.url)}">'
        f'{html.escape(o.title)}</a></div><div class="views-field-body">'
        f"{html.escape(teaser(o))}</div></div>"
        for o in others
    )
    share = " ".join(f'<a class="addthis_button" href="#">{label}</a>' for label in SHARE_LABELS)
    footer = " &middot; ".join(f'<a href="/page/{f.lower()}">{f}</a>' for f in FOOTER_LINKS)
    shown_date = (
        f'<div class="submitted"><time datetime="{page.published.isoformat()}">'
        f"{page.published:%d/%m/%Y}</time></div>"
        if page.published
        else ""
    )
    return f"""<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{title} - {html.escape(host)}</title>
</head>
<body class="page">
<div id="cookie-notice"><p>{COOKIE_TEXT}</p><a href="#">Accept</a> <a href="#">Settings</a></div>
<div id="page-wrapper">
<div id="header"><div id="site-name">{html.escape(host)}</div>
<div id="navigation"><div class="menu">{menu}</div></div></div>
<div id="breadcrumb"><a href="/">Home</a> &gt; <a href="/section">{page.kind.capitalize()}</a>
 &gt; {title}</div>
<div id="main-wrapper">
<div id="content" class="column">
<h1 class="page-title">{title}</h1>
{shown_date}
<div class="field-body">
{paragraphs_html(page.text)}
</div>
<div class="addthis_toolbox">{share}</div>
</div>
<div id="sidebar-second" class="column sidebar">
<div class="block block-views"><h2>Latest news</h2>{items}
<div class="more-link"><a href="/news">More news</a></div></div>
</div>
</div>
<div id="footer"><div class="footer-links">{footer}</div>
<div class="footer-message">{html.escape(footer_text(host))}</div></div>
</div>
</body>
</html>
"""


TEMPLATES = (render_modern, render_legacy)


def template_for(page: Page) -> int:
    return int(hashlib.sha256(page.doc_id.encode()).hexdigest(), 16) % len(TEMPLATES)


def render(page: Page, pages: list[Page]) -> str:
    return TEMPLATES[template_for(page)](page, others_for(page, pages))


def furniture(page: Page, pages: list[Page]) -> list[str]:
    """Texts that the page's template adds and that its main text must not contain."""
    host = urlsplit(page.url).hostname or ""
    return [
        COOKIE_TEXT,
        *SHARE_LABELS,
        *FOOTER_LINKS,
        footer_text(host),
        "Skip to main content",
        *(teaser(other) for other in others_for(page, pages)),
        *(other.title for other in others_for(page, pages)),
    ]


def write_site(collection: Collection, corpus: Path) -> dict[str, str]:
    """Writes every page as HTML under ``corpus``; returns corpus path → page id."""
    ids: dict[str, str] = {}
    for page in collection.pages:
        path = corpus / page.corpus_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(page, collection.pages), encoding="utf-8")
        ids[page.corpus_path] = page.doc_id
    for page in collection.distractors:
        relative = f"other-sites/{page.doc_id}.html"
        path = corpus / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(collection.distractor_html[page.doc_id])
        ids[relative] = page.doc_id
    return ids


def available(data: Path) -> bool:
    """Whether the shared data holds both folders this collection is made of."""
    return (data / "nhs-pages" / "queries.jsonl").is_file() and (
        data / "article-extraction" / "ground-truth.json"
    ).is_file()
