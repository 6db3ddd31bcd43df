"""Revisions and trash: every change staff make to the corpus can be undone.

Every write of a document into or out of the corpus goes through ``DocumentHistory``, uploads
included. Replacing a document keeps what it held, sidecar and all, as a *revision*; deleting
one moves it into the *trash*. Both can be brought back, and both are kept ``keep_days``
before ``purge`` removes them. Under the state folder:

    staff.lock                                flock held by every change, from its recovery on
    journal/                                  the changes under way
    trash/<entry>/entry.json, <name>[, <name>.json]
    revisions/<doc id>/<revision>/revision.json, <name>[, <name>.json]

No crash leaves a change half made, and a full disk (``StorageFull``) leaves none made at all:
each change is journaled and carried out step by step as ``search_api.staff.changes``
describes, and what a dead process left under way is undone or finished (``recover``) before
the next change or listing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Final, TypeVar

from indexer import (
    HTML_SUFFIXES,
    PDF_SUFFIXES,
    FileLock,
    sidecar_path,
    utc_now,
    utc_stamp,
)
from search_api.errors import (
    DocumentChanged,
    DocumentExists,
    DocumentNotFound,
    RevisionNotFound,
    TrashEntryNotFound,
)
from search_api.staff.changes import (
    ENTRY_FILE,
    REVISION_FILE,
    Change,
    Delete,
    Journal,
    Places,
    Restore,
    Step,
    Write,
    file_sha256,
    prune,
    stream_sha256,
)

LOCK_FILE = "staff.lock"
JOURNAL_FOLDER = "journal"
TRASH_FOLDER = "trash"
REVISIONS_FOLDER = "revisions"

_SOURCE_SUFFIXES = HTML_SUFFIXES | PDF_SUFFIXES
_STAMP = "%Y%m%dT%H%M%S%fZ"  # 20261202T031500123456Z: sorts as the time does
_REVISION_ID = re.compile(r"^\d{8}T\d{12}Z$")
_ENTRY_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


# ``write(..., sidecar=KEEP)``: leave the sidecar as it is.
KEEP: Final = _Keep()


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


class StaffLock(FileLock):
    """One change at a time to the corpus and the state folder: a blocking ``flock`` on
    ``<state_dir>/staff.lock``, shared by every server process and command-line tool.

    Two threads of one process exclude each other as two processes do, and the operating
    system drops the lock when its holder dies, however it dies (see ``FileLock``). Not
    re-entrant: an instance has one holder at a time, so make one per change.
    """

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir / LOCK_FILE)


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
        self._journal = Journal(state_dir / JOURNAL_FOLDER)
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
            entry, change = self._plan_delete(doc, path, by)
            self._carry_out(change)
        self._hashes.pop(str(path), None)
        return entry

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
                    self._journal.discard(self._trash / entry.id)
                    removed.append(_purged("trash", entry.id, entry.document, entry.deleted_at))
            for revision in self._all_revisions():
                if _older(revision.saved_at, cutoff):
                    folder = self._revisions / revision.document / revision.id
                    self._journal.discard(folder)
                    prune(folder.parent, self._revisions)
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
        previous = self._hash_of(doc, path) if path.is_file() else None
        change = self._plan_write(doc, path, data, sidecar, by, previous)
        self._carry_out(change)
        sha256 = change.new_sha256 or ""
        with suppress(OSError):
            self._remember(path, sha256)
        return Written(doc, sha256, previous, change.record["revision"])

    def _plan_write(
        self,
        doc: str,
        path: Path,
        data: bytes | Path,
        sidecar: object,
        by: str,
        previous: str | None,
    ) -> Write:
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
        change = Write(self._places(), record)
        change.data = data
        change.sidecar_data = sidecar if isinstance(sidecar, bytes | Path) else None
        # The fields of a Revision but sha256 and bytes, which copying the content finds.
        change.revision_json = {
            "id": record["revision"],
            "document": doc,
            "saved_at": utc_stamp(moment),
            "saved_by": by,
        }
        return change

    def _plan_delete(self, doc: str, path: Path, by: str) -> tuple[TrashEntry, Delete]:
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
            "sidecar_sha256": file_sha256(side) if side.is_file() else None,
        }
        entry = TrashEntry(record["entry"], doc, utc_stamp(moment), by, sha256, path.stat().st_size)
        change = Delete(self._places(), record)
        change.entry_json = entry.to_json()
        return entry, change

    def _plan_restore(self, entry: TrashEntry, path: Path, by: str) -> Restore:
        kept = self._trash / entry.id
        side = kept / sidecar_path(path).name
        record: dict[str, Any] = {
            "change": "restore",
            "id": _change_id(self._clock()),
            "document": entry.document,
            "by": by,
            "entry": entry.id,
            "sha256": entry.sha256,
            "sidecar_sha256": file_sha256(side) if side.is_file() else None,
            "folders": _missing_folders(self.corpus.resolve(), path.parent),
        }
        return Restore(self._places(), record)

    def _steps(self, change: Change) -> list[Step]:
        """The whole change in order, journal included: what ``_carry_out`` runs one by one."""
        return self._journal.steps(change)

    def _carry_out(self, change: Change) -> None:
        self._journal.carry_out(change, self._steps(change))

    def _recover(self) -> list[str]:
        return self._journal.recover(self._places())

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
                sha256 = stream_sha256(reader)
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

    def _places(self) -> Places:
        return Places(self.corpus.resolve(), self._trash, self._revisions)


_Record = TypeVar("_Record", TrashEntry, Revision)


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
