"""HTML extraction: metadata with fallbacks, furniture left out, awkward files reported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from indexer.config import IndexerSettings
from indexer.errors import EmptyFile, UnreadableFile, UnsupportedFile
from indexer.extract import extract_file
from indexer.extract.html import extract_html
from tests.conftest import CORPUS, html_page

BODY = "<p>" + "The new clinic in Luton offers evening appointments for patients. " * 3 + "</p>"
SETTINGS = IndexerSettings()


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        (
            '<meta property="article:published_time" content="2024-03-05T10:00:00Z">',
            BODY,
            date(2024, 3, 5),
        ),
        (
            '<script type="application/ld+json">{"@graph": [{"datePublished": "2023-01-09"}]}'
            "</script>",
            BODY,
            date(2023, 1, 9),
        ),
        ("", f'<p><time datetime="2022-07-01">1 July 2022</time></p>{BODY}', date(2022, 7, 1)),
        ("", f"<p>22 August 2025</p>{BODY}", date(2025, 8, 22)),
        ("", BODY, None),
    ],
    ids=["published-time-meta", "json-ld", "time-element", "written-date", "no-date"],
)
def test_publication_date_fallbacks(head: str, body: str, expected: date | None) -> None:
    assert extract_html(html_page("Clinic opens", body, head).encode()).date == expected


def test_a_teaser_date_is_never_the_article_date() -> None:
    page = html_page(
        "Clinic opens",
        BODY + '<div class="latest-news"><h2>Latest news and highlights</h2>'
        "<p>3 March 2021</p><p>Another story entirely</p></div>",
    )
    content = extract_html(page.encode())
    assert content.date is None
    assert "Another story" not in content.body
    assert "Latest news" not in content.body


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (html_page("Headline in h1", BODY), "Headline in h1"),
        (
            "<html><head><meta property='og:title' content='From og'><title>T | Site</title>"
            f"</head><body>{BODY}</body></html>",
            "From og",
        ),
        (
            f"<html><head><title>Only a title | BLMK ICS</title></head><body>{BODY}</body></html>",
            "Only a title",
        ),
    ],
    ids=["h1", "og-title", "title-without-site-suffix"],
)
def test_title_fallbacks(html: str, expected: str) -> None:
    assert extract_html(html.encode()).title == expected


def test_summary_prefers_meta_description_then_first_real_paragraph() -> None:
    described = html_page("T", BODY, '<meta name="description" content="Short description.">')
    assert extract_html(described.encode()).summary == "Short description."
    undescribed = html_page("T", f"<p>5 May 2024</p>{BODY}")
    assert extract_html(undescribed.encode()).summary.startswith("The new clinic in Luton")


def test_furniture_is_left_out_and_paragraphs_kept() -> None:
    page = (
        "<html><body><div class='cookie-banner'>We use cookies</div>"
        "<header class='site-header'><nav>Menu About us</nav></header>"
        "<div class='breadcrumb'>Home » News » Clinic</div>"
        "<main><h1>Clinic</h1><div class='share-links'>Share on Facebook</div>"
        f"{BODY}<p>Second&nbsp;paragraph with a soft\u00adhyphen.</p></main>"
        "<aside>Related links</aside><footer>Footer text</footer></body></html>"
    )
    body = extract_html(page.encode()).body
    for furniture in ("cookies", "Menu", "Home »", "Facebook", "Related", "Footer", "Clinic\n"):
        assert furniture not in body
    assert body.endswith("Second paragraph with a softhyphen.")
    assert "\n\n" in body


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            html_page("Café news", BODY)
            .replace("<head>", "<head><meta charset='windows-1252'>")
            .encode("cp1252"),
            "Café news",
        ),
        (b"\xef\xbb\xbf" + html_page("Café news", BODY).encode("utf-8"), "Café news"),
    ],
    ids=["windows-1252", "utf-8-bom"],
)
def test_encodings(data: bytes, expected: str) -> None:
    assert extract_html(data).title == expected


def test_a_page_without_main_text_is_reported() -> None:
    with pytest.raises(EmptyFile, match="no main content"):
        extract_html(html_page("Empty", "<p>Short.</p>").encode())


def test_binary_data_with_an_html_name_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "photo.html"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    with pytest.raises(UnsupportedFile, match="not HTML"):
        extract_file(path, SETTINGS, tmp_path)


NEWS = sorted((CORPUS / "news").glob("*.html"))


@pytest.mark.parametrize("path", NEWS, ids=[p.stem[:40] for p in NEWS])
def test_corpus_news_pages_read_as_articles(path: Path) -> None:
    doc = extract_file(path, SETTINGS, CORPUS)
    assert doc.type == "news"
    assert doc.date is not None and doc.date.isoformat() == path.name[:10]
    assert doc.title and doc.summary
    for furniture in (
        "Latest news and highlights",
        "View all news",
        "cookies",
        "Skip to main",
        "Home »",
        "Share this page",
        "Copyright",
    ):
        assert furniture not in doc.body, furniture


def test_a_file_over_the_size_limit_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    path.write_text(html_page("Big", BODY * 50))
    with pytest.raises(UnreadableFile, match="too large"):
        extract_file(path, IndexerSettings(max_file_bytes=1024), tmp_path)
