"""Slowing down token guessing on the admin routes.

Each wrong admin token is counted against the address it came from, over a sliding window.
An address past the limit gets 429 on every admin route, right token or not, until its oldest
failure in the window has aged out: guessing a long random token at ten tries a minute is
hopeless. Addresses are never logged; at most ``MAX_ADDRESSES`` are tracked, the least recent
dropped first, so a flood of addresses cannot grow memory or the file.

With ``path`` (in the state folder), the failures are kept in that file rather than in memory,
so that every server process behind a proxy counts the same failures: otherwise each would
allow its own ten, and a guesser spread over N processes would get N times as many tries.
The file holds a hash of each address, not the address, and only failures inside the window.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from cachetools import TTLCache

from indexer import FileLock, write_atomically

MAX_ADDRESSES = 10_000


class FailureThrottle:
    def __init__(
        self,
        limit: int = 10,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        path: Path | None = None,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock  # wall time: processes sharing ``path`` compare each other's
        self.path = path
        self._failures: TTLCache[str, deque[float]] = TTLCache(
            MAX_ADDRESSES, window_seconds, timer=clock
        )
        self._lock = threading.Lock()

    def wait_seconds(self, address: str) -> float:
        """How long ``address`` must wait before its next admin request; 0 when it need not."""
        if self.path is not None:
            failures = deque(self._read().get(_hashed(address), []))
        else:
            with self._lock:
                failures = self._recent(address)
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window - self.clock())

    def failed(self, address: str) -> None:
        if self.path is not None:
            self._record_in_file(_hashed(address))
            return
        with self._lock:
            failures = self._recent(address)
            failures.append(self.clock())
            self._failures[address] = failures  # refreshes its time to live

    def _record_in_file(self, key: str) -> None:
        assert self.path is not None
        with self._lock, FileLock(self.path.with_name(self.path.name + ".lock")):
            horizon = self.clock() - self.window
            kept = {
                each: recent
                for each, times in self._read().items()
                if (recent := [t for t in times if t > horizon])
            }
            kept[key] = [*kept.pop(key, []), self.clock()]  # the most recent last
            newest = dict(list(kept.items())[-MAX_ADDRESSES:])
            write_atomically(self.path, json.dumps(newest))

    def _read(self) -> dict[str, list[float]]:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or damaged: counting starts again
        return data if isinstance(data, dict) else {}

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address) or deque()
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures


def _hashed(address: str) -> str:
    """What the shared file keeps of an address: enough to count it, not to read it."""
    return hashlib.sha256(address.encode()).hexdigest()[:32]
