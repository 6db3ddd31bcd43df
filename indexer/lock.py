"""File locks shared by processes and threads, and the one that allows one build at a time.

A ``FileLock`` is an advisory ``flock``. The operating system releases it when the holding
process ends, however it ends (kill -9 included), so a lock left by a dead process never blocks
the next one: there is nothing stale to detect or clear.

``BuildLock`` is the ``FileLock`` on ``<index root>/build.lock``, refusing at once while another
build holds it. The file itself stays, holding the last holder's process id and start time for
the refusal message.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from indexer.clock import utc_stamp
from indexer.errors import BuildInProgress

LOCK_FILE = "build.lock"


class FileLock:
    """An advisory ``flock`` on ``path``, held from the start of a ``with`` to its end.

    A flock belongs to an open file description and each entry opens the file afresh, so two
    threads of one process exclude each other as two processes do. The operating system drops
    it when its holder dies, however it dies. ``shared`` holders exclude only the exclusive kind
    (readers beside readers); ``blocking=False`` raises ``BlockingIOError`` at once instead of
    waiting for the holder. The file (and its folder) is made when missing, with ``mode``, and
    opened read-only: a lock needs no access to the content, so whoever may read the file may
    take it. Not re-entrant: an instance has one holder at a time, so make one per ``with``.
    """

    def __init__(
        self, path: Path, *, blocking: bool = True, shared: bool = False, mode: int = 0o644
    ) -> None:
        self.path = path
        self.blocking = blocking
        self.shared = shared
        self.mode = mode
        self._handle: int | None = None

    def __enter__(self) -> Self:
        if self._handle is not None:
            raise RuntimeError(f"{self.path} is held through this object already")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDONLY | os.O_CREAT, self.mode)
        kind = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            fcntl.flock(handle, kind if self.blocking else kind | fcntl.LOCK_NB)
        except BaseException:
            os.close(handle)
            raise
        self._handle = handle
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            # Unlocked before it is closed: a child forked meanwhile shares the open file, and
            # closing alone would leave the lock held through the child's copy.
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None


class BuildLock(FileLock):
    def __init__(self, root: Path) -> None:
        super().__init__(root / LOCK_FILE, blocking=False)

    def __enter__(self) -> Self:
        try:
            super().__enter__()
        except BlockingIOError:
            raise BuildInProgress(
                f"another build of {self.path.parent} is running{_read_holder(self.path)}; "
                "try again when it ends"
            ) from None
        try:
            holder = {"pid": os.getpid(), "started": utc_stamp()}
            self.path.write_bytes(json.dumps(holder).encode())
        except BaseException:
            super().__exit__(None, None, None)
            raise
        return self


def _read_holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_bytes() or b"{}")
        return f" (process {holder['pid']}, started {holder['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
