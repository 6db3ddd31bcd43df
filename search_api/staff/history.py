"""Revisions and trash: every change staff make to the corpus can be undone, and no crash
leaves one half made.

Every write of a document into or out of the corpus goes through ``DocumentHistory``, uploads
included. Replacing a document keeps what it held, sidecar and all, as a *revision*; deleting
one moves it into the *trash*. Both can be brought back, and both are kept ``keep_days``
before ``purge`` removes them. Under the state folder:

    staff.lock                                flock held by every change, from its recovery on
    journal/<change>.undo.json | .redo.json   a change under way, and which way recovery goes
    trash/<entry>/entry.json, <name>[, <name>.json]
    revisions/<doc id>/<revision>/revision.json, <name>[, <name>.json]

Crash safety. A change writes its journal record, flushed to disk, before its first step;
renames it from ``.undo.json`` to ``.redo.json`` at its commit point; and removes it after its
last step. Each change holds the staff lock from its recovery to its end, so a record that
``recover`` finds (holding the lock too) belongs to a dead process: an ``undo`` record is
rolled back to the state before the change, a ``redo`` one is finished. Each step can be
undone or finished from whatever it left on disk:

    write    1 journal record                         undo: removed
             2 missing folders of the document made   undo: removed again when empty
             3 new bytes (and sidecar) staged beside  undo: deleted
               the document, hidden: .<name>.<change>.staged
             4 old bytes and sidecar copied to        undo: both removed
               revisions/<doc>/.<rev>.partial, renamed to <rev> once whole
             5 commit: the record becomes redo
             6 staged sidecar renamed into place,     redo: whatever is still staged is renamed
               or the old one removed                 into place; a sidecar to go is removed
             7 staged document renamed into place
    delete   1 record; 2 trash/<entry>/entry.json     undo: the entry folder removed
             3 sidecar, 4 document moved into it      undo: moved back
             5 commit                                 (nothing left to finish)
    restore  1 record; 2 missing folders made         undo: removed again when empty
             3 sidecar, 4 document moved back         undo: moved to the trash again
             5 commit; 6 the entry folder removed     redo: removed

``restore_revision`` is a write of the revision's files. A move is a rename; across file
systems it is a copy to a hidden ``.<name>.moving`` beside the target, flushed and renamed into
place, and only then the source's removal. So where recovery finds both, the target is whole,
and the side the move is leaving is dropped (only when both hold the content the journal
recorded: a file put there by someone else is never removed). ``purge`` first renames what it
removes to a hidden ``journal/.purging-*`` folder, so one cut short lists nothing half gone;
recovery clears the hidden leftovers in the journal folder.

A full disk (ENOSPC, EDQUOT) before the commit point undoes the steps taken and raises
``StorageFull``. After it only renames and removals remain, which take no space; should one fail
all the same, the error propagates and the record makes the next recovery finish the change.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Final, TypeVar

from indexer import (
    HTML_SUFFIXES,
    PDF_SUFFIXES,
    sidecar_path,
    utc_now,
    utc_stamp,
    write_atomically,
)
from search_api.errors import (
    DocumentChanged,
    DocumentExists,
    DocumentNotFound,
    RevisionNotFound,
    StorageFull,
    TrashEntryNotFound,
)

LOCK_FILE = "staff.lock"
JOURNAL_FOLDER = "journal"
TRASH_FOLDER = "trash"
REVISIONS_FOLDER = "revisions"
ENTRY_FILE = "entry.json"
REVISION_FILE = "revision.json"

_SOURCE_SUFFIXES = HTML_SUFFIXES | PDF_SUFFIXES
_STAMP = "%Y%m%dT%H%M%S%fZ"  # 20261202T031500123456Z: sorts as the time does
_REVISION_ID = re.compile(r"^\d{8}T\d{12}Z$")
_ENTRY_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")
_UNDO, _REDO = ".undo.json", ".redo.json"
_CHUNK = 1024 * 1024
_FULL = (errno.ENOSPC, errno.EDQUOT)


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


# ``write(..., sidecar=KEEP)``: leave the sidecar as it is.
KEEP: Final = _Keep()

Step = tuple[str, Callable[[], None]]


@dataclass(frozen=True, slots=True)
class Written:
    """What ``write`` did."""

    id: str  # corpus-relative path, e.g. "news/green-plan.html"
    sha256: str  # the content hash of the file now, the document's ETag
    previous_sha256: str | None  # None when the document is new
    revision: str | None  # the revision that keeps the previous content


@dataclass(frozen=True, slots=True)
class TrashEntry:
    id: str  # e.g. "20261202T031500123456Z-3fa9c1"
    document: str  # the document id it was deleted from
    deleted_at: str
    deleted_by: str
    sha256: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Revision:
    id: str  # sorts by time, e.g. "20261202T031500123456Z"
    document: str
    saved_at: str  # when this content was replaced
    saved_by: str  # who replaced it
    sha256: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class StaffLock:
    """One change at a time to the corpus and the state folder: a blocking ``flock`` on
    ``<state_dir>/staff.lock``, shared by every server process and command-line tool.

    A flock belongs to an open file description and each entry opens the file afresh, so two
    threads of one process exclude each other as two processes do. The operating system drops
    it when its holder dies, however it dies. Not re-entrant: an instance has one holder at a
    time, so make one per change.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._handle: int | None = None

    def __enter__(self) -> StaffLock:
        if self._handle is not None:
            raise RuntimeError(f"{self.path} is held through this object already")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
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
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None


class DocumentHistory:
    """The corpus's documents as staff change them, with the means to undo every change.

    ``clock`` gives the time changes are stamped with (tests pass their own).
    """

    def __init__(
        self,
        corpus: Path,
        state_dir: Path,
        keep_days: float = 90.0,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        inside = state_dir.resolve()
        if inside.is_relative_to(corpus.resolve()) and not _hidden(
            inside.relative_to(corpus.resolve()).parts
        ):  # a hidden folder is fine: builds leave hidden files out
            raise ValueError(
                f"the state folder {state_dir} is inside the corpus {corpus}: its trash and "
                "revisions would be indexed as documents"
            )
        self.corpus = corpus
        self.state_dir = state_dir
        self.keep_days = keep_days
        self._clock = clock
        self._journal = _Journal(state_dir / JOURNAL_FOLDER)
        self._trash = state_dir / TRASH_FOLDER
        self._revisions = state_dir / REVISIONS_FOLDER
        # path -> ((inode, size, mtime_ns), sha256): listing many documents reads none again.
        self._hashes: dict[str, tuple[tuple[int, int, int], str]] = {}

    # -- reading ------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Rolls back or finishes the changes dead processes left under way; what it did."""
        with StaffLock(self.state_dir):
            return self._recover()

    def content_hash(self, doc_id: str) -> str:
        doc, path = self._locate(doc_id)
        return self._hash_of(doc, path)

    def trash(self) -> list[TrashEntry]:
        """Newest first."""
        with StaffLock(self.state_dir):
            self._recover()
            return sorted(self._trash_entries(), key=lambda entry: entry.id, reverse=True)

    def revisions(self, doc_id: str) -> list[Revision]:
        """Newest first."""
        doc, path = self._locate(doc_id)
        with StaffLock(self.state_dir):
            self._recover()
            found = self._revisions_of(doc)
        if not found and not path.is_file():
            raise DocumentNotFound(f"{doc} is not in the corpus and has no earlier versions")
        return found

    # -- changing -----------------------------------------------------------------------

    def write(
        self,
        doc_id: str,
        data: bytes,
        *,
        sidecar: bytes | object | None = KEEP,
        by: str,
        if_match: str | None = None,
    ) -> Written:
        """Puts ``data`` in the corpus as ``doc_id``; what it replaced becomes a revision.

        ``sidecar``: the bytes of its sidecar, None to remove the sidecar, or KEEP.
        ``if_match``: the content hash the change was made against, or "*" for any content;
        when the document now holds another (or none), ``DocumentChanged``.
        """
        if not (sidecar is KEEP or sidecar is None or isinstance(sidecar, bytes)):
            raise TypeError("sidecar must be bytes, None or KEEP")
        doc, path = self._locate(doc_id)
        with StaffLock(self.state_dir):
            self._recover()
            self._check(doc, path, if_match)
            return self._write(doc, path, data, sidecar, by)

    def delete(self, doc_id: str, *, by: str, if_match: str | None = None) -> TrashEntry:
        """Moves the document and its sidecar into the trash."""
        doc, path = self._locate(doc_id)
        with StaffLock(self.state_dir):
            self._recover()
            self._check(doc, path, if_match)
            change = self._plan_delete(doc, path, by)
            self._carry_out(change)
        self._hashes.pop(str(path), None)
        return change.entry

    def restore_from_trash(self, entry_id: str, *, by: str) -> TrashEntry:
        """Puts a deleted document back where it was; the entry leaves the trash."""
        with StaffLock(self.state_dir):
            self._recover()
            entry = self._trash_entry(entry_id)
            doc, path = self._locate(entry.document)
            side = sidecar_path(path)
            if os.path.lexists(path):
                raise DocumentExists(
                    f"{doc} is in the corpus again: delete or rename the present one first, "
                    "then restore this one"
                )
            if os.path.lexists(side):
                raise DocumentExists(
                    f"{doc}.json, a sidecar without its document, is in the corpus: remove it "
                    "first, then restore this one"
                )
            self._carry_out(self._plan_restore(entry, path, by))
        return entry

    def restore_revision(
        self, doc_id: str, revision_id: str, *, by: str, if_match: str | None = None
    ) -> Written:
        """Writes a revision's content back (the one it replaces becomes a revision in turn,
        so a restore can be undone too); brings a deleted document back as well."""
        doc, path = self._locate(doc_id)
        with StaffLock(self.state_dir):
            self._recover()
            folder = self._revision_folder(doc, revision_id)
            self._check(doc, path, if_match)
            kept_sidecar = folder / sidecar_path(path).name
            return self._write(
                doc, path, folder / path.name, kept_sidecar if kept_sidecar.is_file() else None, by
            )

    def purge(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Removes trash entries deleted, and revisions saved, more than ``keep_days`` ago."""
        moment = now or self._clock()
        cutoff = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - timedelta(
            days=self.keep_days
        )
        removed: list[dict[str, Any]] = []
        with StaffLock(self.state_dir):
            self._recover()
            for entry in sorted(self._trash_entries(), key=lambda entry: entry.id):
                if _older(entry.deleted_at, cutoff):
                    self._discard(self._trash / entry.id)
                    removed.append(_purged("trash", entry.id, entry.document, entry.deleted_at))
            for revision in self._all_revisions():
                if _older(revision.saved_at, cutoff):
                    folder = self._revisions / revision.document / revision.id
                    self._discard(folder)
                    _prune(folder.parent, self._revisions)
                    removed.append(
                        _purged("revision", revision.id, revision.document, revision.saved_at)
                    )
        return removed

    # -- the changes, step by step ------------------------------------------------------

    def _write(self, doc: str, path: Path, data: bytes | Path, sidecar: object, by: str) -> Written:
        # Refused here, not found out after the commit point, where only renames are left.
        for taken in (path, sidecar_path(path)):
            if os.path.lexists(taken) and not taken.is_file():
                raise DocumentExists(
                    f"{taken.relative_to(self.corpus.resolve()).as_posix()} is a folder in "
                    "the corpus, not a file: rename or remove it first"
                )
        change = self._plan_write(doc, path, data, sidecar, by)
        self._carry_out(change)
        sha256 = change.new_sha256 or ""
        with suppress(OSError):
            self._remember(path, sha256)
        return Written(doc, sha256, change.previous_sha256, change.record["revision"])

    def _plan_write(
        self, doc: str, path: Path, data: bytes | Path, sidecar: object, by: str
    ) -> _Write:
        previous = self._hash_of(doc, path) if path.is_file() else None
        moment = self._clock()
        record: dict[str, Any] = {
            "change": "write",
            "id": _change_id(moment),
            "document": doc,
            "by": by,
            "revision": self._new_revision_id(doc, moment) if previous else None,
            "sidecar": "keep" if sidecar is KEEP else "remove" if sidecar is None else "write",
            "folders": _missing_folders(self.corpus.resolve(), path.parent),
        }
        change = _Write(self, record)
        change.data = data
        change.sidecar_data = sidecar if isinstance(sidecar, bytes | Path) else None
        change.saved_at = utc_stamp(moment)
        change.previous_sha256 = previous
        return change

    def _plan_delete(self, doc: str, path: Path, by: str) -> _Delete:
        sha256 = self._hash_of(doc, path)
        side = sidecar_path(path)
        moment = self._clock()
        record: dict[str, Any] = {
            "change": "delete",
            "id": _change_id(moment),
            "document": doc,
            "by": by,
            "entry": _change_id(moment),
            "sha256": sha256,
            "sidecar_sha256": _file_sha256(side) if side.is_file() else None,
        }
        change = _Delete(self, record)
        change.entry = TrashEntry(
            record["entry"], doc, utc_stamp(moment), by, sha256, path.stat().st_size
        )
        return change

    def _plan_restore(self, entry: TrashEntry, path: Path, by: str) -> _Restore:
        kept = self._trash / entry.id
        side = kept / sidecar_path(path).name
        record: dict[str, Any] = {
            "change": "restore",
            "id": _change_id(self._clock()),
            "document": entry.document,
            "by": by,
            "entry": entry.id,
            "sha256": entry.sha256,
            "sidecar_sha256": _file_sha256(side) if side.is_file() else None,
            "folders": _missing_folders(self.corpus.resolve(), path.parent),
        }
        return _Restore(self, record)

    def _steps(self, change: _Change) -> list[Step]:
        """The whole change in order, journal included: what ``_carry_out`` runs one by one."""
        return [
            ("journal", lambda: self._journal.begin(change.record)),
            *change.prepare(),
            ("commit", lambda: self._journal.commit(change.id)),
            *change.finish(),
            ("end", lambda: self._journal.end(change.id)),
        ]

    def _carry_out(self, change: _Change) -> None:
        steps = self._steps(change)
        commit = [name for name, _ in steps].index("commit")
        for index, (_name, step) in enumerate(steps):
            try:
                step()
            except BaseException as error:
                if index > commit:
                    raise  # the record says redo: the next recovery finishes the change
                change.undo()
                self._journal.end(change.id)
                if isinstance(error, OSError) and error.errno in _FULL:
                    raise StorageFull(
                        "the disk is full: nothing was changed. Try again once space has been freed"
                    ) from error
                raise

    def _recover(self) -> list[str]:
        try:
            return self._roll_back_or_forward()
        except OSError as error:
            if error.errno in _FULL:
                raise StorageFull(
                    "the disk is full: a change cut short earlier cannot be set right, so "
                    "nothing was changed. Try again once space has been freed"
                ) from error
            raise

    def _roll_back_or_forward(self) -> list[str]:
        notes: list[str] = []
        for record, committed in self._journal.pending(notes):
            change = _CHANGES[record["change"]](self, record)
            if committed:
                notes += change.redo()
                notes.append(f"finished {change.describe()}")
            else:
                notes += change.undo()
                notes.append(f"undid {change.describe()}")
            self._journal.end(change.id)
        return notes + self._sweep()

    def _sweep(self) -> list[str]:
        """Removes what purges and journal writes cut short left in the journal folder (the
        changes' own leftovers went with their undo or redo)."""
        notes = []
        folder = self._journal.folder
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.name.startswith("."):
                _remove(path)
                notes.append(f"removed the leftover {path}")
        return notes

    def _discard(self, folder: Path) -> None:
        """Removes a trash entry or a revision, moved out of sight first so that one cut short
        leaves nothing listed, only a leftover for recovery to clear."""
        self._journal.folder.mkdir(parents=True, exist_ok=True)
        hidden = self._journal.folder / f".purging-{folder.name}-{secrets.token_hex(3)}"
        os.rename(folder, hidden)
        _flush_folder(folder.parent)
        _flush_folder(hidden.parent)
        shutil.rmtree(hidden)

    # -- what is where ------------------------------------------------------------------

    def _locate(self, doc_id: str) -> tuple[str, Path]:
        """The document's canonical id and path; DocumentNotFound for anything that is not a
        source file's place inside the corpus."""
        unknown = DocumentNotFound(f"{doc_id!r} is not a document of the corpus")
        name = PurePosixPath(doc_id)
        if not doc_id or "\x00" in doc_id or name.is_absolute() or _hidden(name.parts):
            raise unknown
        root = self.corpus.resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or path == root:
            raise unknown
        doc = path.relative_to(root).as_posix()
        if path.suffix.lower() not in _SOURCE_SUFFIXES or _hidden(PurePosixPath(doc).parts):
            raise unknown
        return doc, path

    def _hash_of(self, doc: str, path: Path) -> str:
        try:
            with path.open("rb") as reader:
                status = os.fstat(reader.fileno())
                if not stat.S_ISREG(status.st_mode):
                    raise DocumentNotFound(f"{doc} is a folder, not a document")
                key = (status.st_ino, status.st_size, status.st_mtime_ns)
                known = self._hashes.get(str(path))
                if known and known[0] == key:
                    return known[1]
                sha256 = _stream_sha256(reader)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise DocumentNotFound(f"{doc} is not in the corpus") from None
        self._hashes[str(path)] = (key, sha256)
        return sha256

    def _remember(self, path: Path, sha256: str) -> None:
        status = path.stat()
        self._hashes[str(path)] = ((status.st_ino, status.st_size, status.st_mtime_ns), sha256)

    def _check(self, doc: str, path: Path, if_match: str | None) -> None:
        if if_match is None:
            return
        try:
            current = self._hash_of(doc, path)
        except DocumentNotFound:
            raise DocumentChanged(
                f"{doc} was deleted by someone since you read it: nothing was changed"
            ) from None
        if if_match != "*" and if_match.strip().lower() != current:
            raise DocumentChanged(
                f"{doc} was changed by someone since you read it: nothing was changed; "
                "load it again and redo your change"
            )

    def _trash_entries(self) -> list[TrashEntry]:
        entries = []
        for folder in self._trash.iterdir() if self._trash.is_dir() else []:
            if _ENTRY_ID.match(folder.name):
                entry = _read_record(folder / ENTRY_FILE, TrashEntry)
                if entry is not None:
                    entries.append(entry)
        return entries

    def _trash_entry(self, entry_id: str) -> TrashEntry:
        entry = None
        if _ENTRY_ID.match(entry_id):
            entry = _read_record(self._trash / entry_id / ENTRY_FILE, TrashEntry)
        if entry is None:
            raise TrashEntryNotFound(f"nothing in the trash has the id {entry_id!r}")
        return entry

    def _revisions_of(self, doc: str) -> list[Revision]:
        folder = self._revisions / doc
        found = []
        for child in folder.iterdir() if folder.is_dir() else []:
            if _REVISION_ID.match(child.name):
                revision = _read_record(child / REVISION_FILE, Revision)
                if revision is not None:
                    found.append(revision)
        return sorted(found, key=lambda revision: revision.id, reverse=True)

    def _all_revisions(self) -> list[Revision]:
        found = []
        for folder, names, files in os.walk(self._revisions):
            names[:] = [name for name in names if not name.startswith(".")]
            if REVISION_FILE in files and _REVISION_ID.match(Path(folder).name):
                revision = _read_record(Path(folder) / REVISION_FILE, Revision)
                if revision is not None:
                    found.append(revision)
        return sorted(found, key=lambda revision: revision.id)

    def _revision_folder(self, doc: str, revision_id: str) -> Path:
        folder = self._revisions / doc / revision_id
        if not _REVISION_ID.match(revision_id) or not (folder / REVISION_FILE).is_file():
            raise RevisionNotFound(f"{doc} has no revision {revision_id!r}")
        return folder

    def _new_revision_id(self, doc: str, moment: datetime) -> str:
        """Unique for the document and later than its others, even if the clock went back."""
        latest = max((revision.id for revision in self._revisions_of(doc)), default="")
        candidate = moment.astimezone(UTC)
        if latest and candidate.strftime(_STAMP) <= latest:
            candidate = datetime.strptime(latest, _STAMP).replace(tzinfo=UTC)
            candidate += timedelta(microseconds=1)
        return candidate.strftime(_STAMP)

    def _corpus_path(self, doc: str) -> Path:
        return self.corpus.resolve() / doc


# -- the three kinds of change -------------------------------------------------------------


class _Change:
    """A change under way: its journal record, the steps before and after its commit point,
    and how to undo or finish it from what is on disk (all that recovery has)."""

    def __init__(self, history: DocumentHistory, record: dict[str, Any]) -> None:
        self.history = history
        self.record = record
        self.path = history._corpus_path(record["document"])
        self.sidecar = sidecar_path(self.path)

    @property
    def id(self) -> str:
        return str(self.record["id"])

    def describe(self) -> str:
        return f"a {self.record['change']} of {self.record['document']} by {self.record['by']}"

    def prepare(self) -> list[Step]:
        return []

    def finish(self) -> list[Step]:
        return []

    def undo(self) -> list[str]:
        return []

    def redo(self) -> list[str]:
        return []

    def _make_folders(self) -> None:
        root = self.history.corpus.resolve()
        for folder in self.record["folders"]:
            (root / folder).mkdir(exist_ok=True)
            _flush_folder((root / folder).parent)

    def _remove_folders(self) -> None:
        root = self.history.corpus.resolve()
        for folder in reversed(self.record["folders"]):
            with suppress(OSError):
                (root / folder).rmdir()


class _Write(_Change):
    data: bytes | Path = b""
    sidecar_data: bytes | Path | None = None
    saved_at = ""
    previous_sha256: str | None = None
    new_sha256: str | None = None

    def __init__(self, history: DocumentHistory, record: dict[str, Any]) -> None:
        super().__init__(history, record)
        self.staged = _staged(self.path, self.id)
        self.staged_sidecar = _staged(self.sidecar, self.id)
        revision = record["revision"]
        folder = history._revisions / record["document"]
        self.revision = folder / revision if revision else None
        self.partial = folder / f".{revision}.partial" if revision else None

    def prepare(self) -> list[Step]:
        steps = [("folders", self._make_folders), ("stage", self._stage)]
        return [*steps, ("revision", self._keep_revision)] if self.revision else steps

    def finish(self) -> list[Step]:
        return [("sidecar", self._place_sidecar), ("document", self._place_document)]

    def _stage(self) -> None:
        self.new_sha256, _ = _put(self.staged, self.data, _mode(self.path))
        if self.record["sidecar"] == "write":
            assert self.sidecar_data is not None
            _put(self.staged_sidecar, self.sidecar_data, _mode(self.sidecar))
        _flush_folder(self.path.parent)

    def _keep_revision(self) -> None:
        assert self.revision is not None and self.partial is not None
        self.partial.mkdir(parents=True)
        sha256, size = _put(self.partial / self.path.name, self.path, _mode(self.path))
        if self.sidecar.is_file():
            _put(self.partial / self.sidecar.name, self.sidecar, _mode(self.sidecar))
        kept = Revision(
            self.revision.name,
            self.record["document"],
            self.saved_at,
            self.record["by"],
            sha256,
            size,
        )
        write_atomically(self.partial / REVISION_FILE, json.dumps(kept.to_json(), indent=1))
        os.rename(self.partial, self.revision)
        _flush_folder(self.revision.parent)

    def _place_sidecar(self) -> None:
        if self.record["sidecar"] == "write" and self.staged_sidecar.exists():
            os.replace(self.staged_sidecar, self.sidecar)
        elif self.record["sidecar"] == "remove":
            self.sidecar.unlink(missing_ok=True)
        _flush_folder(self.path.parent)

    def _place_document(self) -> None:
        if self.staged.exists():
            os.replace(self.staged, self.path)
        _flush_folder(self.path.parent)

    def undo(self) -> list[str]:
        if self.path.parent.is_dir():
            self.staged.unlink(missing_ok=True)
            self.staged_sidecar.unlink(missing_ok=True)
            _flush_folder(self.path.parent)
        for folder in (self.partial, self.revision):
            if folder is not None and folder.exists():
                shutil.rmtree(folder)
        if self.revision is not None:
            _prune(self.revision.parent, self.history._revisions)
        self._remove_folders()
        return []

    def redo(self) -> list[str]:
        self._place_sidecar()
        self._place_document()
        return []


class _Delete(_Change):
    entry: TrashEntry

    def __init__(self, history: DocumentHistory, record: dict[str, Any]) -> None:
        super().__init__(history, record)
        self.folder = history._trash / record["entry"]
        self.kept = self.folder / self.path.name
        self.kept_sidecar = self.folder / self.sidecar.name

    def prepare(self) -> list[Step]:
        steps: list[Step] = [("entry", self._make_entry)]
        if self.record["sidecar_sha256"]:
            steps.append(("sidecar", lambda: _move(self.sidecar, self.kept_sidecar)))
        return [*steps, ("document", lambda: _move(self.path, self.kept))]

    def _make_entry(self) -> None:
        self.folder.mkdir(parents=True)
        record = self.entry.to_json() | {"sidecar_sha256": self.record["sidecar_sha256"]}
        write_atomically(self.folder / ENTRY_FILE, json.dumps(record, indent=1))
        _flush_folder(self.folder.parent)

    def _settle(self, forward: bool) -> list[str]:
        notes = []
        if self.record["sidecar_sha256"]:
            notes += _settle(
                self.sidecar, self.kept_sidecar, self.record["sidecar_sha256"], forward
            )
        return notes + _settle(self.path, self.kept, self.record["sha256"], forward)

    def undo(self) -> list[str]:
        notes = self._settle(forward=False)
        if self.folder.exists() and not self.kept.exists():
            shutil.rmtree(self.folder)
            _flush_folder(self.folder.parent)
        return notes

    def redo(self) -> list[str]:
        return self._settle(forward=True)


class _Restore(_Change):
    def __init__(self, history: DocumentHistory, record: dict[str, Any]) -> None:
        super().__init__(history, record)
        self.folder = history._trash / record["entry"]
        self.kept = self.folder / self.path.name
        self.kept_sidecar = self.folder / self.sidecar.name

    def prepare(self) -> list[Step]:
        steps: list[Step] = [("folders", self._make_folders)]
        if self.record["sidecar_sha256"]:
            steps.append(("sidecar", lambda: _move(self.kept_sidecar, self.sidecar)))
        return [*steps, ("document", lambda: _move(self.kept, self.path))]

    def finish(self) -> list[Step]:
        return [("entry", self._remove_entry)]

    def _remove_entry(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)
            _flush_folder(self.folder.parent)

    def _settle(self, forward: bool) -> list[str]:
        notes = []
        if self.record["sidecar_sha256"]:
            notes += _settle(
                self.kept_sidecar, self.sidecar, self.record["sidecar_sha256"], forward
            )
        return notes + _settle(self.kept, self.path, self.record["sha256"], forward)

    def undo(self) -> list[str]:
        notes = self._settle(forward=False)
        self._remove_folders()
        return notes

    def redo(self) -> list[str]:
        notes = self._settle(forward=True)
        self._remove_entry()
        return notes


_CHANGES: dict[str, type[_Change]] = {"write": _Write, "delete": _Delete, "restore": _Restore}
_Record = TypeVar("_Record", TrashEntry, Revision)


class _Journal:
    """Intent records of the changes under way, one file each, written whole and flushed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def begin(self, record: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.folder / f"{record['id']}{_UNDO}", json.dumps(record, indent=1))

    def commit(self, change_id: str) -> None:
        os.rename(self.folder / f"{change_id}{_UNDO}", self.folder / f"{change_id}{_REDO}")
        _flush_folder(self.folder)

    def end(self, change_id: str) -> None:
        for ending in (_UNDO, _REDO):
            (self.folder / f"{change_id}{ending}").unlink(missing_ok=True)
        if self.folder.is_dir():
            _flush_folder(self.folder)

    def pending(self, notes: list[str]) -> list[tuple[dict[str, Any], bool]]:
        """Each record left, oldest first, and whether it was committed. One that cannot be
        read (never written by this code) is set aside as ``.unreadable`` and noted."""
        found = []
        for path in sorted(self.folder.iterdir()) if self.folder.is_dir() else []:
            if path.name.startswith(".") or not path.name.endswith((_UNDO, _REDO)):
                continue
            try:
                record = json.loads(path.read_bytes())
                if record["change"] not in _CHANGES:
                    raise ValueError(record["change"])
            except (ValueError, KeyError, TypeError):
                path.rename(path.with_name(f"{path.name}.unreadable"))
                notes.append(f"set aside the unreadable journal record {path}")
                continue
            found.append((record, path.name.endswith(_REDO)))
        return found


# -- files -------------------------------------------------------------------------------


def _move(source: Path, target: Path) -> None:
    """Moves a file: a rename, or across file systems a copy made whole before the source
    goes (see the module docstring for what recovery makes of one cut short)."""
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        moving = _moving(target)
        try:
            _put(moving, source, _mode(source))
            os.rename(moving, target)
        except BaseException:
            moving.unlink(missing_ok=True)
            raise
        _flush_folder(target.parent)
        os.unlink(source)
    _flush_folder(target.parent)
    _flush_folder(source.parent)


def _settle(source: Path, target: Path, sha256: str, forward: bool) -> list[str]:
    """Finishes (forward) or reverses a move that a crash may have cut short."""
    here, there = (source, target) if forward else (target, source)
    for path in (source, target):
        if path.parent.is_dir():
            _moving(path).unlink(missing_ok=True)
    if not here.exists():
        return []
    if not there.exists():
        _move(here, there)
        return []
    if _file_sha256(here) == sha256 == _file_sha256(there):
        here.unlink()  # a whole copy across file systems whose source was not removed yet
        _flush_folder(here.parent)
        return []
    return [f"kept both {here} and {there}: they differ, so neither is a copy of the other"]


def _put(target: Path, source: bytes | Path, mode: int | None) -> tuple[str, int]:
    """Writes ``source`` (bytes, or a file's content) to ``target``, flushed to disk; the
    content's hash and size. Used only for names no reader looks at until they are renamed."""
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    with os.fdopen(descriptor, "wb") as out:
        if mode is not None:
            os.chmod(out.fileno(), mode)
        if isinstance(source, bytes):
            digest.update(source)
            out.write(source)
            size = len(source)
        else:
            with source.open("rb") as reader:
                while chunk := reader.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _prune(folder: Path, top: Path) -> None:
    """Removes ``folder`` and its parents up to ``top`` (not included) while they are empty."""
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _flush_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as reader:
        return _stream_sha256(reader)


def _stream_sha256(reader: Any) -> str:
    digest = hashlib.sha256()
    while chunk := reader.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _staged(path: Path, change_id: str) -> Path:
    return path.with_name(f".{path.name}.{change_id}.staged")


def _moving(path: Path) -> Path:
    return path.with_name(f".{path.name}.moving")


def _missing_folders(root: Path, folder: Path) -> list[str]:
    """The folders between the corpus and ``folder`` that do not exist yet, outermost first."""
    missing = []
    while folder != root and folder.is_relative_to(root) and not folder.exists():
        missing.append(folder.relative_to(root).as_posix())
        folder = folder.parent
    return missing[::-1]


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") for part in parts)


def _change_id(moment: datetime) -> str:
    return f"{moment.astimezone(UTC).strftime(_STAMP)}-{secrets.token_hex(3)}"


def _read_record(path: Path, kind: type[_Record]) -> _Record | None:
    try:
        data = json.loads(path.read_bytes())
        return kind(**{field.name: data[field.name] for field in fields(kind)})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _older(stamp: str, cutoff: datetime) -> bool:
    """Whether ``stamp`` is before ``cutoff``; never for a time that cannot be read."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) < cutoff


def _purged(kind: str, item: str, document: str, at: str) -> dict[str, Any]:
    return {"kind": kind, "id": item, "document": document, "at": at}
