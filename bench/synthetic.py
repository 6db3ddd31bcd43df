"""Synthetic BLMK sites of any size, and search traffic for them, so that benchmarks can
measure building and searching at scales the sample site cannot reach.

    python -m bench.synthetic --pages 10000 --pdfs 100 --out DIR [--seed 1]
    blmk-index build --corpus DIR --index IDX

The same seed and sizes always give byte-identical files (``random.Random`` only, seeded per
document, no clock, no hash order), so two runs of a benchmark read the same site.

- Text is English-like: a ranked vocabulary of about 20,500 words (everyday English and
  health-service words from ``synthetic_words.txt``, then made-up pronounceable words, shorter
  ones more frequent) drawn with Zipf frequencies (exponent 1.1), about 400 words a page in
  paragraphs of 40 to 120 words, in sentences with capitals and full stops. A page on a topic
  uses that topic's words more often, so topical searches rank as on the real site.
- Layout and markup are the site's: 70% news under ``news/YYYY-MM-DD-slug.html`` (dated 2019
  to 2026) in the 2024-on news template, 30% standing pages under ``pages/``, and PDFs under
  ``case-studies/<local|national>/<theme>/`` and ``documents/``, so the indexer's BLMK site
  profile and folder rules apply exactly as on the real corpus.
- ``query_sets()`` gives searches drawn from the same vocabulary: a Zipfian "popular" mix (a
  few hundred distinct queries repeated, as in real site-search logs) and distinct "unseen"
  ones, with about 5% carrying one typing mistake.

PDFs are written with fpdf2, from the ``dev`` extra (``pip install -e .[dev]``); without it
the HTML pages are still written and the PDFs are skipped with a note saying so.

Other benchmarks import ``generate_site`` and ``query_sets``.
"""

from __future__ import annotations

import argparse
import functools
import html
import itertools
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

try:  # the dev extra; only the PDFs need it
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
except ImportError:
    FPDF = None

WORDS_FILE = Path(__file__).with_name("synthetic_words.txt")
SITE = "https://www.blmkhealthandcarepartnership.org"
SITE_NAME = "BLMK Integrated Care System"
ZIPF_EXPONENT = 1.1
MADE_UP_WORDS = 20_000
NEWS_SHARE = 0.7
# Share of a topical page's words drawn from its topics' own words.
TOPIC_SHARE = 0.05
FIRST_DAY, LAST_DAY = date(2019, 1, 2), date(2026, 10, 30)
THEMES = ("resilient-communities", "care-alternatives", "working-in-partnership")
NO_FPDF = "PDFs skipped: fpdf2 is not installed (pip install -e .[dev])"
NOTICE = "Synthetic document generated for benchmarking the blmk-search site search."
MENU = (
    ("About us", "/about-us"),
    ("Our priorities", "/our-priorities"),
    ("News", "/news"),
    ("Green Plan", "/green-plan"),
    ("Get involved", "/get-involved"),
    ("Careers", "/careers"),
    ("Contact us", "/contact-us"),
)
FOOTER = (
    "Bedfordshire, Luton and Milton Keynes Integrated Care Board, Capability House, Wrest Park, "
    "Silsoe, Bedford MK45 4HR. Copyright NHS BLMK ICB."
)
AUTHORS = (
    "BLMK Integrated Care Board",
    "Bedfordshire Hospitals NHS Foundation Trust",
    "Milton Keynes University Hospital NHS Foundation Trust",
    "East London NHS Foundation Trust",
    "Bedford Borough Council",
    "Central Bedfordshire Council",
    "Luton Borough Council",
    "Milton Keynes City Council",
)
LOCAL_PLACES = ("Luton", "Bedford", "Milton Keynes", "Dunstable", "Leighton Buzzard", "Kempston")
NATIONAL_PLACES = ("Leeds", "Cornwall", "Bristol", "Sunderland", "Norfolk", "Greater Manchester")
# Made-up words are built from these, one syllable at a time.
_ONSETS = ("b", "br", "c", "ch", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m")
_ONSETS += ("n", "p", "pl", "pr", "r", "s", "sh", "sk", "sl", "sp", "st", "t", "th", "tr", "v")
_ONSETS += ("w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ee", "oo", "ou")
_CODAS = ("", "", "", "n", "r", "l", "s", "t", "m", "nd", "st", "ck", "ng", "rt", "ll", "x")
SHARE_LINKS = (
    '<div class="share-links"><p>Share this page</p><ul><li><a href="#">Facebook</a></li>'
    '<li><a href="#">X</a></li><li><a href="#">LinkedIn</a></li></ul></div>'
)


# --- vocabulary -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RankedWords:
    """Words in frequency order, with the cumulative Zipf weights ``Random.choices`` takes."""

    words: tuple[str, ...]
    cum_weights: tuple[float, ...]
    # The words worth searching for (all but everyday English), with their own weights.
    content: tuple[str, ...]
    content_cum_weights: tuple[float, ...]
    health: tuple[str, ...]
    topics: dict[str, tuple[str, ...]]
    # Every word in lower case: a misspelling must not be one of them.
    known: frozenset[str]


def read_word_lists(path: Path = WORDS_FILE) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The everyday words, the health words and each topic's words, in file order."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        else:
            current.append(line)
    topics = {}
    for line in sections["topics"]:
        name, _, words = line.partition(":")
        topics[name.strip()] = words.split()
    common = _unique(w for line in sections["common"] for w in line.split())
    health = _unique(w for line in sections["health"] for w in line.split())
    return common, health, topics


def _unique(words: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(words))


def made_up_words(rng: Random, count: int, taken: set[str]) -> list[str]:
    """Pronounceable non-words of one to four syllables, shortest first (short words are the
    frequent ones in every language), each different from the others and from ``taken``."""
    found: dict[str, None] = {}
    while len(found) < count:
        syllables = rng.choices((1, 2, 3, 4), weights=(2, 5, 4, 1))[0]
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        if 3 <= len(word) <= 14 and word not in taken and word not in found:
            found[word] = None
    return sorted(found, key=len)  # sorted() is stable: equal lengths keep drawing order


@functools.cache
def ranked_words(seed: int = 1) -> RankedWords:
    """The ranked vocabulary for a seed; the site's text and its queries share it."""
    common, health, topics = read_word_lists()
    rng = Random(f"vocabulary:{seed}")
    invented = made_up_words(rng, MADE_UP_WORDS, {w.lower() for w in common + health})
    # Everyday words lead, health words are spread over the first thousand ranks and the
    # invented words fill the rest: each list's words get a rank key, then all are merged.
    keyed = [(i * 0.8, 0, w) for i, w in enumerate(common)]
    keyed += [(15 + i * 4.0, 1, w) for i, w in enumerate(health)]
    keyed += [(60 + i * 1.0, 2, w) for i, w in enumerate(invented)]
    ranked = [w for _, _, w in sorted(keyed)]
    weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, len(ranked) + 1)]
    everyday = set(common)
    content = [(w, wt) for w, wt in zip(ranked, weights, strict=True) if w not in everyday]
    return RankedWords(  # tuples: one cached instance is shared by every caller
        words=tuple(ranked),
        cum_weights=tuple(itertools.accumulate(weights)),
        content=tuple(w for w, _ in content),
        content_cum_weights=tuple(itertools.accumulate(wt for _, wt in content)),
        health=tuple(health),
        topics={name: tuple(words) for name, words in topics.items()},
        known=frozenset(w.lower() for w in ranked),
    )


# --- text -------------------------------------------------------------------------------------


class Writer:
    """Draws words, sentences and paragraphs for one document from its own random stream."""

    def __init__(self, vocab: RankedWords, rng: Random, topics: list[str]) -> None:
        self.vocab = vocab
        self.rng = rng
        self.topic_words = [w for t in topics for w in vocab.topics.get(t, ())]

    def tokens(self, count: int) -> list[str]:
        rng, vocab = self.rng, self.vocab
        words = rng.choices(vocab.words, cum_weights=vocab.cum_weights, k=count)
        if self.topic_words:
            for _ in range(round(count * TOPIC_SHARE)):
                words[rng.randrange(count)] = rng.choice(self.topic_words)
        for i in range(1, count):  # "the the" reads as a mistake: draw a rarer word instead
            if words[i] == words[i - 1]:
                words[i] = vocab.words[rng.randrange(300, 3000)]
        return words

    def sentence(self, words: list[str]) -> str:
        words[0] = words[0][:1].upper() + words[0][1:]
        if len(words) > 10 and self.rng.random() < 0.5:
            at = self.rng.randrange(4, len(words) - 4)
            words[at] += ","
        return " ".join(words) + "."

    def paragraph(self, size: int) -> str:
        words = self.tokens(size)
        sentences, start = [], 0
        while start < size:
            length = self.rng.randint(6, 22)
            if size - start - length < 5:  # no stub sentence at the end
                length = size - start
            sentences.append(self.sentence(words[start : start + length]))
            start += length
        return " ".join(sentences)

    def paragraphs(self, total: int) -> list[str]:
        """Paragraphs of 40 to 120 words, about ``total`` words in all."""
        out, written = [], 0
        while written < total:
            size = self.rng.randint(40, 120)
            out.append(self.paragraph(size))
            written += size
        return out

    def phrase(self, low: int, high: int, topic_share: float = 0.4) -> str:
        """Headline words in sentence case: searchable words with the odd joining word."""
        rng, vocab = self.rng, self.vocab
        count = rng.randint(low, high)
        words = rng.choices(vocab.content, cum_weights=vocab.content_cum_weights, k=count)
        for i in range(count):
            if self.topic_words and rng.random() < topic_share:
                words[i] = rng.choice(self.topic_words)
        if count > 3 and rng.random() < 0.6:
            words.insert(rng.randrange(1, count - 1), rng.choice(("for", "in", "and", "to", "at")))
        words = list(dict.fromkeys(words))
        return words[0][:1].upper() + " ".join(words)[1:]

    def summary(self) -> str:
        return self.sentence(self.tokens(self.rng.randint(14, 30)))


def slugify(title: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words[:8])


def unique_slug(slug: str, taken: dict[str, None]) -> str:
    candidate, number = slug, 1
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    taken[candidate] = None
    return candidate


def weekday_between(rng: Random, first: date, last: date) -> date:
    """Staff publish on working days."""
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    return day - timedelta(days=max(0, day.weekday() - 4))


def pick_topics(rng: Random, topics: list[str], most: int = 3) -> list[str]:
    # Earlier topics in the list are more common, as on the real site.
    weights = [1 / rank for rank in range(1, len(topics) + 1)]
    chosen = rng.choices(topics, weights=weights, k=rng.randint(1, most))
    return list(dict.fromkeys(chosen))


# --- HTML -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Article:
    """What the site knows about a page before its body is written."""

    path: str
    slug: str
    title: str
    summary: str
    topics: list[str]
    published: date | None = None
    related: list[Article] = field(default_factory=list)


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def body_html(writer: Writer, words: int) -> str:
    """Paragraphs, with a subheading before some of them."""
    out = []
    for number, paragraph in enumerate(writer.paragraphs(words)):
        if number and writer.rng.random() < 0.25:
            out.append(f"<h2>{esc(writer.phrase(2, 5, 0.3))}</h2>")
        out.append(f"<p>{esc(paragraph)}</p>")
    return "\n".join(out)


def site_header() -> str:
    links = "".join(f'<li><a href="{href}">{esc(label)}</a></li>' for label, href in MENU)
    return (
        '<div class="cookie-banner" role="region" aria-label="Cookies"><p>We use cookies to '
        "make this website work and to understand how people use it.</p><button>Accept all "
        "cookies</button><button>Necessary cookies only</button></div>"
        '<a class="skip-link" href="#main-content">Skip to main content</a>'
        '<header class="site-header"><a href="/" class="site-header__logo">NHS Bedfordshire, '
        f'Luton and Milton Keynes</a><nav class="site-nav" aria-label="Main"><ul>{links}</ul>'
        '</nav><form class="site-search" action="/search"><label for="q">Search</label>'
        '<input id="q" name="q"><button>Search</button></form></header>'
    )


def site_footer() -> str:
    return (
        '<footer class="site-footer"><ul><li><a href="/accessibility">Accessibility statement'
        '</a></li><li><a href="/privacy">Privacy notice</a></li><li><a href="/contact-us">'
        f"Contact us</a></li></ul><p>{FOOTER}</p></footer>"
    )


def breadcrumb(title: str, *sections: tuple[str, str]) -> str:
    """Home, the sections above the page, then the page's own (escaped) title."""
    links = "".join(f'<li><a href="{href}">{esc(label)}</a></li>' for label, href in sections)
    return (
        f'<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>'
        f"{links}<li>{title}</li></ol></nav>"
    )


def teasers_html(others: list[Article]) -> str:
    items = "".join(
        f'<li class="teaser"><p class="teaser__type">News</p><p class="teaser__date">'
        f'{long_date(other.published)}</p><h3><a href="/news/{other.slug}">'
        f"{esc(clip(other.title, 60))}</a></h3><p>{esc(clip(other.summary, 150))}</p></li>"
        for other in others
        if other.published
    )
    return (
        '<section class="latest-news" aria-labelledby="latest"><h2 id="latest">Latest news '
        f'and highlights</h2><ul class="teasers">{items}</ul></section>'
    )


def news_html(article: Article, body: str) -> str:
    """The 2024-on news template: what the site profile's ``article .article-body`` reads."""
    published = article.published
    assert published is not None
    title, url = esc(article.title), f"{SITE}/news/{article.slug}"
    day = published.isoformat()
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "datePublished": day,
        "publisher": {"@type": "Organization", "name": "NHS BLMK Integrated Care Board"},
    }
    tags = "".join(f'<meta property="article:tag" content="{esc(t)}">\n' for t in article.topics)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - {SITE_NAME}</title>
<meta name="description" content="{esc(article.summary)}">
<meta name="keywords" content="{esc(", ".join(article.topics))}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<meta property="og:url" content="{url}">
<link rel="canonical" href="{url}">
<meta property="article:published_time" content="{day}T09:00:00+00:00">
{tags}<script type="application/ld+json">{json.dumps(ld)}</script>
</head>
<body>
{site_header()}
{breadcrumb(title, ("News", "/news"))}
<main id="main-content">
<article class="news-article">
<div class="article-header"><h1>{title}</h1>
<p class="article-date"><time datetime="{day}">{long_date(published)}</time></p></div>
{SHARE_LINKS}
<div class="article-body field--body">
{body}
</div>
</article>
<p><a class="view-all" href="/news">View all news</a></p>
{teasers_html(article.related)}
</main>
{site_footer()}
</body>
</html>
"""


def page_html(article: Article, body: str) -> str:
    """The standing-page template: what the site profile's ``main.page-content`` reads."""
    title = esc(article.title)
    section = "".join(
        f'<li><a href="/{other.slug}">{esc(other.title)}</a></li>' for other in article.related
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{title} | {SITE_NAME}</title>
<meta name="description" content="{esc(article.summary)}">
<meta name="keywords" content="{esc(", ".join(article.topics))}">
<meta property="og:type" content="website">
<link rel="canonical" href="{SITE}/{article.slug}">
</head>
<body>
{site_header()}
{breadcrumb(title)}
<div class="page-layout">
<main id="main-content" class="page-content">
<h1>{title}</h1>
{body}
</main>
<aside class="sidebar"><h2>In this section</h2><ul>{section}</ul></aside>
</div>
{site_footer()}
</body>
</html>
"""


def plan_html(vocab: RankedWords, seed: int, pages: int) -> tuple[list[Article], list[Article]]:
    """Titles, dates, topics and links of every news article and standing page."""
    rng = Random(f"html:{seed}")
    topics = list(vocab.topics)
    news_count = round(pages * NEWS_SHARE)
    news: list[Article] = []
    standing: list[Article] = []
    slugs: dict[str, None] = {}
    for number in range(pages):
        chosen = pick_topics(rng, topics)
        writer = Writer(vocab, rng, chosen)
        title = writer.phrase(4, 9)
        if number < news_count:
            day = weekday_between(rng, FIRST_DAY, LAST_DAY)
            slug = unique_slug(slugify(title), slugs)
            path = f"news/{day.isoformat()}-{slug}.html"
            news.append(Article(path, slug, title, writer.summary(), chosen, day))
        else:
            slug = unique_slug(slugify(title), slugs)
            standing.append(Article(f"pages/{slug}.html", slug, title, writer.summary(), chosen))
    # Each article lists the six published just before it; each page five of its neighbours.
    news.sort(key=lambda a: (a.published, a.slug))
    for i, article in enumerate(news):
        before = news[max(0, i - 6) : i][::-1]
        article.related = before + news[i + 1 : i + 1 + 6 - len(before)]
    for i, article in enumerate(standing):
        article.related = [standing[(i + k) % len(standing)] for k in range(1, 6)][
            : len(standing) - 1
        ]
    return news, standing


# --- PDF --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Report:
    path: str
    title: str
    summary: str
    author: str
    published: date
    topics: list[str]
    page_count: int


def plan_pdfs(vocab: RankedWords, seed: int, count: int) -> list[Report]:
    """Case studies (three in four) and other documents, with their metadata."""
    rng = Random(f"pdf:{seed}")
    topics = list(vocab.topics)
    reports, names = [], {}
    for _ in range(count):
        chosen = pick_topics(rng, topics, most=2)
        writer = Writer(vocab, rng, chosen)
        words = writer.phrase(2, 5)
        if rng.random() < 0.75:
            scope = "local" if rng.random() < 0.6 else "national"
            place = rng.choice(LOCAL_PLACES if scope == "local" else NATIONAL_PLACES)
            title = f"{place} {words[:1].lower()}{words[1:]} project: impact report"
            folder = f"case-studies/{scope}/{rng.choice(THEMES)}"
        else:
            kind = rng.choice(("Board paper", "Annual report", "Strategy", "Briefing"))
            title = f"{kind}: {words[:1].lower()}{words[1:]}"
            folder = "documents"
        name = unique_slug(slugify(title), names)
        reports.append(
            Report(
                path=f"{folder}/{name}.pdf",
                title=title,
                summary=writer.summary(),
                author=rng.choice(AUTHORS),
                published=weekday_between(rng, FIRST_DAY, LAST_DAY),
                topics=chosen,
                page_count=rng.randint(2, 12),
            )
        )
    return reports


def latin1(text: str) -> str:
    """Text the PDF core fonts can show."""
    return text.encode("latin-1", "replace").decode("latin-1")


class PdfText:
    """Writes left-aligned paragraphs line by line. fpdf2's own line breaking (``multi_cell``)
    measures each line again for every character added and took nine tenths of the time;
    here each word is measured once per font and the lines are broken at spaces."""

    def __init__(self) -> None:
        self.widths: dict[tuple[str, str, float, str], float] = {}

    def lines(self, pdf: FPDF, text: str) -> list[str]:
        font = (pdf.font_family, pdf.font_style, pdf.font_size_pt)
        space = self.width(pdf, font, " ")
        lines, line, used = [], [], 0.0
        for word in latin1(text).split():
            width = self.width(pdf, font, word)
            if line and used + space + width > pdf.epw:
                lines.append(" ".join(line))
                line, used = [], 0.0
            used += (space if line else 0.0) + width
            line.append(word)
        if line:
            lines.append(" ".join(line))
        return lines

    def width(self, pdf: FPDF, font: tuple[str, str, float], word: str) -> float:
        key = (*font, word)
        found = self.widths.get(key)
        if found is None:
            found = self.widths[key] = pdf.get_string_width(word)
        return found

    def write(self, pdf: FPDF, text: str, height: float) -> None:
        for line in self.lines(pdf, text):
            pdf.cell(0, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def report_pdf(report: Report, writer: Writer, text: PdfText) -> bytes:
    """An A4 report of exactly ``report.page_count`` pages: a running title at the top of
    each page after the first and a page footer, both of which the indexer drops. Each page
    holds less text than fits, so page breaks are the ones made here."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(20, 20, 20)
    pdf.set_title(report.title)
    pdf.set_author(report.author)
    pdf.set_subject(latin1(report.summary))
    pdf.set_keywords(", ".join(report.topics))
    pdf.set_creator("blmk-search bench/synthetic.py")
    day = report.published
    pdf.set_creation_date(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    for number in range(1, report.page_count + 1):
        pdf.add_page()
        if number == 1:
            pdf.set_font("helvetica", "B", 20)
            text.write(pdf, report.title, 10)
            pdf.set_font("helvetica", "", 11)
            text.write(pdf, f"{report.author}  |  {long_date(day)}", 6)
            pdf.ln(3)
            pdf.set_font("helvetica", "I", 11)
            text.write(pdf, report.summary, 6)
            pdf.set_font("helvetica", "", 8)
            text.write(pdf, NOTICE, 5)
            pdf.ln(3)
            budget = 180
        else:
            pdf.set_font("helvetica", "I", 8)
            pdf.cell(0, 6, latin1(clip(report.title, 90)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(4)
            budget = 330
        for paragraph in writer.paragraphs(budget):
            if writer.rng.random() < 0.3:
                pdf.set_font("helvetica", "B", 13)
                text.write(pdf, writer.phrase(2, 5, 0.3), 7)
            pdf.set_font("helvetica", "", 10.5)
            text.write(pdf, paragraph, 5.5)
            pdf.ln(2.5)
        pdf.set_y(-15)
        pdf.set_font("helvetica", "", 8)
        footer = f"{report.author}  |  Page {number} of {report.page_count}"
        pdf.cell(0, 6, latin1(footer), align="C")
    return bytes(pdf.output())


# --- the site ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteStats:
    news: int
    pages: int
    pdfs: int
    pdf_pages: int
    total_bytes: int
    seconds: float
    # Anything left out, and why (no fpdf2: no PDFs).
    notes: tuple[str, ...] = ()

    @property
    def files(self) -> int:
        return self.news + self.pages + self.pdfs

    @property
    def megabytes(self) -> float:
        return self.total_bytes / 1_048_576


def generate_site(out: Path, pages: int, pdfs: int = 0, seed: int = 1) -> SiteStats:
    """Writes a synthetic site of ``pages`` HTML pages and ``pdfs`` PDFs into ``out``, which
    must be new or empty (stale files from a larger site would otherwise be indexed too)."""
    started = time.perf_counter()
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: give a new or empty folder")
    vocab = ranked_words(seed)
    news, standing = plan_html(vocab, seed, pages)
    written = 0
    folders: set[Path] = set()

    def write(path: str, data: bytes) -> None:
        nonlocal written
        target = out / path
        if target.parent not in folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        target.write_bytes(data)
        written += len(data)

    for article in news + standing:
        writer = Writer(vocab, Random(f"{seed}:{article.path}"), article.topics)
        body = body_html(writer, writer.rng.randint(250, 550))
        text = news_html(article, body) if article.published else page_html(article, body)
        write(article.path, text.encode("utf-8"))
    notes, pdf_pages, reports = [], 0, []
    if pdfs and FPDF is None:
        notes.append(NO_FPDF)
    elif pdfs:
        reports, text = plan_pdfs(vocab, seed, pdfs), PdfText()
        for report in reports:
            writer = Writer(vocab, Random(f"{seed}:{report.path}"), report.topics)
            write(report.path, report_pdf(report, writer, text))
            pdf_pages += report.page_count
    return SiteStats(
        news=len(news),
        pages=len(standing),
        pdfs=len(reports),
        pdf_pages=pdf_pages,
        total_bytes=written,
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuerySets:
    # Searches as a site's log shows them: a few hundred distinct queries, the commonest
    # repeated many times, in the order they arrive.
    popular: list[str]
    # Distinct queries, none of them in ``popular``: searches no cache has seen.
    unseen: list[str]


def misspell(word: str, rng: Random, known: frozenset[str]) -> str | None:
    """One typing mistake inside the word (deletion, insertion, substitution or swap; never
    the first or last letter, so it does not read as another form of the word), or None
    when the word is too short or every try made another real word."""
    if len(word) < 5 or not word.isalpha():
        return None
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(10):
        at = rng.randrange(1, len(word) - 1)
        edit = rng.randrange(4)
        if edit == 0:
            typo = word[:at] + word[at + 1 :]
        elif edit == 1:
            typo = word[:at] + rng.choice(letters) + word[at:]
        elif edit == 2:
            typo = word[:at] + rng.choice(letters) + word[at + 1 :]
        else:
            typo = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
        if typo != word and typo not in known:
            return typo
    return None


def with_typo(query: str, rng: Random, known: frozenset[str]) -> str:
    words = query.split()
    order = list(range(len(words)))
    rng.shuffle(order)
    for i in order:
        typo = misspell(words[i], rng, known)
        if typo:
            words[i] = typo
            return " ".join(words)
    return query


def query_sets(
    seed: int = 1,
    *,
    searches: int = 2000,
    distinct: int = 300,
    unseen: int = 500,
    typo_rate: float = 0.05,
) -> QuerySets:
    """Searches over the vocabulary of ``generate_site(seed=seed)``, lower case as people type
    them, one to three words; about ``typo_rate`` of them carry one typing mistake.

    ``popular`` holds ``searches`` draws, Zipf-weighted, from a pool of ``distinct`` queries
    (the rarest of which may not come up at all); ``unseen`` holds ``unseen`` other queries.

    Popular queries lean on health-service words ("pharmacy", "mental health") and on the
    commoner words of the text, so they find documents even on a small site; unseen ones draw
    from the whole searchable vocabulary, and on sites of 1,000 pages or more nearly all of
    their words occur.
    """
    vocab = ranked_words(seed)
    rng = Random(f"queries:{seed}")
    health_cum = list(
        itertools.accumulate(1 / r**ZIPF_EXPONENT for r in range(1, len(vocab.health) + 1))
    )

    def draw(health_share: float) -> str:
        count = rng.choices((1, 2, 3), weights=(45, 40, 15))[0]
        words: list[str] = []
        for _ in range(count):
            if rng.random() < health_share:
                words += rng.choices(vocab.health, cum_weights=health_cum)
            else:
                words += rng.choices(vocab.content, cum_weights=vocab.content_cum_weights)
        return " ".join(dict.fromkeys(w.lower() for w in words))

    pool: dict[str, None] = {}
    while len(pool) < distinct:
        pool[draw(0.6)] = None
    # The most searched are short and in the service's own words ("waiting", "pharmacy");
    # queries with rarer words make the tail. sorted() is stable: ties keep drawing order.
    service_words = {w.lower() for w in vocab.health}
    ranked = sorted(
        pool, key=lambda q: (sum(w not in service_words for w in q.split()), len(q.split()))
    )
    weights = list(itertools.accumulate(1 / r**ZIPF_EXPONENT for r in range(1, distinct + 1)))
    popular = [
        with_typo(q, rng, vocab.known) if rng.random() < typo_rate else q
        for q in rng.choices(ranked, cum_weights=weights, k=searches)
    ]
    seen = set(popular)
    fresh: dict[str, None] = {}
    for _ in range(unseen * 100):
        if len(fresh) == unseen:
            break
        query = draw(0.1)
        if rng.random() < typo_rate:
            query = with_typo(query, rng, vocab.known)
        if query not in seen and query not in fresh:
            fresh[query] = None
    else:
        raise ValueError(f"could not find {unseen} distinct unseen queries")
    return QuerySets(popular=popular, unseen=list(fresh))


# --- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, required=True, help="HTML pages (70%% news)")
    parser.add_argument("--pdfs", type=int, default=0, help="PDF case studies and documents")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same files")
    args = parser.parse_args(argv)
    try:
        stats = generate_site(args.out, args.pages, args.pdfs, args.seed)
    except FileExistsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for note in stats.notes:
        print(note, file=sys.stderr)
    print(
        f"{stats.files:,} files ({stats.news:,} news, {stats.pages:,} pages, {stats.pdfs:,} "
        f"PDFs of {stats.pdf_pages:,} pages), {stats.megabytes:.1f} MB in {stats.seconds:.1f} s "
        f"(seed {args.seed}) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
