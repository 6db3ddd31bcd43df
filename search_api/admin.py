"""Staff operations behind the admin API: uploads into the corpus, deletions, and index
updates run in the background while search goes on.

Plain functions and classes; ``admin_resources.py`` puts them on HTTP. Nothing here blocks
searching: files are written atomically into the corpus, and a rebuild publishes a new index
version that the search service moves to between requests.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from indexer.build import BuildError, BuildReport, build_index, source_files, update_index
from indexer.config import IndexerSettings
from indexer.document import SCOPES
from indexer.errors import UnsupportedFile
from indexer.extract import HTML_SUFFIXES, PDF_SUFFIXES, sniff
from indexer.extract.html import decode_html, looks_like_html
from indexer.extract.sidecar import sidecar_path
from indexer.lock import BuildInProgress, BuildLock
from indexer.store import IndexStore

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_SAFE_FOLDER = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Jobs remembered for GET /admin/jobs/{id}, newest kept.
KEEP_JOBS = 50


class UploadRejected(ValueError):
    """The upload cannot be stored; the message says why, for the member of staff."""


class UploadTooLarge(UploadRejected):
    pass


@dataclass(slots=True, kw_only=True)
class Upload:
    filename: str
    data: bytes
    folder: str = ""
    topic: str = ""
    scope: str = ""
    title: str = ""


def store_upload(corpus: Path, upload: Upload, max_bytes: int) -> str:
    """Checks an upload and writes it into the corpus; returns its corpus-relative path."""
    if len(upload.data) > max_bytes:
        raise UploadTooLarge(
            f"file: {len(upload.data) / 1_048_576:.1f} MB is over the "
            f"{max_bytes / 1_048_576:g} MB upload limit"
        )
    name = _safe_file_name(upload.filename)
    _check_content(name, upload.data)
    folder = _safe_folder(upload.folder)
    if upload.scope and upload.scope not in SCOPES:
        raise UploadRejected(f"scope: must be one of {', '.join(SCOPES)}, not {upload.scope!r}")
    target = (corpus / folder / name).resolve()
    if not target.is_relative_to(corpus.resolve()):
        raise UploadRejected("folder: the file would land outside the corpus")
    target.parent.mkdir(parents=True, exist_ok=True)
    overrides = {
        key: value
        for key, value in (("title", upload.title), ("scope", upload.scope))
        if value.strip()
    } | ({"topics": [upload.topic.strip()]} if upload.topic.strip() else {})
    if overrides:
        _write_atomically(sidecar_path(target), json.dumps(overrides, indent=1).encode())
    _write_atomically(target, upload.data)
    return target.relative_to(corpus.resolve()).as_posix()


def delete_document(corpus: Path, doc_id: str) -> bool:
    """Removes a source file (and its sidecar) from the corpus; False when there is none."""
    target = (corpus / doc_id).resolve()
    if not target.is_relative_to(corpus.resolve()) or not target.is_file():
        return False
    if target.suffix.lower() not in HTML_SUFFIXES | PDF_SUFFIXES:
        return False
    target.unlink()
    sidecar_path(target).unlink(missing_ok=True)
    return True


def list_documents(corpus: Path) -> list[dict[str, Any]]:
    """The corpus's source files, for the admin page: id, size and modification time."""
    documents = []
    for path in source_files(corpus) if corpus.is_dir() else []:
        status = path.stat()
        documents.append(
            {
                "id": path.relative_to(corpus).as_posix(),
                "bytes": status.st_size,
                "modified": datetime.fromtimestamp(status.st_mtime, UTC).isoformat(
                    timespec="seconds"
                ),
            }
        )
    return documents


def index_versions(index_dir: Path) -> dict[str, Any]:
    """The published versions, newest first, and which is current."""
    store = IndexStore(index_dir)
    current = store.current()
    versions = []
    for version in reversed(store.published()):
        info = store.build_info(version)
        versions.append(
            {
                "name": version.name,
                "built_at": info.get("built_at"),
                "mode": info.get("mode", "full"),
                "documents": info.get("indexed", info.get("documents")),
                "skipped": len(info.get("skipped", [])),
                "current": current is not None and version.name == current.name,
            }
        )
    return {"current": current.name if current else None, "versions": versions}


def roll_back(index_dir: Path) -> str:
    """Publishes the previous version again (``NothingToRollBack`` when there is none)."""
    with BuildLock(index_dir):  # never while a build is about to publish
        return IndexStore(index_dir).rollback().name


def _safe_file_name(filename: str) -> str:
    base = PurePosixPath(filename.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in HTML_SUFFIXES | PDF_SUFFIXES:
        raise UploadRejected("file: only .pdf, .html and .htm files can be uploaded")
    stem = _SAFE_NAME.sub("-", stem).strip(".-_")[:120]
    if not stem:
        raise UploadRejected("file: the file name has no usable characters")
    return f"{stem}.{suffix.lower()}"


def _safe_folder(folder: str) -> str:
    parts = [part for part in folder.strip().strip("/").split("/") if part]
    for part in parts:
        if not _SAFE_FOLDER.match(part):
            raise UploadRejected(
                f"folder: {part!r} is not allowed (lower-case letters, digits, - and _ only)"
            )
    return "/".join(parts)


def _check_content(name: str, data: bytes) -> None:
    """The content decides, not the name: a PDF must be a PDF, a page must be HTML."""
    if not data.strip():
        raise UploadRejected("file: the file is empty")
    kind = sniff(data)  # the indexer's own test, so what is accepted here gets indexed
    if name.endswith(".pdf"):
        if kind != "pdf":
            raise UploadRejected("file: this is not a PDF (it has no PDF header)")
        return
    if kind != "text":
        raise UploadRejected(f"file: this is not an HTML page (it holds {kind} data)")
    try:
        markup = decode_html(data[:65536])
    except UnsupportedFile:
        markup = ""
    if not looks_like_html(markup):
        raise UploadRejected("file: this is not an HTML page (no HTML markup found)")


def _write_atomically(target: Path, data: bytes) -> None:
    staged = target.with_name(f".{target.name}.{secrets.token_hex(4)}.uploading")
    try:
        staged.write_bytes(data)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


@dataclass(slots=True)
class Job:
    """One index update run in the background, as GET /admin/jobs/{id} shows it."""

    id: str
    kind: str  # "update" or "full"
    state: str = "queued"  # queued, running, succeeded, failed
    done: int = 0
    total: int = 0
    queued_at: str = field(default_factory=lambda: _now())
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    report: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": {"done": self.done, "total": self.total},
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "report": self.report,
            "error": self.error,
        }


class IndexJobs:
    """Runs index updates one at a time on a background thread."""

    def __init__(self, settings: IndexerSettings) -> None:
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._running: Job | None = None

    def start(self, full: bool = False) -> Job:
        """Queues an update and starts it; ``BuildInProgress`` when one is already running."""
        with self._lock:
            if self._running is not None:
                raise BuildInProgress(f"index job {self._running.id} is running")
            with BuildLock(self.settings.index_dir):  # refuse now if a command-line build runs
                pass
            job = Job(id=secrets.token_hex(6), kind="full" if full else "update")
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                del self._jobs[old]
            self._running = job
        threading.Thread(target=self._run, args=(job,), name=f"index-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def last_report(self) -> dict[str, Any] | None:
        return IndexStore(self.settings.index_dir).last_build()

    def _run(self, job: Job) -> None:
        started = time.perf_counter()
        job.state, job.started_at = "running", _now()

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            run = build_index if job.kind == "full" else update_index
            report: BuildReport = run(self.settings, progress=progress)
            job.report = report.to_json()
            job.state = "succeeded"
        except (BuildError, BuildInProgress) as error:
            job.state, job.error = "failed", str(error)
        except Exception as error:  # reported on the job, never lost in a thread
            job.state, job.error = "failed", f"unexpected error: {error!r}"
        finally:
            job.finished_at = _now()
            job.seconds = round(time.perf_counter() - started, 3)
            with self._lock:
                self._running = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
