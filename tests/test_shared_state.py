"""What one server process learns reaches the others through the state folder: index jobs
started by one are answered by all, and sign-in failures counted by one hold the address back
at every one."""

from __future__ import annotations

import time
from pathlib import Path

from indexer import IndexerSettings
from search_api.http.throttle import FailureThrottle
from search_api.staff.jobs import IndexJobs
from tests.conftest import CORPUS


def test_an_index_job_started_in_one_process_is_answered_by_another(tmp_path: Path) -> None:
    def settings() -> IndexerSettings:
        return IndexerSettings(
            corpus_dir=CORPUS,
            index_dir=tmp_path / "index",
            state_dir=tmp_path / "state",
            checks_file=None,
        )

    running, other = IndexJobs(settings()), IndexJobs(settings())  # two processes' views
    job = running.start(full=True)
    seen = other.get(job.id)
    assert seen is not None and seen.kind == "full"
    deadline = time.monotonic() + 120
    while running.get(job.id).state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    finished = other.get(job.id)
    assert finished.to_json() == running.get(job.id).to_json()
    assert finished.state == "succeeded" and finished.report["indexed"] > 60
    assert other.get("0123456789ab") is None and other.get("../../etc/passwd") is None


def test_sign_in_failures_counted_by_one_process_hold_the_address_at_all(tmp_path: Path) -> None:
    path = tmp_path / "state" / "sign-in-failures.json"
    path.parent.mkdir()
    now = [1_000.0]
    one, two = (FailureThrottle(limit=3, clock=lambda: now[0], path=path) for _ in range(2))
    one.failed("198.51.100.4")
    two.failed("198.51.100.4")
    assert one.wait_seconds("198.51.100.4") == 0
    one.failed("198.51.100.4")
    assert two.wait_seconds("198.51.100.4") == 60.0
    assert two.wait_seconds("198.51.100.5") == 0
    assert "198.51.100.4" not in path.read_text()  # kept hashed, never as the address
    now[0] += 61
    assert one.wait_seconds("198.51.100.4") == 0
