"""Index jobs run for staff in the background, and the published versions they can roll
back to.

One job at a time, on a thread of its own, so searching goes on while it runs: a build
publishes a new index version, which the search service moves to between requests. With
quality checks (``checks.py``), the new version must pass them before it is published; a job
held by them fails, and its error names the checks.

Jobs of four kinds: ``update`` and ``full`` read the corpus folder; ``crawl`` reads a
configured website (or each in turn), and ``url`` fetches or removes the pages a CMS names,
on those sites only. Only the websites in the indexer's ``crawl_sites`` are ever crawled: an
address elsewhere is refused before a job starts.

Each job is also written to the state folder (``jobs/<id>.json``) as it starts, as it goes
(at most once a second) and as it ends, so that any server process sharing the state folder
answers GET /admin/jobs/{id} for it, not only the one running it. While it runs, its process
holds a lock on ``jobs/<id>.lock``, which the operating system drops when the process ends,
however it ends: a job whose file says it is still going but whose lock anyone can take was
cut off (the process was killed, or stopped by a restart) and is answered as failed.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer import (
    Actor,
    AuditLog,
    BuildError,
    BuildInProgress,
    BuildLock,
    ChecksFailed,
    CrawlPlan,
    FileLock,
    IndexerError,
    IndexerSettings,
    IndexStore,
    Verifier,
    build_index,
    crawl_index,
    crawl_plan,
    normalise,
    site_of,
    update_index,
    utc_stamp,
    write_atomically,
)
from search_api.errors import InvalidUrl, NoSitesConfigured, SiteNotConfigured
from search_api.staff.checks import QualityChecks

log = logging.getLogger(__name__)

# Jobs remembered for GET /admin/jobs/{id}, newest kept.
KEEP_JOBS = 50
# A running job's file is rewritten at most this often with its progress.
SAVE_PROGRESS_SECONDS = 1.0
_JOB_ID = re.compile(r"[0-9a-f]{12}")
UNFINISHED = ("queued", "running")
INTERRUPTED = (
    "interrupted: the server process running this job stopped (it was restarted, shut down or"
    " killed) before the job ended; the job published nothing, so start it again"
)

Progress = Callable[[int, int], None]
# What a job does once its thread runs: builds with this progress callback and verifier, and
# answers the report.
Work = Callable[[Progress, Verifier | None], dict[str, Any]]


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
    kind: str  # "update", "full", "crawl" or "url"
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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexJob:
        """A job as another process saved it (who started it is in the audit log)."""
        progress = data.get("progress") or {}
        return cls(
            id=data["id"],
            kind=data["kind"],
            state=data.get("state", "queued"),
            done=progress.get("done", 0),
            total=progress.get("total", 0),
            queued_at=data.get("queued_at") or "",
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            seconds=data.get("seconds"),
            report=data.get("report"),
            error=data.get("error"),
        )

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
        build = build_index if full else update_index

        def work(progress: Progress, verify: Verifier | None) -> dict[str, Any]:
            return build(self.settings, progress=progress, verify=verify).to_json()

        return self._launch("full" if full else "update", by, work)

    def start_crawl(
        self,
        url: str | None,
        *,
        full: bool = False,
        only: list[str] | None = None,
        remove: list[str] | None = None,
        by: Actor | None = None,
    ) -> IndexJob:
        """Queues a crawl of ``url``'s site (None: of every configured site, one after the
        other) and starts it; with ``only`` or ``remove``, just those pages are fetched again
        or taken out. ``InvalidUrl``, ``SiteNotConfigured`` or ``NoSitesConfigured`` before
        anything starts; ``BuildInProgress`` when a job is already running."""
        plans = self._crawl_plans(url, full, only or None, remove or [])

        def work(progress: Progress, verify: Verifier | None) -> dict[str, Any]:
            return self._crawl(plans, progress, verify)

        return self._launch("url" if only or remove else "crawl", by, work)

    def _launch(self, kind: str, by: Actor | None, work: Work) -> IndexJob:
        with self._lock:
            if self._running is not None:
                raise BuildInProgress(f"index job {self._running.id} is running")
            with BuildLock(self.settings.index_dir):  # refuse now if a command-line build runs
                pass
            job = IndexJob(id=secrets.token_hex(6), kind=kind, started_by=by)
            # Held from before the file says "queued" until after it says how the job ended.
            alive = ExitStack()
            try:
                alive.enter_context(FileLock(self._alive_path(job.id), blocking=False))
            except OSError:
                log.exception(
                    "could not lock index job %s: other processes may answer it as interrupted",
                    job.id,
                )
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                del self._jobs[old]
            self._running = job
        self._save(job)
        self._forget_old_files()
        threading.Thread(
            target=self._run, args=(job, work, alive), name=f"index-{job.id}", daemon=True
        ).start()
        return job

    def get(self, job_id: str) -> IndexJob | None:
        """The job, from this process's memory or from the file another process wrote; a
        job whose process ended before it did, as failed (``INTERRUPTED``)."""
        job = self._jobs.get(job_id)
        if job is not None or not _JOB_ID.fullmatch(job_id):
            return job
        job = self._read(job_id)
        if job is None or job.state not in UNFINISHED:
            return job
        try:
            with FileLock(self._alive_path(job_id), blocking=False):
                # Taken: no process is running the job. Read again, as it may have ended
                # between the first read and the lock.
                job = self._read(job_id)
                if job is not None and job.state in UNFINISHED:
                    job.state, job.error = "failed", INTERRUPTED
                    self._save(job)  # so, from now on, for everyone
        except BlockingIOError:
            pass  # its process holds the lock: it is still going
        except OSError:
            log.exception("could not check whether index job %s is still running", job_id)
        return job

    def _read(self, job_id: str) -> IndexJob | None:
        try:
            return IndexJob.from_json(json.loads((self._folder / f"{job_id}.json").read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @property
    def _folder(self) -> Path:
        return self.settings.state_dir / "jobs"

    def _alive_path(self, job_id: str) -> Path:
        return self._folder / f"{job_id}.lock"

    def _save(self, job: IndexJob) -> None:
        """The job's file, for the other processes; a failed write costs only them the view."""
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            write_atomically(self._folder / f"{job.id}.json", json.dumps(job.to_json()))
        except OSError:
            log.exception("could not save index job %s for the other server processes", job.id)

    def _forget_old_files(self) -> None:
        """Keeps the newest ``KEEP_JOBS`` job files (and their locks)."""
        with suppress(OSError):
            files = sorted(self._folder.glob("*.json"), key=lambda path: path.stat().st_mtime)
            for old in files[:-KEEP_JOBS]:
                old.unlink(missing_ok=True)
                old.with_suffix(".lock").unlink(missing_ok=True)

    def running(self) -> IndexJob | None:
        """The job running now, if any (another may start as soon as this returns)."""
        return self._running

    def last_report(self) -> dict[str, Any] | None:
        return IndexStore(self.settings.index_dir).last_build()

    def _run(self, job: IndexJob, work: Work, alive: ExitStack) -> None:
        started = time.perf_counter()
        job.state, job.started_at = "running", utc_stamp()

        saved = time.monotonic()
        self._save(job)

        def progress(done: int, total: int) -> None:
            nonlocal saved
            job.done, job.total = done, total
            if time.monotonic() - saved >= SAVE_PROGRESS_SECONDS:
                saved = time.monotonic()
                self._save(job)

        try:
            job.report = work(progress, self._verifier(job))
            job.state = "succeeded"
        except (BuildError, BuildInProgress) as error:
            job.state, job.error = "failed", str(error)
            job.held = isinstance(error, ChecksFailed)
            if isinstance(error, SitesFailed):
                job.report, job.held = error.report, error.held
        except Exception as error:  # reported on the job, never lost in a thread
            job.state, job.error = "failed", f"unexpected error: {error!r}"
        finally:
            job.finished_at = utc_stamp()
            job.seconds = round(time.perf_counter() - started, 3)
            self._save(job)
            alive.close()
            with self._lock:
                self._running = None
            self._record_end(job)

    def _crawl_plans(
        self, url: str | None, full: bool, only: list[str] | None, remove: list[str]
    ) -> list[CrawlPlan]:
        """One plan per site to crawl, each with the pages of ``only`` and ``remove`` on it."""
        if url is None and not self.settings.crawl_sites:
            raise NoSitesConfigured(
                "no website is configured to crawl: set BLMK_CRAWL_SITES to the site's"
                " address (such as https://www.example.org) and restart the server"
            )
        starts = list(self.settings.crawl_sites) if url is None else [self._configured(url)]
        only = [self._configured(page) for page in only] if only is not None else None
        remove = [self._configured(page) for page in remove]
        plans = []
        for start in starts:
            site = site_of(start)
            mine = [page for page in only or [] if site_of(page) == site]
            gone = [page for page in remove if site_of(page) == site]
            if (only is not None or remove) and not (mine or gone):
                continue  # none of the pages named is on this site
            plans.append(
                crawl_plan(
                    self.settings,
                    start,
                    full=full,
                    only=mine if only is not None else None,
                    remove=gone,
                )
            )
        if not plans:
            raise SiteNotConfigured(f"none of the pages named is on {', '.join(starts)}")
        return plans

    def _configured(self, url: str) -> str:
        """``url`` normalised, when it is on one of the configured sites."""
        page = normalise(url)
        if page is None:
            raise InvalidUrl(f"{url[:200]!r} is not a web address (http:// or https://)")
        sites = {site_of(site) for site in self.settings.crawl_sites}
        if site_of(page) not in sites:
            configured = ", ".join(sorted(sites)) or "none (BLMK_CRAWL_SITES is not set)"
            raise SiteNotConfigured(
                f"{page[:200]} is not on a website the index crawls; the sites are: {configured}"
            )
        return page

    def _crawl(
        self, plans: list[CrawlPlan], progress: Progress, verify: Verifier | None
    ) -> dict[str, Any]:
        """Each site in turn. One failing (its robots.txt unreadable, say) does not stop
        the others; the job then fails, with the report of those that were crawled."""
        report: dict[str, Any] | None = None
        sites: list[dict[str, Any]] = []
        failed: list[tuple[str, IndexerError]] = []
        for plan in plans:
            site = site_of(plan.start_url)
            try:
                built = crawl_index(self.settings, plan, progress=progress, verify=verify)
            except (BuildError, BuildInProgress) as error:
                if len(plans) == 1:
                    raise
                failed.append((site, error))
                sites.append({"site": site, "error": str(error)})
                continue
            report = built.to_json()
            sites.append(_site_summary(site, report))
        whole = None if report is None else report | {"sites": sites}
        if failed:
            raise SitesFailed(
                "; ".join(f"{site}: {error}" for site, error in failed),
                whole,
                held=any(isinstance(error, ChecksFailed) for _, error in failed),
            )
        assert whole is not None  # at least one plan, and none failed
        return whole

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
        if report.get("crawl"):
            details["published"] = report.get("published")
            details["crawl"] = [
                {"site": site["site"]} | site.get("counts", {"error": site.get("error")})
                for site in report.get("sites", [])
            ]
        if job.held:
            details["checks"] = "held"
        outcome = "done" if job.state == "succeeded" else "failed"
        try:
            self.audit.record(job.started_by, "index.job", job.id, outcome, job.error, details)
        except OSError:
            log.exception("could not write the audit entry for index job %s", job.id)


class SitesFailed(BuildError):
    """The crawl of one or more of several sites failed while the others went ahead: the
    job fails, keeping the report of those that were crawled."""

    def __init__(self, message: str, report: dict[str, Any] | None, held: bool) -> None:
        super().__init__(message)
        self.report = report
        self.held = held


def _site_summary(site: str, report: dict[str, Any]) -> dict[str, Any]:
    """What a job's ``sites`` list says of one site's crawl."""
    crawl = report.get("crawl") or {}
    return {
        "site": site,
        "version": report.get("version"),
        "published": report.get("published", True),
        "complete": crawl.get("complete"),
        "counts": crawl.get("counts", {}),
    }
