"""What one server process learns reaches the others through the state folder: index jobs
started by one are answered by all, and sign-in failures counted by one hold the address back
at every one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from indexer import IndexerSettings, IndexStore
from search_api.http.throttle import FailureThrottle
from search_api.staff.jobs import INTERRUPTED, UNFINISHED, IndexJob, IndexJobs
from tests.conftest import CORPUS

REPO = Path(__file__).resolve().parent.parent

# A server process's index jobs, one job started; its checks never end, so the job runs until
# the process is killed.
STALLED_JOB = """
import sys, time
from pathlib import Path
from indexer import IndexerSettings
from search_api.staff.jobs import IndexJobs

class ChecksThatNeverEnd:
    def verifier(self, trigger):
        return lambda version: time.sleep(3600)

root = Path(sys.argv[1])
settings = IndexerSettings(
    corpus_dir=Path(sys.argv[2]), index_dir=root / "index", state_dir=root / "state",
    checks_file=None,
)
job = IndexJobs(settings, checks=ChecksThatNeverEnd()).start(full=True)
print(job.id, flush=True)
time.sleep(3600)
"""


def ended(jobs: IndexJobs, job_id: str, seconds: float = 120) -> IndexJob:
    """The job once it has ended (or as it is when ``seconds`` are up)."""
    deadline = time.monotonic() + seconds
    while (job := jobs.get(job_id)).state in UNFINISHED and time.monotonic() < deadline:
        time.sleep(0.2)
    return job


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
    ended(running, job.id)
    finished = other.get(job.id)
    assert finished.to_json() == running.get(job.id).to_json()
    assert finished.state == "succeeded" and finished.report["indexed"] > 60
    assert other.get("0123456789ab") is None and other.get("../../etc/passwd") is None


def test_a_job_whose_process_was_killed_is_answered_as_interrupted(tmp_path: Path) -> None:
    settings = IndexerSettings(
        corpus_dir=CORPUS,
        index_dir=tmp_path / "index",
        state_dir=tmp_path / "state",
        checks_file=None,
    )
    server = subprocess.Popen(
        [sys.executable, "-c", STALLED_JOB, str(tmp_path), str(CORPUS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        job_id = server.stdout.readline().strip()
        other = IndexJobs(settings)  # another process's view
        deadline = time.monotonic() + 60
        while (seen := other.get(job_id)) is not None and seen.state == "queued":
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.1)
        # Its process holds the job's lock: it is going, and stays so while the process lives.
        assert seen is not None and seen.state == "running" and seen.error is None
        time.sleep(0.5)
        assert other.get(job_id).state == "running"
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()

    interrupted = other.get(job_id)
    assert interrupted.state == "failed" and interrupted.error == INTERRUPTED
    # Written back, so every process and the page see the same from now on.
    saved = json.loads((tmp_path / "state" / "jobs" / f"{job_id}.json").read_text())
    assert saved["state"] == "failed" and saved["error"] == INTERRUPTED
    assert IndexJobs(settings).get(job_id).to_json() == interrupted.to_json()
    # It published nothing, and the build lock died with it: the job can be run again.
    assert IndexStore(settings.index_dir).current() is None
    assert ended(other, other.start(full=True).id).state == "succeeded"
    assert IndexStore(settings.index_dir).current() is not None


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
