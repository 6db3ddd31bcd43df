"""HTML extraction: main text without furniture, metadata with fallbacks, awkward files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from indexer.build import BuildError, build_index
from indexer.config import DEFAULT_PROFILE, IndexerSettings
from indexer.errors import EmptyFile, UnreadableFile, UnsupportedFile
from indexer.extract import extract_file
from indexer.extract.html import extract_html
from indexer.extract.profile import ProfileError, load_profile
from tests.conftest import CORPUS, html_page, write_corpus

ARTICLE = (
    "<p>A new community clinic in Luton now offers evening appointments for patients who "
    "cannot get to their GP practice during the working day.</p>"
    "<p>The clinic is run by local practices working together. Nurses, pharmacists and "
    "physiotherapists will see patients there from six until eight each weekday evening.</p>"
    "<p>Appointments are booked through your usual practice, by phone, online or at "
    "reception. Staff will tell you which site to go to and what to bring with you.</p>"
)
TEASERS = (
    '<section class="latest-news"><h2>Latest news and highlights</h2><ul>'
    '<li class="teaser"><p>3 March 2021</p><h3><a href="/news/a">Hospital car parks go '
    "cashless</a></h3><p>Visitors can now pay for parking by phone at every site.</p></li>"
    '<li class="teaser"><p><time datetime="2020-01-09">9 January 2020</time></p><h3>'
    '<a href="/news/b">Pharmacies open on the bank holiday</a></h3></li></ul></section>'
)
SETTINGS = IndexerSettings()
NO_PROFILE = IndexerSettings(site_profile=None)
BLMK = load_profile(DEFAULT_PROFILE)


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        (
            '<meta property="article:published_time" content="2024-03-05T10:00:00Z">',
            ARTICLE,
            date(2024, 3, 5),
        ),
        (
            '<script type="application/ld+json">{"@graph": [{"datePublished": "2023-01-09"}]}'
            "</script>",
            ARTICLE,
            date(2023, 1, 9),
        ),
        ("", f'<p><time datetime="2022-07-01">1 July 2022</time></p>{ARTICLE}', date(2022, 7, 1)),
        ("", f"<p>Posted on 22 August 2025 by the news team</p>{ARTICLE}", date(2025, 8, 22)),
        ("", ARTICLE, None),
        (
            '<script type="application/ld+json">{"datePublished": "0001-01-01T00:00:00Z"}'
            '</script><meta name="date" content="1970-01-01">',
            f"<p>Posted on 22 August 2025 by the news team</p>{ARTICLE}",
            date(2025, 8, 22),
        ),
        ("", f"<p>Posted on 1 January 1970</p>{ARTICLE}", None),
    ],
    ids=[
        "published-time-meta",
        "json-ld",
        "time-element",
        "written-date",
        "no-date",
        "placeholder-metadata-passed-over",
        "placeholder-written-date",
    ],
)
def test_publication_date_fallbacks(head: str, body: str, expected: date | None) -> None:
    assert extract_html(html_page("Clinic opens", body, head).encode()).date == expected


def test_a_date_just_above_the_headline_counts() -> None:
    page = html_page("Clinic opens", ARTICLE).replace("<h1>", "<p>News | 4 May 2023</p><h1>")
    assert extract_html(page.encode()).date == date(2023, 5, 4)


def test_a_teaser_date_is_never_the_article_date_nor_its_text_the_body() -> None:
    content = extract_html(html_page("Clinic opens", ARTICLE + TEASERS).encode())
    assert content.date is None
    for teaser_text in ("Latest news", "car parks", "Visitors can now pay", "bank holiday"):
        assert teaser_text not in content.body


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (html_page("Headline in h1", ARTICLE), "Headline in h1"),
        (
            "<html><head><meta property='og:title' content='From og'><title>T | Site</title>"
            f"</head><body>{ARTICLE}</body></html>",
            "From og",
        ),
        (
            f"<html><head><title>Only a title | BLMK ICS</title></head><body>{ARTICLE}</body>"
            "</html>",
            "Only a title",
        ),
    ],
    ids=["h1", "og-title", "title-without-site-suffix"],
)
def test_title_fallbacks(html: str, expected: str) -> None:
    assert extract_html(html.encode()).title == expected


def test_summary_prefers_meta_description_then_first_real_paragraph() -> None:
    described = html_page("T", ARTICLE, '<meta name="description" content="Short description.">')
    assert extract_html(described.encode()).summary == "Short description."
    undescribed = html_page("T", f"<p>5 May 2024</p>{ARTICLE}")
    assert extract_html(undescribed.encode()).summary.startswith("A new community clinic")


def test_canonical_url_language_and_declared_topics() -> None:
    head = (
        '<link rel="canonical" href="https://example.org/news/clinic">'
        '<meta property="article:tag" content="Primary care">'
        '<meta name="keywords" content="GP access, Primary care">'
    )
    content = extract_html(html_page("Clinic", ARTICLE, head).encode())
    assert content.canonical_url == "https://example.org/news/clinic"
    assert content.language == "en"
    assert content.topics == ["Primary care", "GP access"]


@pytest.mark.parametrize(
    ("trail", "expected_type", "expected_topics"),
    [
        (
            '<nav aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>'
            '<li><a href="/case-studies">Case studies</a></li><li><a href="/x">Green travel</a>'
            "</li><li>Cycling to clinics</li></ol></nav>",
            "case-study",
            ["Green travel"],
        ),
        (
            '<div class="breadcrumb"><a href="/">Home</a> &raquo; <a href="/news">News</a> '
            "&raquo; Clinic opens</div>",
            "news",
            [],
        ),
    ],
    ids=["list-trail", "flat-trail"],
)
def test_type_and_topics_come_from_the_breadcrumb(
    tmp_path: Path, trail: str, expected_type: str, expected_topics: list[str]
) -> None:
    page = html_page("Clinic opens", ARTICLE).replace("<main>", trail + "<main>")
    path = write_corpus(tmp_path, {"uploads/clinic.html": page}) / "uploads" / "clinic.html"
    doc = extract_file(path, SETTINGS, tmp_path)
    assert (doc.type, doc.topics) == (expected_type, expected_topics)


def test_type_comes_from_the_url_when_folder_and_breadcrumb_say_nothing(tmp_path: Path) -> None:
    head = '<link rel="canonical" href="https://example.org/case-studies/green-roof">'
    path = write_corpus(tmp_path, {"roof.html": html_page("Green roof", ARTICLE, head)})
    assert extract_file(path / "roof.html", SETTINGS, tmp_path).type == "case-study"


def test_furniture_is_left_out_and_text_normalised() -> None:
    page = (
        "<html><body><div class='cookie-banner'>We use cookies on this website</div>"
        "<header class='site-header'><nav>Menu About us Careers</nav></header>"
        "<div class='breadcrumb'>Home » News » Clinic</div>"
        "<main><h1>Clinic opens</h1><div class='share-links'>Share on Facebook</div>"
        f"{ARTICLE}<p>Second&nbsp;site opens with a soft\u00adhyphen &amp; an entity.</p>"
        "</main><aside>Related links</aside><footer>Footer text, copyright</footer>"
        "</body></html>"
    )
    body = extract_html(page.encode()).body
    for furniture in ("cookies", "Menu", "Home »", "Facebook", "Related", "Footer"):
        assert furniture not in body
    assert not body.startswith("Clinic opens")
    assert body.endswith("Second site opens with a softhyphen & an entity.")
    assert body.count("\n\n") == 3


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            html_page("Café news", ARTICLE)
            .replace("<head>", "<head><meta charset='windows-1252'>")
            .encode("cp1252"),
            "Café news",
        ),
        (html_page("Café “smart” news", ARTICLE).encode("cp1252"), "Café “smart” news"),
        (b"\xef\xbb\xbf" + html_page("Café news", ARTICLE).encode("utf-8"), "Café news"),
        (html_page("Café news", ARTICLE).encode("utf-16"), "Café news"),
    ],
    ids=["declared-windows-1252", "undeclared-windows-1252", "utf-8-bom", "utf-16-bom"],
)
def test_encodings(data: bytes, expected: str) -> None:
    assert extract_html(data).title == expected


def test_broken_markup_is_read() -> None:
    broken = (
        "<html><head><title>Broken | BLMK</title><body><div><main><h1>Broken page</h2>"
        + ARTICLE.replace("</p>", "")
        + "<p>Last words & more <b>bold</div></span>"
    )
    content = extract_html(broken.encode())
    assert content.title == "Broken page"
    assert "evening appointments" in content.body and "Last words & more bold" in content.body


def test_a_page_without_main_text_is_reported() -> None:
    with pytest.raises(EmptyFile, match="no main content"):
        extract_html(html_page("Empty", "<p>Short.</p>").encode())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "holds binary data"),
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "holds pdf data"),
        (b"Just a plain text note, saved with the wrong name.\n" * 5, "no HTML markup"),
        (b"", "empty"),
    ],
    ids=["png", "pdf", "plain-text", "empty"],
)
def test_files_that_are_not_html_are_reported(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(data)
    with pytest.raises((UnsupportedFile, EmptyFile), match=message):
        extract_file(path, SETTINGS, tmp_path)


def test_a_file_over_the_size_limit_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    path.write_text(html_page("Big", ARTICLE * 50))
    with pytest.raises(UnreadableFile, match="too large"):
        extract_file(path, IndexerSettings(max_file_bytes=1024), tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("content = [", "not valid TOML"),
        ('match = ["main"]\ncontent = "main"', "'content' must be a list"),
        ('match = ["main"]\ncontent = []', "'content' needs at least one selector"),
        ('match = ["main"]\ncontent = ["main >> p"]', "bad selector"),
    ],
    ids=["toml", "type", "empty", "selector"],
)
def test_a_bad_site_profile_is_explained(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_a_build_with_a_bad_site_profile_stops_before_reading(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Clinic", ARTICLE)})
    bad = tmp_path / "profile.toml"
    bad.write_text("content = [")
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index", site_profile=bad)
    with pytest.raises(BuildError, match="not valid TOML"):
        build_index(settings)
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_the_profile_applies_only_to_the_sites_own_pages() -> None:
    # A page from elsewhere with a container the profile names is read generically.
    foreign = html_page("Elsewhere", f'<div id="content">{ARTICLE}</div>')
    assert extract_html(foreign.encode(), BLMK).read_by == "generic"


HTML_FILES = sorted(CORPUS.rglob("*.html"))
NEWS = [path for path in HTML_FILES if path.parent.name == "news"]


def _furniture_lines(path: Path) -> list[str]:
    """Every line of text a person sees around the article: menus, breadcrumb, cookie notice,
    share links, teasers, sidebars and footer."""
    soup = BeautifulSoup(path.read_bytes(), "lxml")
    selectors = (
        "header, nav, footer, aside, .breadcrumb, .cookie-banner, .share-links, .latest-news, "
        "#header, #footer, .view-all"
    )
    lines = {
        line.strip()
        for element in soup.select(selectors)
        for line in element.get_text("\n").split("\n")
    }
    return sorted(line for line in lines if len(line) >= 12)


@pytest.mark.parametrize("settings", [SETTINGS, NO_PROFILE], ids=["profile", "generic"])
@pytest.mark.parametrize("path", NEWS, ids=[p.stem[:40] for p in NEWS])
def test_corpus_news_keeps_only_the_article(path: Path, settings: IndexerSettings) -> None:
    doc = extract_file(path, settings, CORPUS)
    assert doc.type == "news"
    assert doc.date is not None and doc.date.isoformat() == path.name[:10]
    assert doc.title and doc.summary and len(doc.body) > 500
    furniture = _furniture_lines(path)
    assert len(furniture) > 10
    assert [line for line in furniture if line in doc.body] == []


@pytest.mark.parametrize("path", HTML_FILES, ids=[p.stem[:40] for p in HTML_FILES])
def test_every_corpus_page_is_read_through_the_site_profile(path: Path) -> None:
    assert extract_html(path.read_bytes(), BLMK).read_by == "profile"


LIST_ARTICLE = "".join(
    f"<ul><li>{sentence}.</li></ul>"
    for sentence in (
        "Once you have found a job you would like, read all the guidance on this page first",
        "To apply, complete the application form as fully and accurately as you can",
        "We will not take into account any earlier applications you have sent us",
        "Our checks include references covering at least three years of employment",
        "New starters are on probation for the first six months of their contract",
    )
)


def _teaser_cards(tag: str) -> str:
    """Six other pages' headlines and opening words, each card a ``tag`` element."""
    return "".join(
        f'<{tag} class="card"><h3><a href="/news/{n}">Headline {n} of another page</a></h3>'
        f"<p>The opening words of another page's story number {n}, long enough to read as a "
        f"paragraph of real text that a person might want to read on.</p></{tag}>"
        for n in range(6)
    )


@pytest.mark.parametrize(
    ("label", "tag"),
    [
        ('class="latest-news"', "li"),
        ('class="c-relatedPosts"', "article"),
        ('role="complementary"', "div"),
    ],
    ids=["latest-class", "related-camel-case-articles", "aria-role"],
)
def test_labelled_teasers_never_replace_an_article_written_as_lists(label: str, tag: str) -> None:
    page = html_page("How to apply", f"<article>{LIST_ARTICLE}</article>").replace(
        "</main>",
        f"<section {label}><h2>Latest news</h2><ul>{_teaser_cards(tag)}</ul></section></main>",
    )
    body = extract_html(page.encode()).body
    assert "read all the guidance" in body and "six months" in body
    assert "another page" not in body


@pytest.mark.parametrize(
    "page",
    [
        html_page("Clinic opens", ARTICLE)
        .replace("<main>", "<div class='layout nav-open has-footer'><main>")
        .replace("</main>", "</main></div>"),
        # No headline, main landmark or article to go by: the wrapper holds most of the text.
        "<html><head><title>Clinic opens</title></head><body><div id='page' class='nav-left'>"
        f"<div class='menu'>Home | News</div><div><h2>Clinic opens</h2>{ARTICLE}</div></div>"
        "<div id='footer'>Copyright footer text</div></body></html>",
    ],
    ids=["around-the-main-landmark", "around-most-of-the-text"],
)
def test_a_wrapper_labelled_like_furniture_is_kept(page: str) -> None:
    body = extract_html(page.encode()).body
    assert "evening appointments" in body
    assert "Home | News" not in body and "Copyright" not in body
