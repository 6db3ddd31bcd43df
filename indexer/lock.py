"""One build at a time per index root.

The lock is an advisory ``flock`` on ``<index root>/build.lock``. The operating system releases
it when the holding process ends, however it ends (kill -9 included), so a lock left by a dead
process never blocks the next build: there is nothing stale to detect or clear. The file itself
stays, holding the last holder's process id and start time for the refusal message.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from indexer.clock import utc_stamp
from indexer.errors import BuildInProgress

LOCK_FILE = "build.lock"


class BuildLock:
    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self._handle: int | None = None

    def __enter__(self) -> BuildLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(handle)
            os.close(handle)
            raise BuildInProgress(
                f"another build of {self.path.parent} is running{holder}; try again when it ends"
            ) from None
        os.ftruncate(handle, 0)
        os.write(handle, json.dumps({"pid": os.getpid(), "started": utc_stamp()}).encode())
        self._handle = handle
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None


def _read_holder(handle: int) -> str:
    try:
        holder = json.loads(os.pread(handle, 200, 0) or b"{}")
        return f" (process {holder['pid']}, started {holder['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
