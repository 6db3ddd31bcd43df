"""Reads a PDF page by page with pypdf, so a hit can name the page that answers the query."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError

from indexer.dates import as_date
from indexer.document import Page
from indexer.errors import CorruptFile, EmptyFile, EncryptedFile
from indexer.text import clean_block, clean_inline

# Titles that PDF writers fill in by themselves and that say nothing about the document.
_MEANINGLESS_TITLE = re.compile(
    r"^(untitled|title|document\d*|microsoft (word|powerpoint)\b.*|.*\.(docx?|pptx?|pdf|tex))$",
    re.I,
)
logging.getLogger("pypdf").setLevel(logging.ERROR)
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
_HYPHENATED_BREAK = re.compile(r"(\w)-\n(\w)")


@dataclass(slots=True, kw_only=True)
class PdfContent:
    title: str | None
    summary: str | None
    date: date | None
    pages: list[Page] = field(default_factory=list)


def extract_pdf(data: bytes) -> PdfContent:
    with warnings.catch_warnings():
        # pypdf warns about every recoverable flaw; what matters is whether text came out.
        warnings.simplefilter("ignore")
        return _read_pdf(data)


def _read_pdf(data: bytes) -> PdfContent:
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedFile("encrypted: the PDF needs a password to open")
        pages = [
            Page(number=number, text=text)
            for number, page in enumerate(reader.pages, start=1)
            if (text := _page_text(page))
        ]
        info = reader.metadata
        title = clean_inline(str(info.title or "")) if info else ""
        subject = clean_inline(str(info.subject or "")) if info else ""
        created = _creation_date(info)
    except FileNotDecryptedError as error:
        raise EncryptedFile("encrypted: the PDF needs a password to open") from error
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise CorruptFile(f"corrupt: pypdf could not read the PDF ({error})") from error
    if not pages:
        raise EmptyFile("no text layer: the PDF has no extractable text")
    if not title or _MEANINGLESS_TITLE.match(title):
        title = _first_line(pages[0].text)
    return PdfContent(title=title or None, summary=subject or None, date=created, pages=pages)


def _page_text(page) -> str:
    text = page.extract_text() or ""
    text = _HYPHENATED_BREAK.sub(r"\1\2", text.translate(_LIGATURES))
    return clean_block(text)


def _creation_date(info) -> date | None:
    if not info:
        return None
    try:
        return as_date(info.creation_date)
    except (ValueError, TypeError):  # an unreadable /CreationDate string
        return None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if len(line := line.strip()) >= 3:
            return line[:200]
    return ""
