"""A full build: every source file in the corpus read, written to a new index version, published.

A file that cannot be read is recorded with its reason and left out; the build goes on. The new
version is published only when it holds at least one document.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh.index import create_in

from indexer.config import IndexerSettings
from indexer.document import Document
from indexer.errors import ExtractionError
from indexer.extract import SOURCE_SUFFIXES, extract_file, relative_id
from indexer.extract.profile import ProfileError, cached_profile
from indexer.schema import SCHEMA, SPELLING_FIELD
from indexer.store import IndexStore


class BuildError(Exception):
    """The build produced nothing worth publishing; the live index is unchanged."""


@dataclass(slots=True, kw_only=True)
class Skipped:
    path: str
    code: str
    message: str


@dataclass(slots=True, kw_only=True)
class BuildReport:
    version: str
    indexed: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0


def source_files(corpus_dir: Path) -> list[Path]:
    """HTML and PDF files under the corpus, in a stable order; hidden files are left out."""
    return sorted(
        path
        for path in corpus_dir.rglob("*")
        if path.suffix.lower() in SOURCE_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(corpus_dir).parts)
    )


def extract_all(
    files: list[Path], settings: IndexerSettings, corpus_dir: Path | None
) -> Iterator[Document | Skipped]:
    for path in files:
        try:
            yield extract_file(path, settings, corpus_dir)
        except ExtractionError as error:
            yield Skipped(
                path=relative_id(path, corpus_dir), code=error.code, message=error.message
            )


def index_fields(doc: Document) -> dict[str, object]:
    """A ``Document`` as the schema's fields."""
    fields: dict[str, object] = {
        "id": doc.id,
        "url": doc.url,
        "path": doc.path,
        "type": doc.type,
        "title": doc.title,
        "summary": doc.summary,
        "body": doc.body,
        "topic": ",".join(topic.replace(",", " ") for topic in doc.topics),
        "page_count": len(doc.pages),
        "content_hash": doc.content_hash,
        SPELLING_FIELD: "\n".join((doc.title, doc.summary, doc.body)),
    }
    if doc.date:
        fields["date"] = datetime(doc.date.year, doc.date.month, doc.date.day)
        fields["year"] = doc.year
    if doc.scope:
        fields["scope"] = doc.scope
    return fields


def build_index(
    settings: IndexerSettings, on_file: Callable[[Document | Skipped], None] | None = None
) -> BuildReport:
    """Builds and publishes a new index version from ``settings.corpus_dir``."""
    started = time.perf_counter()
    corpus_dir = settings.corpus_dir
    if not corpus_dir.is_dir():
        raise BuildError(f"corpus folder not found: {corpus_dir}")
    if settings.site_profile:
        try:
            cached_profile(settings.site_profile)
        except ProfileError as error:
            raise BuildError(f"{error}; nothing was indexed") from error
    store = IndexStore(settings.index_dir)
    version = store.new_version()
    try:
        index = create_in(str(version), SCHEMA)
        writer = index.writer()
        indexed, skipped = 0, []
        try:
            for item in extract_all(source_files(corpus_dir), settings, corpus_dir):
                if isinstance(item, Skipped):
                    skipped.append(item)
                else:
                    writer.add_document(**index_fields(item))
                    indexed += 1
                if on_file:
                    on_file(item)
        except BaseException:
            writer.cancel()
            raise
        if indexed == 0:
            writer.cancel()
            raise BuildError(f"no document could be indexed from {corpus_dir}; nothing published")
        writer.commit()
        index.close()
        seconds = time.perf_counter() - started
        store.publish(
            version,
            {
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "documents": indexed,
                "skipped": [
                    {"path": s.path, "code": s.code, "message": s.message} for s in skipped
                ],
                "seconds": round(seconds, 3),
                "corpus": str(corpus_dir),
            },
        )
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    store.prune(settings.keep_versions)
    return BuildReport(version=version.name, indexed=indexed, skipped=skipped, seconds=seconds)
