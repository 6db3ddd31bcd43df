"""A full build: every source file in the corpus read, written to a new index version, published.

A file that cannot be read is recorded with its reason and left out; the build goes on. The new
version is published only when it holds at least one document.
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh.index import create_in

from indexer.config import IndexerSettings
from indexer.document import Document
from indexer.errors import ExtractionError
from indexer.extract import PDF_SUFFIXES, SOURCE_SUFFIXES, extract_file, relative_id
from indexer.extract.profile import ProfileError, cached_profile
from indexer.extract.workers import Job, Workers
from indexer.schema import SCHEMA, SPELLING_FIELD
from indexer.store import IndexStore

# Files read ahead of the one being written to the index, while a slow PDF is awaited.
LOOKAHEAD = 16


class BuildError(Exception):
    """The build produced nothing worth publishing; the live index is unchanged."""


@dataclass(slots=True, kw_only=True)
class Skipped:
    path: str
    code: str
    message: str


@dataclass(slots=True, kw_only=True)
class Flagged:
    """Indexed, with something for staff to fix (the document's notes)."""

    path: str
    notes: list[str]


@dataclass(slots=True, kw_only=True)
class BuildReport:
    version: str
    indexed: int
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[Flagged] = field(default_factory=list)
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
    files: Iterable[Path],
    settings: IndexerSettings,
    corpus_dir: Path | None,
    workers: Workers | None = None,
) -> Iterator[Document | Skipped]:
    """Each file's document, or why it was skipped, in the order given.

    PDFs go to worker processes (several at once, each within the time limit) while HTML is
    read here. Pass ``workers`` to share them across calls; otherwise they are started here and
    stopped when the iteration ends.
    """
    with ExitStack() as stack:
        if workers is None:
            workers = stack.enter_context(Workers(settings))
        pending: deque[Job | Document | Skipped] = deque()
        for path in files:
            if path.suffix.lower() in PDF_SUFFIXES:
                pending.append(workers.submit(path, corpus_dir))
            else:
                pending.append(_extract_here(path, settings, corpus_dir))
            while pending and (len(pending) > LOOKAHEAD or _is_ready(pending[0])):
                yield _settle(pending.popleft(), corpus_dir)
        while pending:
            yield _settle(pending.popleft(), corpus_dir)


def _extract_here(
    path: Path, settings: IndexerSettings, corpus_dir: Path | None
) -> Document | Skipped:
    try:
        return extract_file(path, settings, corpus_dir)
    except ExtractionError as error:
        return _skipped(path, corpus_dir, error)


def _is_ready(item: Job | Document | Skipped) -> bool:
    return not isinstance(item, Job) or item.ready()


def _settle(item: Job | Document | Skipped, corpus_dir: Path | None) -> Document | Skipped:
    if not isinstance(item, Job):
        return item
    try:
        return item.result()
    except ExtractionError as error:
        return _skipped(item.path, corpus_dir, error)


def _skipped(path: Path, corpus_dir: Path | None, error: ExtractionError) -> Skipped:
    return Skipped(path=relative_id(path, corpus_dir), code=error.code, message=error.message)


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
        indexed, skipped, flagged = 0, [], []
        try:
            for item in extract_all(source_files(corpus_dir), settings, corpus_dir):
                if isinstance(item, Skipped):
                    skipped.append(item)
                else:
                    writer.add_document(**index_fields(item))
                    indexed += 1
                    if item.notes:
                        flagged.append(Flagged(path=item.id, notes=item.notes))
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
                "flagged": [{"path": f.path, "notes": f.notes} for f in flagged],
                "seconds": round(seconds, 3),
                "corpus": str(corpus_dir),
            },
        )
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    store.prune(settings.keep_versions)
    return BuildReport(
        version=version.name, indexed=indexed, skipped=skipped, flagged=flagged, seconds=seconds
    )
