"""Index jobs run for staff in the background, and the published versions they can roll
back to.

One job at a time, on a thread of its own, so searching goes on while it runs: a build
publishes a new index version, which the search service moves to between requests. With
quality checks (``checks.py``), the new version must pass them before it is published; a job
held by them fails, and its error names the checks.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer import (
    Actor,
    AuditLog,
    BuildError,
    BuildInProgress,
    BuildLock,
    BuildReport,
    ChecksFailed,
    IndexerSettings,
    IndexStore,
    Verifier,
    build_index,
    update_index,
    utc_stamp,
)
from search_api.staff.checks import QualityChecks

log = logging.getLogger(__name__)

# Jobs remembered for GET /admin/jobs/{id}, newest kept.
KEEP_JOBS = 50


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


@dataclass(slots=True)
class IndexJob:
    """One index update run in the background, as GET /admin/jobs/{id} shows it."""

    id: str
    kind: str  # "update" or "full"
    state: str = "queued"  # queued, running, succeeded, failed
    done: int = 0
    total: int = 0
    queued_at: str = field(default_factory=utc_stamp)
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    started_by: Actor | None = None
    # Failed because the new version did not pass the quality checks (for the audit entry).
    held: bool = False

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

    def __init__(
        self,
        settings: IndexerSettings,
        audit: AuditLog | None = None,
        checks: QualityChecks | None = None,
    ) -> None:
        self.settings = settings
        # Run on each new version before it is published (None: published unchecked).
        self.checks = checks
        # Where a job's end is recorded (its start is the request's own audit entry).
        self.audit = audit
        self._jobs: dict[str, IndexJob] = {}
        self._lock = threading.Lock()
        self._running: IndexJob | None = None

    def start(self, full: bool = False, by: Actor | None = None) -> IndexJob:
        """Queues an update and starts it; ``BuildInProgress`` when one is already running."""
        with self._lock:
            if self._running is not None:
                raise BuildInProgress(f"index job {self._running.id} is running")
            with BuildLock(self.settings.index_dir):  # refuse now if a command-line build runs
                pass
            job = IndexJob(
                id=secrets.token_hex(6), kind="full" if full else "update", started_by=by
            )
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                del self._jobs[old]
            self._running = job
        threading.Thread(target=self._run, args=(job,), name=f"index-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> IndexJob | None:
        return self._jobs.get(job_id)

    def last_report(self) -> dict[str, Any] | None:
        return IndexStore(self.settings.index_dir).last_build()

    def _run(self, job: IndexJob) -> None:
        started = time.perf_counter()
        job.state, job.started_at = "running", utc_stamp()

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            verify = self._verifier(job)
            run = build_index if job.kind == "full" else update_index
            report: BuildReport = run(self.settings, progress=progress, verify=verify)
            job.report = report.to_json()
            job.state = "succeeded"
        except (BuildError, BuildInProgress) as error:
            job.state, job.error = "failed", str(error)
            job.held = isinstance(error, ChecksFailed)
        except Exception as error:  # reported on the job, never lost in a thread
            job.state, job.error = "failed", f"unexpected error: {error!r}"
        finally:
            job.finished_at = utc_stamp()
            job.seconds = round(time.perf_counter() - started, 3)
            with self._lock:
                self._running = None
            self._record_end(job)

    def _verifier(self, job: IndexJob) -> Verifier | None:
        """The quality checks for this job's new version, from the checks file as it is now."""
        if self.checks is None:
            return None
        try:
            return self.checks.verifier(f"index.{job.kind}")
        except ValueError as error:  # the checks file cannot be read: the message names it
            raise BuildError(f"{error}; nothing was indexed") from error

    def _record_end(self, job: IndexJob) -> None:
        if self.audit is None or job.started_by is None:
            return
        report = job.report or {}
        details = {"kind": job.kind, "seconds": job.seconds} | {
            key: report[key]
            for key in ("version", "indexed", "added", "changed", "removed")
            if key in report
        }
        if "skipped" in report:
            details["skipped"] = len(report["skipped"])
        if job.held:
            details["checks"] = "held"
        outcome = "done" if job.state == "succeeded" else "failed"
        try:
            self.audit.record(job.started_by, "index.job", job.id, outcome, job.error, details)
        except OSError:
            log.exception("could not write the audit entry for index job %s", job.id)
