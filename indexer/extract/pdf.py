"""Reads a PDF page by page with pypdf, so a hit can name the page that answers the query.

Whatever a PDF holds ends as a ``PdfContent`` or an ``ExtractionError``: pypdf raises assorted
builtin errors on damaged files, and one bad upload must never stop a build. What can still
hang (pypdf is pure Python) is bounded from outside, by the worker that calls this.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

from indexer.dates import as_date
from indexer.document import Page
from indexer.errors import (
    CorruptFile,
    EmptyFile,
    EncryptedFile,
    ExtractionError,
    TooLargeFile,
)
from indexer.extract.running import drop_running_lines
from indexer.text import clean_block, clean_inline

# Titles that PDF writers fill in by themselves and that say nothing about the document.
_MEANINGLESS_TITLE = re.compile(
    r"^(untitled|title|document\d*|microsoft (word|powerpoint)\b.*|.*\.(docx?|pptx?|pdf|tex))$",
    re.I,
)
_MEANINGLESS_AUTHOR = re.compile(r"^(anonymous|unknown|user|admin(istrator)?|owner)$", re.I)
logging.getLogger("pypdf").setLevel(logging.ERROR)
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
# A word broken at a line end ("commun-\nity"); rejoined when it goes on in lower case, so
# "2020-\n2021" and "North-\nEast" keep their hyphens.
_HYPHENATED_BREAK = re.compile(r"(\w)-[ \t]*\n[ \t]*(\w)")
# The longest first line of page 1 still read as a heading, when metadata has no title.
_HEADING_WORDS = 10
NEEDS_PASSWORD = "encrypted: the PDF needs a password to open; publish a copy without one"
NO_TEXT_LAYER = (
    "no text layer: the pages are images with no text to search (a scan?), so only the "
    "title and metadata are indexed; please supply an accessible version with real text"
)


# Said of a page whose content pypdf stopped inflating at its size limit (75 MB a stream).
OVER_LIMIT = "its content expands past the reader's size limit (a decompression bomb?)"


@dataclass(slots=True, kw_only=True)
class PdfContent:
    title: str | None
    summary: str | None
    date: date | None
    author: str = ""
    language: str | None = None
    pages: list[Page] = field(default_factory=list)
    # Indexed, but with something staff should fix.
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class _Metadata:
    title: str = ""
    author: str = ""
    subject: str = ""
    created: date | None = None
    language: str | None = None


def extract_pdf(data: bytes, max_pages: int | None = None) -> PdfContent:
    """Every page's text and the document's metadata; raises an ``ExtractionError`` saying
    why the PDF cannot be indexed (``max_pages``: more pages is "too large")."""
    with warnings.catch_warnings():
        # pypdf warns about every recoverable flaw; what matters is whether text came out.
        warnings.simplefilter("ignore")
        try:
            return _read_pdf(data, max_pages)
        except ExtractionError:
            raise
        except FileNotDecryptedError as error:
            raise EncryptedFile(NEEDS_PASSWORD) from error
        except DependencyError as error:  # AES without the cryptography package
            raise EncryptedFile(
                f"encrypted: this installation cannot decrypt the PDF's encryption (pypdf: {error})"
            ) from error
        except Exception as error:  # any builtin error pypdf lets out on a damaged file
            raise CorruptFile(
                "corrupt: the PDF is damaged and cannot be read; export or upload it again "
                f"(pypdf: {_describe(error)})"
            ) from error


def _read_pdf(data: bytes, max_pages: int | None) -> PdfContent:
    reader = PdfReader(BytesIO(data))
    # Owner-password PDFs (printing or copying restricted) open with the empty password.
    if reader.is_encrypted and not reader.decrypt(""):
        raise EncryptedFile(NEEDS_PASSWORD)
    count = len(reader.pages)
    if count == 0:
        raise EmptyFile("no pages: the PDF has no pages")
    if max_pages is not None and count > max_pages:
        raise TooLargeFile(f"too large: {count:,} pages is over the {max_pages:,}-page limit")
    raw, unreadable, over_limit = _page_texts(reader)
    if len(over_limit) == count:
        raise TooLargeFile(f"too large: {OVER_LIMIT}; export the PDF again")
    if len(unreadable) + len(over_limit) == count:
        raise CorruptFile("corrupt: pypdf could not read the text of any page")
    texts = drop_running_lines(raw)
    pages = [Page(number=number, text=text) for number, text in enumerate(texts, start=1)]
    meta = _metadata(reader)
    notes = []
    if not any(raw):
        notes.append(NO_TEXT_LAYER)
    if unreadable:
        numbers = ", ".join(map(str, unreadable))
        notes.append(f"unreadable pages: the text of page {numbers} could not be read")
    if over_limit:
        numbers = ", ".join(map(str, over_limit))
        notes.append(f"unreadable pages: page {numbers} not read, as {OVER_LIMIT}")
    title = meta.title if _meaningful_title(meta.title) else _first_heading(texts[0])
    return PdfContent(
        title=title or None,
        summary=meta.subject or None,
        date=meta.created,
        author=meta.author,
        language=meta.language,
        pages=pages,
        notes=notes,
    )


def _page_texts(reader: PdfReader) -> tuple[list[str], list[int], list[int]]:
    """Each page's cleaned text; the numbers of the pages whose text could not be read, and
    of those whose content was too large to read."""
    texts: list[str] = []
    unreadable: list[int] = []
    over_limit: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            texts.append(_page_text(page))
        except DependencyError:
            raise
        except LimitReachedError:
            texts.append("")
            over_limit.append(number)
        except Exception:  # one damaged page costs that page, not the document
            texts.append("")
            unreadable.append(number)
    return texts, unreadable, over_limit


def _page_text(page: Any) -> str:
    text = (page.extract_text() or "").translate(_LIGATURES)
    text = _HYPHENATED_BREAK.sub(_rejoin, text)
    return clean_block(text)


def _rejoin(match: re.Match[str]) -> str:
    before, after = match.groups()
    return before + after if after.islower() else match.group(0)


def _metadata(reader: PdfReader) -> _Metadata:
    """Document information first, XMP where it is silent; unreadable metadata is no metadata
    (the text is still worth indexing)."""
    meta = _Metadata()
    try:
        info = reader.metadata
    except Exception:
        info = None
    if info:
        meta.title = _field(info, "title")
        meta.author = _author(_field(info, "author"))
        meta.subject = _field(info, "subject")
        meta.created = _creation_date(info)
    try:
        xmp = reader.xmp_metadata
    except Exception:
        xmp = None
    if xmp is not None:
        if not _meaningful_title(meta.title):
            meta.title = _xmp_text(xmp, "dc_title") or meta.title
        meta.author = meta.author or _author(_xmp_text(xmp, "dc_creator"))
        meta.subject = meta.subject or _xmp_text(xmp, "dc_description")
        meta.created = meta.created or _xmp_date(xmp)
    try:
        language = reader.root_object.get("/Lang")
    except Exception:
        language = None
    meta.language = clean_inline(str(language)) if language else None
    return meta


def _field(info: Any, name: str) -> str:
    try:
        return clean_inline(str(getattr(info, name) or ""))
    except Exception:
        return ""


def _author(value: str) -> str:
    return "" if _MEANINGLESS_AUTHOR.match(value) else value


def _xmp_text(xmp: Any, name: str) -> str:
    """An XMP text property: a language map ({"x-default": ...}) or a list of values."""
    try:
        value = getattr(xmp, name)
    except Exception:
        return ""
    if isinstance(value, dict):
        value = value.get("x-default") or next(iter(value.values()), "")
    elif isinstance(value, list):
        value = "; ".join(str(v) for v in value if v)
    return clean_inline(str(value or ""))


def _xmp_date(xmp: Any) -> date | None:
    try:
        return as_date(xmp.xmp_create_date)
    except Exception:
        return None


def _creation_date(info: Any) -> date | None:
    try:
        return as_date(info.creation_date)
    except Exception:  # an unreadable /CreationDate string
        return None


def _meaningful_title(title: str) -> bool:
    return bool(title) and not _MEANINGLESS_TITLE.match(title)


def _first_heading(text: str) -> str:
    """The first line of page 1, when it is short enough to be a heading."""
    for line in text.splitlines():
        line = line.strip()
        if len(line) >= 3 and re.search(r"[^\W\d_]", line):
            return line[:200] if len(line.split()) <= _HEADING_WORDS else ""
    return ""


def _describe(error: Exception) -> str:
    text = clean_inline(str(error))[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
