"""Crawls of every configured website on a schedule (``BLMK_CRAWL_EVERY_MINUTES``).

A daemon thread in the server process starts ``IndexJobs.start_crawl(None)`` once every
interval, in the schedule's own name, so the audit log tells the crawls nobody asked for from
those staff started. A turn that finds a job running (a crawl slower than the interval, an
update a publisher started, a command-line build) is skipped and logged, never queued: the
next turn comes soon enough, and queued crawls would only pile up behind a slow site.

Turns keep to the times the schedule started with, so a slow crawl does not push every later
one back. The first comes one interval after the server starts, not at once: restarting the
server does not crawl the sites again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from indexer import Actor, BuildInProgress
from search_api.staff.jobs import IndexJob, IndexJobs

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = Actor("schedule (BLMK_CRAWL_EVERY_MINUTES)", "server")
# How long ``stop`` waits for the thread: it only ever starts jobs, which run on their own.
STOP_SECONDS = 5.0


class CrawlSchedule:
    """Starts a crawl of every configured site every ``every_seconds`` until stopped;
    ``clock`` (seconds, only ever compared) says when the next turn is due."""

    def __init__(
        self,
        jobs: IndexJobs,
        every_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        by: Actor = SCHEDULE_ACTOR,
    ) -> None:
        if every_seconds <= 0:
            raise ValueError(f"a schedule needs an interval above 0 seconds, not {every_seconds}")
        self.jobs = jobs
        self.every_seconds = every_seconds
        self.clock = clock
        self.by = by
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the crawl schedule is running already")
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="crawl-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No more turns; a crawl already started runs to its end as a job of its own."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(STOP_SECONDS)
            self._thread = None

    def turn(self) -> IndexJob | None:
        """One turn: the crawl job started, or None when it was skipped for a running job."""
        try:
            job = self.jobs.start_crawl(None, by=self.by)
        except BuildInProgress as error:
            log.warning("scheduled crawl skipped this turn: %s", error)
            return None
        log.info("scheduled crawl started as index job %s", job.id)
        return job

    def _run(self) -> None:
        due = self.clock() + self.every_seconds
        while not self._stopped.wait(max(0.0, due - self.clock())):
            try:
                self.turn()
            except Exception:  # logged; the next turn tries again
                log.exception("the scheduled crawl could not be started")
            due += self.every_seconds
            now = self.clock()
            if due <= now:  # turns missed (a suspended machine): none are made up for
                due = now + self.every_seconds
