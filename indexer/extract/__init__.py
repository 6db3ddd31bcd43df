"""From a file on disk to a ``Document``: reads the bytes once, then hands them to the
extractor for what the file really is (its content decides, not only its name)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote, unquote, urlsplit

from indexer.config import IndexerSettings
from indexer.document import PAGE_BREAK, Document, Scope
from indexer.errors import TooLargeFile, UnreadableFile, UnsupportedFile
from indexer.extract.html import decode_html, extract_html, looks_like_html
from indexer.extract.layout import (
    FolderFacets,
    facets_from_breadcrumb,
    facets_from_path,
    type_from_url,
)
from indexer.extract.pdf import extract_pdf
from indexer.extract.profile import cached_profile
from indexer.extract.sidecar import read_sidecar
from indexer.text import shorten

HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SOURCE_SUFFIXES = HTML_SUFFIXES | PDF_SUFFIXES


def relative_id(path: Path, corpus_dir: Path | None) -> str:
    """The corpus-relative path with forward slashes; the file name alone outside a corpus."""
    if corpus_dir is not None:
        try:
            return path.resolve().relative_to(corpus_dir.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def read_source(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            megabytes, limit = size / 1_048_576, max_bytes / 1_048_576
            raise TooLargeFile(f"too large: {megabytes:.1f} MB is over the {limit:.0f} MB limit")
        return path.read_bytes()
    except FileNotFoundError as error:
        raise UnreadableFile("not found: no such file") from error
    except IsADirectoryError as error:
        raise UnreadableFile("not a file: this is a folder") from error
    except PermissionError as error:
        raise UnreadableFile("unreadable: permission denied") from error


def sniff(data: bytes) -> str:
    """What the bytes are, whatever the name says: "pdf", "binary" or "text"."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf\r\n\t ")
    if head.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if b"\x00" in data[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    return "text"


def content_kind(data: bytes) -> str:
    """ "pdf", "html" or "other", by the bytes alone: what a fetched response is, whatever
    its URL or its Content-Type says."""
    kind = sniff(data)
    if kind == "pdf":
        return "pdf"
    try:
        if kind == "text" and looks_like_html(decode_html(data[:65536])):
            return "html"
    except UnsupportedFile:  # text that cannot be decoded
        pass
    return "other"


def check_content(name: str, data: bytes) -> None:
    """``UnsupportedFile`` unless ``data`` is what ``name`` says and a build would read it:
    the same tests a build applies, so a file accepted before it is indexed gets indexed."""
    if not data.strip():
        raise UnsupportedFile("the file is empty")
    kind = sniff(data)
    if Path(name).suffix.lower() in PDF_SUFFIXES:
        if kind != "pdf":
            raise UnsupportedFile("this is not a PDF (it has no PDF header)")
        return
    if kind != "text":
        raise UnsupportedFile(f"this is not an HTML page (it holds {kind} data)")
    try:
        markup = decode_html(data[:65536])
    except UnsupportedFile:
        markup = ""
    if not looks_like_html(markup):
        raise UnsupportedFile("this is not an HTML page (no HTML markup found)")


class _Common(TypedDict):
    """What every document is given from its place in the corpus, whatever its kind."""

    id: str
    path: str
    url: str
    scope: Scope | None


@dataclass(frozen=True, slots=True)
class WebSource:
    """A page or PDF fetched from a website and saved at ``path``; ``url`` (its canonical
    address, as the crawler settled it) is both its id and its link in results."""

    path: Path
    url: str


Source = Path | WebSource
"""What a build reads: a corpus file, or a fetched copy of a web page or PDF."""


def source_path(source: Source) -> Path:
    return source.path if isinstance(source, WebSource) else source


def extract_source(source: Source, settings: IndexerSettings, corpus_dir: Path | None) -> Document:
    """``extract_file`` for a corpus file, ``extract_fetched`` for a fetched one."""
    if isinstance(source, WebSource):
        return extract_fetched(source, settings)
    return extract_file(source, settings, corpus_dir)


def extract_file(path: Path, settings: IndexerSettings, corpus_dir: Path | None = None) -> Document:
    """Reads one source file; raises an ``ExtractionError`` saying why it cannot be indexed."""
    suffix = path.suffix.lower()
    if suffix not in SOURCE_SUFFIXES:
        raise UnsupportedFile(f"unsupported: {suffix or 'no'} extension (HTML and PDF only)")
    data = read_source(path, settings.max_file_bytes)
    kind = sniff(data)
    doc_id = relative_id(path, corpus_dir)
    folders = facets_from_path(doc_id)
    common = _Common(
        id=doc_id, path=doc_id, url=f"{settings.base_url}/{quote(doc_id)}", scope=folders.scope
    )
    if suffix in PDF_SUFFIXES:
        if kind != "pdf":
            raise UnsupportedFile("not a PDF: the file has a .pdf name but no PDF header")
        return _with_sidecar(_pdf_document(path, data, settings, common, folders), path, data)
    if kind != "text":
        raise UnsupportedFile(f"not HTML: the file has a {suffix} name but holds {kind} data")
    doc = _html_document(data, settings, common, folders, canonical=True)
    return _with_sidecar(doc, path, data)


def extract_fetched(source: WebSource, settings: IndexerSettings) -> Document:
    """Reads a fetched page or PDF by what its bytes are (a server's Content-Type and a URL's
    extension are often wrong). Its folders facets come from the URL's path, as a corpus
    file's come from its folders; the page's own canonical link was already weighed by the
    crawler, so it is not read again here."""
    data = read_source(source.path, settings.max_file_bytes)
    kind = content_kind(data)
    path = unquote(urlsplit(source.url).path).lstrip("/")
    folders = facets_from_path(path)
    common = _Common(id=source.url, path=path, url=source.url, scope=folders.scope)
    if kind == "pdf":
        doc = _pdf_document(Path(path or "document"), data, settings, common, folders)
    elif kind == "html":
        doc = _html_document(data, settings, common, folders, canonical=False)
    else:
        raise UnsupportedFile("not a page: the response holds neither HTML nor a PDF")
    doc.source = "web"
    doc.content_hash = hashlib.sha256(data).hexdigest()
    return doc


def _html_document(
    data: bytes,
    settings: IndexerSettings,
    common: _Common,
    folders: FolderFacets,
    canonical: bool,
) -> Document:
    profile = cached_profile(settings.site_profile) if settings.site_profile else None
    html = extract_html(data, profile)
    if canonical and html.canonical_url:
        common["url"] = html.canonical_url
    trail = facets_from_breadcrumb([crumb.label for crumb in html.breadcrumb])
    doc_type = (
        folders.type
        or trail.type
        or type_from_url(html.canonical_url if canonical else common["url"])
    )
    return Document(
        **common,
        type=doc_type or ("news" if html.is_article else "page"),
        title=html.title,
        summary=html.summary,
        body=html.body,
        date=html.date,
        topics=list(dict.fromkeys([*folders.topics, *trail.topics, *html.topics])),
        language=html.language,
    )


def _pdf_document(
    path: Path,
    data: bytes,
    settings: IndexerSettings,
    common: _Common,
    folders: FolderFacets,
) -> Document:
    """The PDF's pages and metadata; ``path`` names it when it has no title of its own."""
    pdf = extract_pdf(data, settings.max_pdf_pages)
    doc = Document(
        **common,
        type=folders.type or "document",
        title=pdf.title or tidy_file_name(path),
        summary=pdf.summary or shorten(" ".join(page.text for page in pdf.pages)),
        body=PAGE_BREAK.join(page.text for page in pdf.pages),
        date=pdf.date,
        topics=folders.topics,
        pages=pdf.pages,
        author=pdf.author,
        language=pdf.language,
        notes=pdf.notes,
    )
    return doc


def _with_sidecar(doc: Document, path: Path, data: bytes) -> Document:
    """The document with its sidecar's corrections (``<file>.json`` beside it) on top, and
    its content hash (the one place a file is hashed: over its bytes and its sidecar's)."""
    sidecar = read_sidecar(path)
    digest = hashlib.sha256(data)
    if sidecar is not None:  # a corrected sidecar must count as a changed document
        digest.update(b"\0sidecar\0" + sidecar.data)
    doc.content_hash = digest.hexdigest()
    if sidecar is not None:
        doc.title = sidecar.title or doc.title
        doc.summary = sidecar.summary or doc.summary
        doc.date = sidecar.date or doc.date
        doc.topics = doc.topics if sidecar.topics is None else sidecar.topics
        doc.scope = sidecar.scope or doc.scope
        doc.notes = [*doc.notes, *sidecar.notes]
    return doc


def tidy_file_name(path: Path) -> str:
    """A title made from a file name: "annual_report-2024" -> "Annual report 2024"."""
    words = path.stem.replace("_", " ").replace("-", " ").split()
    title = " ".join(words)
    return title[:1].upper() + title[1:]
