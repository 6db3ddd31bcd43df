"""The generic HTML extractor on real NHS pages in templates it has never seen: each page's own
words kept, none of its template's furniture (menus, cookie notice, share links, the other
pages' "latest news" teasers, footer) let in.

The pages are rendered by ``bench.nhs_pages`` and read in-process, without a site profile, as a
build reads an unfamiliar site; no index is needed.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

import pytest

from bench.nhs_pages import (
    COOKIE_TEXT,
    FOOTER_LINKS,
    Page,
    furniture,
    load_pages,
    render,
    teaser,
)
from indexer.extract.html import extract_html
from tests.conftest import shared_data

pytestmark = pytest.mark.slow

# Measured: 0.982 before furniture was stripped (one page at 0.19), 0.991 after.
MIN_MEAN_WORDS_KEPT = 0.97
# A page read from the wrong block keeps a fifth of its words; the mean alone would hide it.
MIN_PAGE_WORDS_KEPT = 0.85
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Reading:
    """What the extractor made of one page."""

    doc_id: str
    words_kept: float
    leaked: list[str]


def words_kept(own: str, extracted: str) -> float:
    """The share of the page's own words (a multiset, lowercased) found in what was extracted:
    a word the page has three times must be there three times."""
    wanted = Counter(_WORD.findall(own.lower()))
    found = Counter(_WORD.findall(extracted.lower()))
    return sum((wanted & found).values()) / max(1, sum(wanted.values()))


def leaked_furniture(own: str, body: str, template_texts: list[str]) -> list[str]:
    """Template texts found in the body, ignoring case; a text the page itself contains (its
    title may be a footer link's) cannot tell furniture from content, so it is passed over."""
    own, body = own.lower(), body.lower()
    return [text for text in template_texts if text.lower() not in own and text.lower() in body]


def read(page: Page, markup: str, template_texts: list[str]) -> Reading:
    content = extract_html(markup.encode(), None)
    own = f"{page.title}\n{page.text}"
    return Reading(
        doc_id=page.doc_id,
        words_kept=words_kept(page.text, f"{content.title}\n{content.body}"),
        leaked=leaked_furniture(own, content.body, template_texts),
    )


def mean_failure(readings: list[Reading]) -> str | None:
    """Why the pages fail the words-kept floors, naming the worst pages; None if they pass."""
    mean = statistics.fmean(r.words_kept for r in readings)
    too_few = [r for r in readings if r.words_kept < MIN_PAGE_WORDS_KEPT]
    if mean >= MIN_MEAN_WORDS_KEPT and not too_few:
        return None
    worst = sorted(readings, key=lambda r: r.words_kept)[:5]
    return (
        f"mean words kept {mean:.3f} (floor {MIN_MEAN_WORDS_KEPT}); pages under "
        f"{MIN_PAGE_WORDS_KEPT}: {[r.doc_id for r in too_few]}; worst: "
        + ", ".join(f"{r.doc_id} {r.words_kept:.3f}" for r in worst)
    )


def furniture_failure(readings: list[Reading]) -> str | None:
    """Which pages let furniture into their body, and what; None if none did."""
    leaky = [r for r in readings if r.leaked]
    if not leaky:
        return None
    return f"template text in the body of {len(leaky)} of {len(readings)} pages: " + "; ".join(
        f"{r.doc_id}: " + " | ".join(text[:40] for text in r.leaked) for r in leaky
    )


@pytest.fixture(scope="module")
def readings() -> list[Reading]:
    """Every NHS page rendered in its template and read back (the data sits beside the
    checkout; without it these tests are skipped)."""
    pages = load_pages(shared_data("nhs-pages").parent)
    return [read(page, render(page, pages), furniture(page, pages)) for page in pages]


def test_every_page_is_read(readings: list[Reading]) -> None:
    assert len(readings) == 85


def test_pages_keep_their_own_words(readings: list[Reading]) -> None:
    failure = mean_failure(readings)
    assert failure is None, failure


def test_no_page_body_holds_furniture(readings: list[Reading]) -> None:
    failure = furniture_failure(readings)
    assert failure is None, failure


# --- the machinery itself, on hand-made pages (no shared data needed) ---------------------

PAGE = Page(
    doc_id="made-up-clinic",
    url="https://example.nhs.uk/services/evening-clinic",
    title="Evening clinic",
    text=(
        "The evening clinic sees patients from six until eight on weekdays.\n"
        "Book through your GP practice by phone, online or at reception."
    ),
)
OTHER = Page(
    doc_id="made-up-parking",
    url="https://example.nhs.uk/news/parking",
    title="Hospital car parks go cashless",
    text="Visitors can now pay for parking by phone at every hospital site in the county.",
)
TEMPLATE_TEXTS = [COOKIE_TEXT, *FOOTER_LINKS, teaser(OTHER), OTHER.title]


def _markup(main: str) -> str:
    return (
        f"<html><head><title>{PAGE.title}</title></head><body><main><h1>{PAGE.title}</h1>"
        f"{main}</main></body></html>"
    )


def test_a_page_read_as_furniture_fails_both_checks() -> None:
    only_furniture = _markup(
        f"<p>{COOKIE_TEXT}</p><h2>{OTHER.title}</h2><p>{teaser(OTHER)}</p>"
        f"<p>{' · '.join(FOOTER_LINKS)}</p>"
    )
    reading = read(PAGE, only_furniture, TEMPLATE_TEXTS)
    assert set(reading.leaked) == set(TEMPLATE_TEXTS)
    assert reading.words_kept < 0.5
    assert "made-up-clinic" in (mean_failure([reading]) or "")
    assert "made-up-clinic: We use necessary cookies" in (furniture_failure([reading]) or "")


def test_a_clean_page_passes_both_checks() -> None:
    paragraphs = "".join(f"<p>{line}</p>" for line in PAGE.text.split("\n"))
    reading = read(PAGE, _markup(paragraphs), TEMPLATE_TEXTS)
    assert (reading.words_kept, reading.leaked) == (1.0, [])
    assert mean_failure([reading]) is furniture_failure([reading]) is None


@pytest.mark.parametrize(
    ("own", "extracted", "expected"),
    [
        ("Book a GP appointment", "book a gp APPOINTMENT", 1.0),
        ("the clinic and the pharmacy", "the clinic pharmacy", 0.6),
        ("Evening clinic", "", 0.0),
    ],
    ids=["case-ignored", "repeated-words-counted", "nothing-extracted"],
)
def test_words_kept_counts_a_multiset(own: str, extracted: str, expected: float) -> None:
    assert words_kept(own, extracted) == pytest.approx(expected)


def test_furniture_the_page_itself_contains_is_passed_over() -> None:
    own = "Freedom of information requests\nHow to ask us for information."
    body = "How to ask us for information. Freedom of information requests. Privacy notice"
    assert leaked_furniture(own, body, list(FOOTER_LINKS)) == ["Privacy notice"]
