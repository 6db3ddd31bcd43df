"""Files read in worker processes: both cores busy reading, and a time limit per file that can
be enforced from outside.

pypdf and the HTML parsers are pure Python or deep in C: a hostile file can keep them busy
indefinitely, and nothing inside the process can stop them safely. So each file goes through
``extract_file`` in a worker process; a file not read within ``file_timeout_seconds`` has its
worker terminated, is reported as too slow, and a fresh worker takes the next file. Workers are
started when the first file comes and reused from file to file, one file at a time each, so
several files are read at once while the build writes what was read.

Workers come from the "forkserver" context ("spawn" where there is none), never a plain fork:
builds may be started from threads, and a forked copy of a threaded process can deadlock.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from types import TracebackType

from indexer.config import IndexerSettings
from indexer.document import Document
from indexer.errors import ExtractionError, TooSlowFile
from indexer.extract import Source, extract_source

# A worker that has not started in this time means a broken installation (or a __main__ that
# spawned processes cannot import, such as code piped to python), not a slow file.
START_TIMEOUT_SECONDS = 30.0


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Imported once in the server, so each new worker starts with the extractors loaded.
        context.set_forkserver_preload(["indexer.extract"])
        return context
    return multiprocessing.get_context("spawn")


def _ready() -> bool:
    return True


Outcome = Document | ExtractionError
"""A file's document, or why it could not be read."""


def _extract(
    paths: list[Source], settings: IndexerSettings, corpus_dir: Path | None
) -> list[tuple[Outcome, float]]:
    """Runs in a worker: each file's outcome, and how long reading it took there."""
    outcomes: list[tuple[Outcome, float]] = []
    for path in paths:
        started = time.perf_counter()
        try:
            outcome: Outcome = extract_source(path, settings, corpus_dir)
        except ExtractionError as error:
            outcome = error
        outcomes.append((outcome, time.perf_counter() - started))
    return outcomes


class _Slot:
    """One worker process, in a pool of its own so a stuck one can be stopped alone."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.context = context
        self.pool: Pool | None = None
        self.job: Job | None = None

    def free(self) -> bool:
        return self.job is None or self.job.ready()

    def start(self) -> Pool:
        if self.pool is None:
            pool = self.context.Pool(processes=1)
            try:
                # Wait until the worker is up, so the time limit counts reading only.
                pool.apply_async(_ready).get(timeout=START_TIMEOUT_SECONDS)
            except BaseException:
                pool.terminate()
                pool.join()
                raise
            self.pool = pool
        return self.pool

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


class Job:
    """Files being read by a worker, one after another; ``result()`` waits for them, at most
    until the deadline: one file's time limit for them all, as a batch holds only files that
    take milliseconds (pages, not PDFs)."""

    def __init__(
        self, paths: list[Source], slot: _Slot, result: AsyncResult, timeout: float
    ) -> None:
        self.paths = paths
        self.deadline = time.monotonic() + timeout
        self._slot = slot
        self._result = result
        self._timeout = timeout
        self._expired = False

    def ready(self) -> bool:
        return self._expired or self._result.ready()

    def expire(self) -> None:
        """Stops the worker reading this file: the only way to stop pypdf mid-file."""
        if not self.ready():
            self._expired = True
            self._slot.stop()

    def result(self) -> list[Outcome]:
        """Each file's outcome, in order; raises ``TooSlowFile`` when the batch was stopped
        at the deadline (which of its files was slow is then unknown)."""
        if not self._expired:
            try:
                outcomes = self._result.get(max(0.0, self.deadline - time.monotonic()))
            except multiprocessing.TimeoutError:
                self.expire()
            else:
                return [
                    outcome if seconds <= self._timeout else self._too_slow()
                    for outcome, seconds in outcomes
                ]
        raise self._too_slow()

    def _too_slow(self) -> TooSlowFile:
        return TooSlowFile(
            f"too slow: reading the file took longer than the {self._timeout:g} s limit and was "
            "stopped; it may be damaged or unusually complex"
        )


class Workers:
    """Worker processes that read files, each within the time limit; close them when done."""

    def __init__(self, settings: IndexerSettings) -> None:
        self.settings = settings
        context = _context()
        self._slots = [_Slot(context) for _ in range(max(1, settings.extract_workers))]
        # Set from the pool's result thread whenever a file is done.
        self._finished = threading.Event()

    def idle(self) -> bool:
        """Whether a worker is free to take a file now."""
        return any(slot.free() for slot in self._slots)

    def wait_until_idle(self) -> None:
        """Until a worker is free: one finishes its file, or the soonest deadline passes and
        that worker is stopped."""
        while not self.idle():
            soonest = min((slot.job for slot in self._slots if slot.job), key=_deadline)
            if self._finished.wait(max(0.0, soonest.deadline - time.monotonic())):
                self._finished.clear()
            else:
                soonest.expire()

    def submit(self, paths: list[Source], corpus_dir: Path | None) -> Job:
        """Starts reading ``paths`` on a free worker, waiting for one if all are busy."""
        self.wait_until_idle()
        slot = next(slot for slot in self._slots if slot.free())
        result = slot.start().apply_async(
            _extract,
            (paths, self.settings, corpus_dir),
            callback=self._notify,
            error_callback=self._notify,
        )
        slot.job = Job(paths, slot, result, self.settings.file_timeout_seconds)
        return slot.job

    def _notify(self, _: object) -> None:
        self._finished.set()

    def close(self) -> None:
        for slot in self._slots:
            slot.stop()

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _deadline(job: Job) -> float:
    return job.deadline
