"""Running headers and footers: what counts as one, and what is never dropped."""

from __future__ import annotations

import pytest

from indexer.extract.running import drop_running_lines

pytestmark = pytest.mark.server

BODY = ["Waiting lists fell in June.", "Clinics opened in Luton.", "Flu jabs start in October."]


def report(header: str | None, footer: str | None, bodies: list[str] = BODY) -> list[str]:
    pages = []
    for number, body in enumerate(bodies, start=1):
        lines = [header, body, footer.format(n=number) if footer else None]
        pages.append("\n".join(line for line in lines if line is not None))
    return pages


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        (report("BLMK Green Plan", "Page {n} of 3"), BODY),
        (report(None, "{n}"), BODY),  # bare page numbers
        (report("NHS BLMK  |  Official", None), BODY),
        (["Green Plan\nLists fell.", "Clinics.", "Green Plan\nFlu.", "Jabs.", "Vans."], None),
        (report("Same line", None, ["", "", ""]), None),  # pages without text: nothing to do
        (["Only page\nwith text"], None),  # one page: nothing repeats
        (["habibi", "habibi", "habibi"], None),  # a page's only text is kept
    ],
    ids=[
        "header-and-numbered-footer",
        "page-numbers",
        "header-only",
        "on-two-of-five-pages",
        "empty-pages",
        "single-page",
        "only-text",
    ],
)
def test_running_lines(pages: list[str], expected: list[str] | None) -> None:
    assert drop_running_lines(pages) == (pages if expected is None else expected)


def test_a_repeated_line_in_the_middle_of_a_page_stays() -> None:
    words = ["flu", "lists", "vans", "jabs"]
    pages = [
        "\n".join(
            [*(f"{w} top {i}" for i in "abc"), "Repeated line", *(f"{w} end {i}" for i in "abc")]
        )
        for w in words
    ]
    assert drop_running_lines(pages) == pages
