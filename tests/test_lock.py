"""File locks: exclusive holders one at a time, shared ones together, and a lock that is
not waited for refuses at once. (Threads and a killed holder: the staff lock's tests in
test_history.py, as ``StaffLock`` is a ``FileLock``.)"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from indexer import FileLock


def test_readers_share_the_lock_and_keep_a_writer_out(tmp_path: Path) -> None:
    path = tmp_path / "audit" / ".lock"
    readers = FileLock(path, shared=True), FileLock(path, shared=True, blocking=False)
    with readers[0], readers[1], pytest.raises(BlockingIOError):
        FileLock(path, blocking=False).__enter__()
    # Free again once the readers are done, and now a writer keeps a reader out.
    with FileLock(path, blocking=False), pytest.raises(BlockingIOError):
        FileLock(path, shared=True, blocking=False).__enter__()


def test_the_file_and_its_folder_are_made_with_the_mode_given(tmp_path: Path) -> None:
    path = tmp_path / "state" / "accounts.lock"
    with FileLock(path, mode=0o600):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_one_instance_has_one_holder_at_a_time(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "staff.lock", blocking=False)  # a second holder fails, not hangs
    with lock, pytest.raises(RuntimeError, match="held through this object"):
        lock.__enter__()
    with lock:  # released on exit, so the same instance can be used again
        pass
