"""What each index version was built from: every source file's size, time and content hash.

An incremental update compares the corpus with the current version's manifest to find what is
new, changed or gone, and reads only those files. A file whose size and modification time (and
its sidecar's) are unchanged is taken as unchanged without being read.

Pages and PDFs read from a website (``indexer.crawl``) are kept by URL: each one's validators
(ETag, Last-Modified), content hash, the links found on it and the file its copy is saved in
(``web/`` in the version folder), so that a recrawl can ask "changed since?" and carry over
what has not changed without reading it again.

The manifest also records a fingerprint of everything else that decides what a file becomes in
the index (schema, analysis, extractor version, site profile, base URL): when any of that
changes, an update falls back to a full build.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from indexer.analysis import spelling_analyzer
from indexer.config import IndexerSettings
from indexer.extract.sidecar import sidecar_path
from indexer.files import write_atomically
from indexer.schema import SCHEMA

MANIFEST = "manifest.json"
# Raise when a change to the extractors or to analysis means every file must be read again.
EXTRACTOR_VERSION = 4

Stamp = tuple[int, int]  # (size, modification time in ns)


@dataclass(slots=True, kw_only=True)
class FileRecord:
    """One source file as the version saw it, and what became of it."""

    stamp: Stamp
    sidecar: Stamp | None = None
    doc_id: str | None = None  # None when the file was skipped
    content_hash: str = ""
    code: str | None = None  # why it was skipped
    message: str | None = None
    notes: list[str] = field(default_factory=list)  # indexed, with these for staff to fix


@dataclass(slots=True, kw_only=True)
class UrlRecord:
    """One URL of a web source as the version saw it, and what became of it."""

    site: str  # "scheme://host[:port]" of the crawl that found it
    doc_id: str  # the document its content is indexed as: its canonical URL ("" if none)
    body: str  # its copy's file name under the version's ``web/`` folder ("" if none kept)
    content_hash: str
    fetched_at: str  # when its content was last read (UTC, ISO 8601)
    etag: str | None = None
    last_modified: str | None = None
    links: list[str] = field(default_factory=list)  # same-site links on it, for recrawls
    depth: int = 0  # links followed from a sitemap entry or the start page to reach it
    in_sitemap: bool = False
    missing: int = 0  # crawls in a row that neither listed nor linked it
    role: str = "page"  # "page", or the site's "robots" (robots.txt) or a "sitemap"
    skip: str | None = None  # read but not indexed: "noindex" or "not_a_page"
    code: str | None = None  # why its content could not be indexed
    message: str | None = None


# The folder of a version holding the copies of fetched pages and PDFs.
WEB_FOLDER = "web"


@dataclass(slots=True)
class Manifest:
    fingerprint: str
    files: dict[str, FileRecord] = field(default_factory=dict)
    urls: dict[str, UrlRecord] = field(default_factory=dict)

    def save(self, version: Path) -> None:
        data = {
            "fingerprint": self.fingerprint,
            "files": {path: asdict(record) for path, record in sorted(self.files.items())},
            "urls": {url: asdict(record) for url, record in sorted(self.urls.items())},
        }
        write_atomically(version / MANIFEST, json.dumps(data, indent=1))

    @classmethod
    def load(cls, version: Path) -> Manifest | None:
        """The version's manifest; None when it has none or it cannot be read."""
        try:
            data = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
            files = {
                path: FileRecord(
                    **record
                    | {
                        "stamp": tuple(record["stamp"]),
                        "sidecar": tuple(record["sidecar"]) if record.get("sidecar") else None,
                    }
                )
                for path, record in data["files"].items()
            }
            urls = {url: UrlRecord(**record) for url, record in data.get("urls", {}).items()}
            return cls(fingerprint=data["fingerprint"], files=files, urls=urls)
        except (OSError, ValueError, KeyError, TypeError):
            return None


def file_stamp(path: Path) -> Stamp | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def stamps(path: Path) -> tuple[Stamp | None, Stamp | None]:
    """The file's stamp and its sidecar's (None when it has none)."""
    return file_stamp(path), file_stamp(sidecar_path(path))


def fingerprint(settings: IndexerSettings) -> str:
    """Everything besides a file's own bytes that decides what it becomes in the index."""
    digest = hashlib.sha256()
    digest.update(f"extractor {EXTRACTOR_VERSION}\n".encode())
    for name in SCHEMA.names():
        field_type = SCHEMA[name]
        # Class names only: analyzers' reprs hold sets, whose order differs between processes.
        steps = [type(step).__name__ for step in getattr(field_type.analyzer, "items", [])]
        digest.update(f"{name} {type(field_type).__name__} {steps}\n".encode())
    spelling = [type(step).__name__ for step in spelling_analyzer().items]
    digest.update(f"vocabulary {spelling}\n".encode())
    digest.update(f"base {settings.base_url}\npages {settings.max_pdf_pages}\n".encode())
    if settings.site_profile:
        try:
            digest.update(settings.site_profile.read_bytes())
        except OSError:
            digest.update(b"missing profile")
    return digest.hexdigest()


@dataclass(slots=True)
class Changes:
    """How the corpus differs from a manifest (paths are corpus-relative)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def to_read(self) -> list[str]:
        return self.added + self.changed


def compare(manifest: Manifest, corpus_files: dict[str, Path]) -> Changes:
    """Sorts the corpus's files against the manifest by their stamps alone (nothing is read)."""
    changes = Changes()
    for relative, path in corpus_files.items():
        record = manifest.files.get(relative)
        if record is None:
            changes.added.append(relative)
        elif (record.stamp, record.sidecar) != stamps(path):
            changes.changed.append(relative)
        else:
            changes.unchanged.append(relative)
    changes.removed = sorted(set(manifest.files) - set(corpus_files))
    return changes
