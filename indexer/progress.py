"""Build progress for people watching: a progress bar on a terminal, plain lines elsewhere
(log files, CI, the output of a cron job), so neither gets the other's noise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

# Without a terminal: a line at most this often, and always at the end.
LINE_EVERY_SECONDS = 5.0


class ProgressReporter:
    """Pass as a build's ``progress`` callback; ``close()`` when the build ends."""

    def __init__(self, stream: TextIO | None = None, label: str = "reading") -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.terminal = self.stream.isatty()
        self._bar: tqdm | None = None
        self._started = time.perf_counter()
        self._last_line = 0.0

    def __call__(self, done: int, total: int) -> None:
        if self.terminal:
            if self._bar is None:
                self._bar = tqdm(total=total, desc=self.label, unit="file", file=self.stream)
            self._bar.update(done - self._bar.n)
            return
        now = time.perf_counter()
        if done == total or now - self._last_line >= LINE_EVERY_SECONDS:
            self._last_line = now
            rate = done / max(now - self._started, 1e-9)
            print(f"{self.label} {done}/{total} files ({rate:.1f} files/s)", file=self.stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
