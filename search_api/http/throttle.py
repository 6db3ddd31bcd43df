"""Slowing down token guessing on the admin routes.

Each wrong admin token is counted against the address it came from, over a sliding window.
An address past the limit gets 429 on every admin route, right token or not, until its oldest
failure in the window has aged out: guessing a long random token at ten tries a minute is
hopeless. Addresses are held in memory only, for the length of the window, and never logged;
at most ``MAX_ADDRESSES`` are tracked, the least recent dropped first, so a flood of addresses
cannot grow memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from cachetools import TTLCache

MAX_ADDRESSES = 10_000


class FailureThrottle:
    def __init__(
        self,
        limit: int = 10,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._failures: TTLCache[str, deque[float]] = TTLCache(
            MAX_ADDRESSES, window_seconds, timer=clock
        )
        self._lock = threading.Lock()

    def wait_seconds(self, address: str) -> float:
        """How long ``address`` must wait before its next admin request; 0 when it need not."""
        with self._lock:
            failures = self._recent(address)
            if len(failures) < self.limit:
                return 0.0
            return max(0.0, failures[0] + self.window - self.clock())

    def failed(self, address: str) -> None:
        with self._lock:
            failures = self._recent(address)
            failures.append(self.clock())
            self._failures[address] = failures  # refreshes its time to live

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address) or deque()
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures
