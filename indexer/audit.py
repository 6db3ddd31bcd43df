"""Who changed what, and when: the audit log staff and operators answer to.

Every change made through the staff tools or the command line (a document uploaded, replaced,
deleted or restored, an index rebuilt or rolled back, an account added or revoked, a sign-in)
appends one JSON line to ``<state_dir>/audit/audit.jsonl``::

    {"time", "account", "role", "action", "target", "outcome", "reason", "details"}

``outcome`` is ``done``, ``refused`` (the change was not allowed or not possible) or
``failed`` (it was tried and went wrong); ``reason`` says why when it was not done. Actions are
dotted (``document.delete``), so a filter can ask for one action or a whole group. Nothing
here is ever given a token, so none can be written.

The log is append-only. Several server processes and the command-line tools write to it at
once, so each append holds an ``flock`` on ``audit/.lock``, writes the whole line with one
``write`` to a file opened for appending, and flushes it to disk before returning: an entry
returned is an entry kept. When a line would take the file past the size limit, the file is
renamed ``audit-<UTC stamp>.jsonl`` under the same lock and a new one begun. Rotated files
are never removed, as an audit log that forgets is no record; archive old ones elsewhere if
the disk needs the room. A power cut mid-append can leave a torn last line: the next append
starts on a line of its own, and reading skips the fragment rather than failing.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from indexer.clock import utc_now, utc_stamp
from indexer.files import flush_folder
from indexer.lock import FileLock

AUDIT_FOLDER = "audit"
OUTCOMES = ("done", "refused", "failed")

CURRENT_FILE = "audit.jsonl"
LOCK_FILE = ".lock"
_ROTATED_PREFIX = "audit-"
_ROTATED_SUFFIX = ".jsonl"
# Rotated files are named by the moment they were closed, to the microsecond, so that their
# names sort as their entries do.
_STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
_FILE_MODE = 0o640  # the service's group (a log reader) may read the log; nobody else
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a change is recorded against."""

    account: str  # an account name, the break-glass token's name, or "<user> (command line)"
    role: str  # "editor", "publisher", "admin", or "server" for the command-line tools


def command_line_actor() -> Actor:
    """The person running a command-line tool, known by their login on the server."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a user id with no name (some containers)
        user = f"uid {os.getuid()}"
    return Actor(f"{user} (command line)", "server")


class AuditLog:
    """The audit log kept under ``state_dir``; cheap to create, so make one where needed."""

    def __init__(self, state_dir: Path, rotate_bytes: int = 10 * 1024 * 1024) -> None:
        self.folder = state_dir / AUDIT_FOLDER
        self.path = self.folder / CURRENT_FILE
        self.rotate_bytes = rotate_bytes

    def record(
        self,
        actor: Actor,
        action: str,
        target: str,
        outcome: str = "done",
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Appends one entry and returns it as written; it is on disk when this returns.

        Values in ``details`` that JSON cannot hold (a path, a time) are written as text.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
        entry = {
            "time": utc_stamp(),
            "account": actor.account,
            "role": actor.role,
            "action": action,
            "target": target,
            "outcome": outcome,
            "reason": reason,
            "details": dict(details or {}),
        }
        line = json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))
        self._append(line.encode("utf-8") + b"\n")
        written: dict[str, Any] = json.loads(line)
        return written

    def entries(
        self, account: str | None = None, action: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The entries, newest first, of ``account`` only and of ``action`` only when given.

        ``action`` is an action (``document.delete``) or a group (``document``). Entries
        appended while the iteration runs are not part of it.
        """
        for entry in self._all_entries():
            if account is not None and entry.get("account") != account:
                continue
            if action is not None and not _action_matches(entry.get("action"), action):
                continue
            yield entry

    def page(
        self,
        page: int = 1,
        per_page: int = 50,
        account: str | None = None,
        action: str | None = None,
    ) -> dict[str, Any]:
        """One page of ``entries``, with the figures a pager needs.

        ``pages`` is at least 1, so an empty log is page 1 of 1; a page past the last is empty.
        """
        if page < 1 or per_page < 1:
            raise ValueError("page and per_page start at 1")
        first = (page - 1) * per_page
        shown: list[dict[str, Any]] = []
        total = 0
        for entry in self.entries(account=account, action=action):
            if first <= total < first + per_page:
                shown.append(entry)
            total += 1
        return {
            "entries": shown,
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": max(1, -(-total // per_page)),
        }

    def _append(self, line: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._locked(shared=False):
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(line) > self.rotate_bytes:
                self._rotate()
                size = 0
            created = size == 0 and not self.path.exists()
            handle = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, _FILE_MODE)
            try:
                if created:
                    os.fchmod(handle, _FILE_MODE)  # whatever the umask took away
                elif size and os.pread(handle, 1, size - 1) != b"\n":
                    line = b"\n" + line  # after a torn line, start a line of our own
                _write_all(handle, line)
                os.fsync(handle)
            finally:
                os.close(handle)
            if created:
                flush_folder(self.folder)

    def _rotate(self) -> None:
        """Renames the current file after the moment it is closed; call under the lock."""
        moment = utc_now()
        newest = max(self._rotated_names(), default=None)
        if newest is not None:  # a clock set back must not sort this file before older ones
            stamp = newest.removeprefix(_ROTATED_PREFIX).removesuffix(_ROTATED_SUFFIX)
            try:
                after = datetime.strptime(stamp, _STAMP_FORMAT).replace(tzinfo=UTC)
            except ValueError:
                after = None
            if after is not None and moment <= after:
                moment = after + timedelta(microseconds=1)
        name = f"{_ROTATED_PREFIX}{moment.strftime(_STAMP_FORMAT)}{_ROTATED_SUFFIX}"
        os.rename(self.path, self.folder / name)
        flush_folder(self.folder)

    def _rotated_names(self) -> list[str]:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        return [
            name
            for name in names
            if name.startswith(_ROTATED_PREFIX) and name.endswith(_ROTATED_SUFFIX)
        ]

    def _all_entries(self) -> Iterator[dict[str, Any]]:
        if not self.folder.is_dir():
            return
        # Under the lock every file is whole and none is being renamed: open the current one
        # and list the rotated ones then. Rotated files never change, so they are opened
        # later, one at a time, once the writers have the lock back.
        with self._locked(shared=True):
            try:
                current: BinaryIO | None = self.path.open("rb")
            except FileNotFoundError:
                current = None
            size = os.fstat(current.fileno()).st_size if current is not None else 0
            rotated = sorted(self._rotated_names(), reverse=True)
        if current is not None:
            with current:
                yield from _decoded(_lines_backwards(current, size))
        for name in rotated:
            try:
                handle = (self.folder / name).open("rb")
            except FileNotFoundError:  # archived elsewhere meanwhile
                continue
            with handle:
                yield from _decoded(_lines_backwards(handle, os.fstat(handle.fileno()).st_size))

    def _locked(self, *, shared: bool) -> FileLock:
        """Writers hold it alone; readers together, which a log reader may take as well."""
        return FileLock(self.folder / LOCK_FILE, shared=shared, mode=_FILE_MODE)


def _action_matches(recorded: object, wanted: str) -> bool:
    """``document`` asks for every ``document.*`` action; ``document.delete`` for just it."""
    return isinstance(recorded, str) and (recorded == wanted or recorded.startswith(wanted + "."))


def _decoded(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:  # a line torn by a power cut, or not UTF-8
            continue
        if isinstance(entry, dict):
            yield entry


def _lines_backwards(handle: BinaryIO, size: int) -> Iterator[bytes]:
    """The non-empty lines of the first ``size`` bytes of ``handle``, last first, read in
    chunks from the end so that a long file is never held whole."""
    end = size
    rest = b""
    while end > 0:
        start = max(0, end - _READ_CHUNK)
        handle.seek(start)
        lines = (handle.read(end - start) + rest).split(b"\n")
        end = start
        rest = lines.pop(0) if end > 0 else b""  # the start of a line, unless at the start
        for line in reversed(lines):
            if line.strip():
                yield line


def _write_all(handle: int, data: bytes) -> None:
    """Writes ``data`` whole: one ``write`` does it, bar a short write on a nearly full disk."""
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]
