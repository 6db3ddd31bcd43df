"""The one record every extractor produces and the index writer consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

DocType = Literal["news", "page", "case-study", "document"]
Scope = Literal["local", "national"]

DOC_TYPES: tuple[str, ...] = ("news", "page", "case-study", "document")
# Each scope by its name, for reading one from text (a folder name, a sidecar file).
SCOPE_NAMES: dict[str, Scope] = {"local": "local", "national": "national"}
SCOPES: tuple[str, ...] = tuple(SCOPE_NAMES)
# Separates the pages of a paginated document's body, so the search service can tell which page
# a match is on from the stored body alone. The analyzer reads it as whitespace, and the text
# clean-up removes it from page texts, so it never occurs inside a page.
PAGE_BREAK = "\f"


@dataclass(slots=True, kw_only=True)
class Page:
    """One page of a paginated source (a PDF); HTML documents have none.

    Every page is kept, with empty text when it has none (a scanned page), so page numbers
    and the page count stay true and the ``PAGE_BREAK``-joined body splits back into pages.
    """

    number: int
    text: str


@dataclass(slots=True, kw_only=True)
class Document:
    """What the indexer read from one source file, before it is written to the index."""

    id: str
    path: str
    url: str
    type: DocType
    title: str
    summary: str = ""
    body: str = ""
    date: date | None = None
    topics: list[str] = field(default_factory=list)
    scope: Scope | None = None
    pages: list[Page] = field(default_factory=list)
    author: str = ""
    # BCP 47 language tag as the source declares it ("en-GB"), when it does.
    language: str | None = None
    # Indexed, but with something staff should fix (for example "no text layer").
    notes: list[str] = field(default_factory=list)
    content_hash: str = ""
    # Where it came from: "corpus" (the corpus folder, uploads included) or "web" (a crawl).
    source: str = "corpus"

    @property
    def year(self) -> str | None:
        return str(self.date.year) if self.date else None

    def to_json(self) -> dict[str, Any]:
        """The shape ``blmk-index extract`` prints: plain JSON types only."""
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        return data
