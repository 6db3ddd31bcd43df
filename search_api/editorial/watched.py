"""Editable files (synonyms, best bets) read again when they change, with no restart.

A file that is missing means "none"; a file with a mistake in it is logged and the last good
version kept, so an editor's typo never takes search down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class WatchedFile(Generic[T]):
    def __init__(self, path: Path | None, parse: Callable[[str], T], empty: T) -> None:
        self.path = path
        self.parse = parse
        self._value = empty
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        # Goes up each time the file is read again: results computed with an older reading
        # are stale.
        self.generation = 0

    def get(self) -> T:
        """The parsed file as it is now on disk (re-read only when its size or time changed)."""
        stamp = self._current_stamp()
        if stamp == self._stamp:
            return self._value
        with self._lock:
            if stamp != self._stamp:
                self._load(stamp)
        return self._value

    def _current_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            status = self.path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def _load(self, stamp: tuple[int, int] | None) -> None:
        self._stamp = stamp
        self.generation += 1
        if stamp is None or self.path is None:
            return
        try:
            self._value = self.parse(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            log.error("%s: %s; still using the last good version", self.path, error)
