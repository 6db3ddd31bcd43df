"""Editable files (synonyms, best bets, hidden documents, the suggestion stoplist) read again
when they change, with no restart.
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
    """One editable file, parsed, as it is now on disk.

    A missing file means "none": while it is absent (never written, or deleted after being
    read) the value is ``empty``, and it is read again when it reappears. A file that is there
    but cannot be read or parsed is different: the mistake is logged and the last good value
    kept, so an editor's typo never takes search down, where a deleted file is an editor's
    decision to have none.
    """

    def __init__(self, path: Path | None, parse: Callable[[str], T], empty: T) -> None:
        self.path = path
        self.parse = parse
        self._empty = empty
        self._value = empty
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        # Goes up each time the file is read again or found gone: results computed with an
        # older reading are stale.
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

    def with_generation(self) -> tuple[T, int]:
        """The value and the generation it belongs to, taken together: an answer cached under
        the generation must have been computed from that very value."""
        self.get()
        with self._lock:
            return self._value, self.generation

    def _current_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            status = self.path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def _load(self, stamp: tuple[int, int] | None) -> None:
        # The stamp is set last: ``get`` reads it without the lock, and must not see it new
        # while the value is still the old one.
        if stamp is None or self.path is None:
            self._value = self._empty
        else:
            try:
                self._value = self.parse(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as error:
                log.error("%s: %s; still using the last good version", self.path, error)
        self.generation += 1
        self._stamp = stamp
