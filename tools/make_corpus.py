"""Generates the sample corpus (``corpus/``) from its source text (``corpus-src/``).

News and standing pages become HTML in one of three templates, as a CMS changes over the years
(2019–2021, 2022–2023, 2024 on); case studies and documents become PDFs. The output is
committed, so running the service never needs this script; run it after editing a source:

    make corpus          # or: .venv/bin/python tools/make_corpus.py

Needs the ``dev`` extra (fpdf2). The format of the sources is in ``corpus-src/FORMAT.md``.
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "corpus-src"
CORPUS = ROOT / "corpus"
SITE = "https://www.blmkhealthandcarepartnership.org"
SITE_NAME = "BLMK Integrated Care System"
NOTICE = (
    "Illustrative sample written for testing the blmk-search site search: not the named "
    "organisation's own report, and its figures are invented."
)


@dataclass
class Source:
    path: Path
    header: dict[str, str]
    blocks: list[tuple[str, object]] = field(default_factory=list)

    @property
    def relative(self) -> Path:
        return self.path.relative_to(SOURCE)

    @property
    def slug(self) -> str:
        name = self.path.stem
        return name[11:] if self.relative.parts[0] == "news" else name

    @property
    def title(self) -> str:
        return self.header["title"]

    @property
    def date(self) -> date | None:
        value = self.header.get("date")
        return date.fromisoformat(value) if value else None

    @property
    def topics(self) -> list[str]:
        return [t.strip() for t in self.header.get("topics", "").split(";") if t.strip()]

    @property
    def summary(self) -> str:
        return self.header.get("summary", "")


def read_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n---\n")
    header = {}
    for line in head.splitlines():
        key, _, value = line.partition(":")
        header[key.strip()] = value.strip()
    return Source(path=path, header=header, blocks=parse_blocks(body))


def parse_blocks(body: str) -> list[tuple[str, object]]:
    """("heading", text) | ("list", [items]) | ("page", None) | ("para", text)."""
    blocks: list[tuple[str, object]] = []
    for chunk in body.strip().split("\n\n"):
        lines = [line.strip() for line in chunk.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if lines == ["[page]"]:
            blocks.append(("page", None))
        elif lines[0].startswith("## ") and len(lines) == 1:
            blocks.append(("heading", lines[0][3:]))
        elif all(line.startswith("- ") for line in lines):
            blocks.append(("list", [line[2:] for line in lines]))
        else:
            for line in lines:  # a heading or a page break directly above text
                if line.startswith("## "):
                    blocks.append(("heading", line[3:]))
                elif line == "[page]":
                    blocks.append(("page", None))
                elif line.startswith("- "):
                    if blocks and blocks[-1][0] == "list":
                        blocks[-1][1].append(line[2:])  # type: ignore[union-attr]
                    else:
                        blocks.append(("list", [line[2:]]))
                elif blocks and blocks[-1][0] == "para" and not chunk.startswith(line):
                    blocks[-1] = ("para", f"{blocks[-1][1]} {line}")
                else:
                    blocks.append(("para", line))
    return blocks


# --- HTML ------------------------------------------------------------------------------------

MENU = [
    ("About us", "/about-us"),
    ("Our priorities", "/our-priorities"),
    ("News", "/news"),
    ("Green Plan", "/green-plan"),
    ("Get involved", "/get-involved"),
    ("Careers", "/careers"),
    ("Contact us", "/contact-us"),
]
COOKIE_TEXT = (
    "We use cookies to make this website work and to understand how people use it, so that we "
    "can improve it. You can accept all cookies or only the ones we need to run the site."
)
FOOTER_TEXT = (
    "Bedfordshire, Luton and Milton Keynes Integrated Care Board, Capability House, Wrest Park, "
    "Silsoe, Bedford MK45 4HR. Copyright NHS BLMK ICB."
)


def long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def body_html(blocks: list[tuple[str, object]]) -> str:
    out = []
    for kind, value in blocks:
        if kind == "heading":
            out.append(f"<h2>{esc(str(value))}</h2>")
        elif kind == "list":
            items = "".join(f"<li>{esc(item)}</li>" for item in value)  # type: ignore[union-attr]
            out.append(f"<ul>{items}</ul>")
        elif kind == "para":
            out.append(f"<p>{esc(str(value))}</p>")
    return "\n".join(out)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def news_url(source: Source) -> str:
    return f"{SITE}/news/{source.slug}"


def teasers_html(others: list[Source], era: int) -> str:
    items = []
    for other in others:
        label, when = "News", long_date(other.date) if other.date else ""
        headline = esc(truncate(other.title, 60))
        first = esc(truncate(other.summary, 150))
        href = f"/news/{other.slug}"
        if era == 1:
            items.append(
                f'<div class="teaser"><span class="teaser-type">{label}</span> '
                f'<span class="teaser-date">{when}</span><br><a href="{href}">{headline}</a>'
                f"<br>{first}</div>"
            )
        else:
            items.append(
                f'<li class="teaser"><p class="teaser__type">{label}</p>'
                f'<p class="teaser__date">{when}</p><h3><a href="{href}">{headline}</a></h3>'
                f"<p>{first}</p></li>"
            )
    if era == 1:
        return (
            '<div class="latest-news"><h2>Latest news and highlights</h2>'
            + "".join(items)
            + "</div>"
        )
    return (
        '<section class="latest-news" aria-labelledby="latest">'
        '<h2 id="latest">Latest news and highlights</h2><ul class="teasers">'
        + "".join(items)
        + "</ul></section>"
    )


def menu_html(era: int) -> str:
    links = "".join(f'<li><a href="{href}">{esc(label)}</a></li>' for label, href in MENU)
    if era == 1:
        return f'<div id="header"><a href="/" class="logo">NHS BLMK</a><ul class="menu">{links}</ul></div>'
    cookie = (
        f'<div class="cookie-banner" role="region" aria-label="Cookies"><p>{COOKIE_TEXT}</p>'
        "<button>Accept all cookies</button><button>Necessary cookies only</button></div>"
        if era == 3
        else ""
    )
    return (
        f'{cookie}<a class="skip-link" href="#main-content">Skip to main content</a>'
        f'<header class="site-header"><a href="/" class="site-header__logo">NHS '
        f'Bedfordshire, Luton and Milton Keynes</a><nav class="site-nav" aria-label="Main">'
        f'<ul>{links}</ul></nav><form class="site-search" action="/search"><label for="q">'
        'Search</label><input id="q" name="q"><button>Search</button></form></header>'
    )


def footer_html(era: int) -> str:
    if era == 1:
        return (
            f'<div id="footer"><p>{FOOTER_TEXT}</p><a href="/accessibility">Accessibility</a></div>'
        )
    return (
        f'<footer class="site-footer"><ul><li><a href="/accessibility">Accessibility statement'
        f'</a></li><li><a href="/privacy">Privacy notice</a></li><li><a href="/contact-us">'
        f"Contact us</a></li></ul><p>{FOOTER_TEXT}</p></footer>"
    )


def news_page(source: Source, latest: list[Source]) -> tuple[str, str]:
    """The page's HTML and the encoding it is saved in."""
    published = source.date
    assert published is not None, source.path
    era = 1 if published.year <= 2021 else 2 if published.year <= 2023 else 3
    title, when = esc(source.title), long_date(published)
    others = [s for s in latest if s.path != source.path][:6]
    body = body_html(source.blocks)
    keywords = esc(", ".join(source.topics))
    if era == 1:
        return (
            f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>{title} | {SITE_NAME}</title>
<meta name="description" content="{esc(source.summary)}">
</head>
<body>
{menu_html(era)}
<div class="breadcrumb"><a href="/">Home</a> &raquo; <a href="/news">News</a> &raquo; {title}</div>
<div id="content">
<h1>{title}</h1>
<p class="date">{when}</p>
{body}
<p><a class="view-all" href="/news">View all news</a></p>
</div>
{teasers_html(others, era)}
{footer_html(era)}
</body>
</html>
""",
            "cp1252",
        )
    head_extra = ""
    if era == 3:
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": source.title,
            "datePublished": published.isoformat(),
            "publisher": {
                "@type": "Organization",
                "name": "NHS Bedfordshire, Luton and Milton Keynes Integrated Care Board",
            },
        }
        tags = "".join(f'<meta property="article:tag" content="{esc(t)}">\n' for t in source.topics)
        head_extra = (
            f'<meta property="article:published_time" content="{published.isoformat()}T09:00:00+00:00">\n'
            f'{tags}<script type="application/ld+json">{json.dumps(ld)}</script>\n'
        )
    share = (
        '<div class="share-links"><p>Share this page</p><ul><li><a href="#">Facebook</a></li>'
        '<li><a href="#">X</a></li><li><a href="#">LinkedIn</a></li><li><a href="#">Email</a>'
        "</li></ul></div>"
    )
    tags_block = (
        '<div class="tags">Topics: '
        + ", ".join(f'<a href="/news?topic={esc(t)}">{esc(t)}</a>' for t in source.topics)
        + "</div>"
    )
    return (
        f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - {SITE_NAME}</title>
<meta name="description" content="{esc(source.summary)}">
<meta name="keywords" content="{keywords}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<meta property="og:url" content="{news_url(source)}">
<link rel="canonical" href="{news_url(source)}">
{head_extra}</head>
<body>
{menu_html(era)}
<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li>{title}</li></ol></nav>
<main id="main-content">
<article class="news-article">
<div class="article-header"><h1>{title}</h1>
<p class="article-date"><time datetime="{published.isoformat()}">{when}</time></p></div>
{share if era == 3 else ""}
<div class="article-body field--body">
{body}
</div>
{tags_block if era == 2 else ""}
</article>
<p><a class="view-all" href="/news">View all news</a></p>
{teasers_html(others, era)}
</main>
{footer_html(era)}
</body>
</html>
""",
        "utf-8",
    )


def standing_page(source: Source, siblings: list[Source]) -> str:
    title = esc(source.title)
    section = "".join(
        f'<li><a href="/{s.slug}">{esc(s.title)}</a></li>' for s in siblings if s is not source
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{title} | {SITE_NAME}</title>
<meta name="description" content="{esc(source.summary)}">
<meta name="keywords" content="{esc(", ".join(source.topics))}">
<meta property="og:type" content="website">
<link rel="canonical" href="{SITE}/{source.slug}">
</head>
<body>
{menu_html(3)}
<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li><li>{title}</li></ol></nav>
<div class="page-layout">
<main id="main-content" class="page-content">
<h1>{title}</h1>
{body_html(source.blocks)}
</main>
<aside class="sidebar"><h2>In this section</h2><ul>{section}</ul></aside>
</div>
{footer_html(3)}
</body>
</html>
"""


# --- PDF -------------------------------------------------------------------------------------

_PLAIN = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "₂": "2",
        "→": "->",
        "•": "-",
        "≥": ">=",
        "≤": "<=",
    }
)


def plain(text: str) -> str:
    """Text in the PDF core fonts' character set (Latin-1)."""
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


class SamplePdf(FPDF):
    def __init__(self, source: Source, landscape: bool) -> None:
        super().__init__(orientation="L" if landscape else "P", format="A4")
        self.source = source
        self.author_name = source.header.get("author", "BLMK Integrated Care Board")
        self.set_auto_page_break(auto=True, margin=22)
        self.set_margins(20, 22, 20)
        self.alias_nb_pages()
        self.set_title(plain(source.title))
        self.set_author(plain(self.author_name))
        self.set_subject(plain(source.summary))
        self.set_keywords(plain(", ".join(source.topics)))
        self.set_creator("blmk-search sample corpus generator")
        if source.date:
            self.set_creation_date(
                datetime(source.date.year, source.date.month, source.date.day, tzinfo=UTC)
            )

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("helvetica", "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 6, plain(truncate(self.source.title, 90)), align="L")
        self.ln(10)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 6, plain(f"{self.author_name}  |  Page {self.page_no()} of {{nb}}"), align="C")
        self.set_text_color(0, 0, 0)


def report_pdf(source: Source) -> SamplePdf:
    pdf = SamplePdf(source, landscape=False)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 20)
    pdf.multi_cell(0, 10, plain(source.title))
    pdf.ln(2)
    pdf.set_font("helvetica", "", 11)
    meta = pdf.author_name + (f"  |  {long_date(source.date)}" if source.date else "")
    pdf.multi_cell(0, 6, plain(meta))
    pdf.ln(4)
    pdf.set_font("helvetica", "I", 11)
    pdf.multi_cell(0, 6, plain(source.summary))
    pdf.ln(2)
    pdf.set_font("helvetica", "", 8)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(0, 4.5, NOTICE)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)
    for kind, value in source.blocks:
        if kind == "page":
            pdf.add_page()
        elif kind == "heading":
            pdf.ln(2)
            pdf.set_font("helvetica", "B", 13)
            pdf.multi_cell(0, 7, plain(str(value)))
            pdf.ln(1)
        elif kind == "list":
            pdf.set_font("helvetica", "", 10.5)
            for item in value:  # type: ignore[union-attr]
                pdf.set_x(pdf.l_margin + 4)
                pdf.multi_cell(0, 5.5, plain(f"-  {item}"))
            pdf.ln(2)
        else:
            pdf.set_font("helvetica", "", 10.5)
            pdf.multi_cell(0, 5.5, plain(str(value)))
            pdf.ln(2.5)
    return pdf


def slides_pdf(source: Source) -> SamplePdf:
    pdf = SamplePdf(source, landscape=True)
    pdf.add_page()
    pdf.set_y(70)
    pdf.set_font("helvetica", "B", 28)
    pdf.multi_cell(0, 13, plain(source.title), align="C")
    pdf.set_font("helvetica", "", 16)
    pdf.ln(6)
    when = long_date(source.date) if source.date else ""
    pdf.multi_cell(0, 8, plain(f"{pdf.author_name}  |  {when}"), align="C")
    pdf.ln(10)
    pdf.set_font("helvetica", "", 10)
    pdf.multi_cell(0, 5, NOTICE, align="C")
    for kind, value in source.blocks:
        if kind == "heading":
            pdf.add_page()
            pdf.set_font("helvetica", "B", 24)
            pdf.multi_cell(0, 12, plain(str(value)))
            pdf.ln(4)
        elif kind == "list":
            pdf.set_font("helvetica", "", 17)
            for item in value:  # type: ignore[union-attr]
                pdf.set_x(pdf.l_margin + 6)
                pdf.multi_cell(0, 9, plain(f"-  {item}"))
                pdf.ln(1)
        elif kind == "para":
            pdf.set_font("helvetica", "", 17)
            pdf.multi_cell(0, 9, plain(str(value)))
            pdf.ln(2)
    return pdf


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    sources = [read_source(p) for p in sorted(SOURCE.rglob("*.txt"))]
    news = [s for s in sources if s.relative.parts[0] == "news"]
    pages = [s for s in sources if s.relative.parts[0] == "pages"]
    latest = sorted(news, key=lambda s: (s.date, s.slug), reverse=True)
    written = 0
    for source in sources:
        kind = source.relative.parts[0]
        if kind == "news":
            text, encoding = news_page(source, latest)
            target = CORPUS / source.relative.with_suffix(".html")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode(encoding, "xmlcharrefreplace"))
        elif kind == "pages":
            target = CORPUS / source.relative.with_suffix(".html")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(standing_page(source, pages), encoding="utf-8")
        else:
            slides = source.header.get("layout") == "slides"
            pdf = slides_pdf(source) if slides else report_pdf(source)
            target = CORPUS / source.relative.with_suffix(".pdf")
            target.parent.mkdir(parents=True, exist_ok=True)
            pdf.output(str(target))
        written += 1
    # Sidecars (staff corrections to a PDF's metadata) are copied beside their PDF as they are.
    for sidecar in sorted(SOURCE.rglob("*.pdf.json")):
        target = CORPUS / sidecar.relative_to(SOURCE)
        target.write_bytes(sidecar.read_bytes())
        written += 1
    print(f"wrote {written} files into {CORPUS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
