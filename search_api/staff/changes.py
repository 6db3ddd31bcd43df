"""How a change to the corpus is made so that no crash leaves it half made.

A change (a write, a move into the trash, a restore from it) is a list of named steps that
``DocumentHistory`` runs under the staff lock. Under the state folder:

    journal/<change>.undo.json | .redo.json   a change under way, and which way recovery goes

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

Restoring a revision is a write of the revision's files. A move is a rename; across file
systems it is a copy to a hidden ``.<name>.moving`` beside the target, flushed and renamed into
place, and only then the source's removal. So where recovery finds both, the target is whole,
and the side the move is leaving is dropped (only when both hold the content the journal
recorded: a file put there by someone else is never removed). A purge first renames what it
removes to a hidden ``journal/.purging-*`` folder, so one cut short lists nothing half gone;
recovery clears the hidden leftovers in the journal folder.

A full disk (ENOSPC, EDQUOT) before the commit point undoes the steps taken and raises
``StorageFull``. After it only renames and removals remain, which take no space; should one fail
all the same, the error propagates and the record makes the next recovery finish the change.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from indexer import flush_folder, sidecar_path, write_atomically
from search_api.errors import StorageFull

ENTRY_FILE = "entry.json"
REVISION_FILE = "revision.json"

_UNDO, _REDO = ".undo.json", ".redo.json"
_CHUNK = 1024 * 1024
_FULL = (errno.ENOSPC, errno.EDQUOT)

Step = tuple[str, Callable[[], None]]


@dataclass(frozen=True, slots=True)
class Places:
    """Where changes put things: the corpus (resolved, as documents' paths are) and the state
    folder's trash and revisions."""

    corpus: Path
    trash: Path
    revisions: Path


class Change:
    """A change under way: its journal record, the steps before and after its commit point,
    and how to undo or finish it from what is on disk (all that recovery has)."""

    def __init__(self, places: Places, record: dict[str, Any]) -> None:
        self.places = places
        self.record = record
        self.path = places.corpus / record["document"]
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
        for folder in self.record["folders"]:
            (self.places.corpus / folder).mkdir(exist_ok=True)
            flush_folder((self.places.corpus / folder).parent)

    def _remove_folders(self) -> None:
        for folder in reversed(self.record["folders"]):
            with suppress(OSError):
                (self.places.corpus / folder).rmdir()


class Write(Change):
    """New content (and sidecar) put in place; the content replaced is kept as a revision."""

    # Set by whoever plans the write. Recovery, which only undoes or finishes one, needs none.
    data: bytes | Path = b""
    sidecar_data: bytes | Path | None = None
    revision_json: dict[str, Any]  # revision.json, but for the sha256 and bytes the copy finds
    new_sha256: str | None = None

    def __init__(self, places: Places, record: dict[str, Any]) -> None:
        super().__init__(places, record)
        self.staged = _staged(self.path, self.id)
        self.staged_sidecar = _staged(self.sidecar, self.id)
        revision = record["revision"]
        folder = places.revisions / record["document"]
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
        flush_folder(self.path.parent)

    def _keep_revision(self) -> None:
        assert self.revision is not None and self.partial is not None
        self.partial.mkdir(parents=True)
        sha256, size = _put(self.partial / self.path.name, self.path, _mode(self.path))
        if self.sidecar.is_file():
            _put(self.partial / self.sidecar.name, self.sidecar, _mode(self.sidecar))
        kept = self.revision_json | {"sha256": sha256, "bytes": size}
        write_atomically(self.partial / REVISION_FILE, json.dumps(kept, indent=1))
        os.rename(self.partial, self.revision)
        flush_folder(self.revision.parent)

    def _place_sidecar(self) -> None:
        if self.record["sidecar"] == "write" and self.staged_sidecar.exists():
            os.replace(self.staged_sidecar, self.sidecar)
        elif self.record["sidecar"] == "remove":
            self.sidecar.unlink(missing_ok=True)
        flush_folder(self.path.parent)

    def _place_document(self) -> None:
        if self.staged.exists():
            os.replace(self.staged, self.path)
        flush_folder(self.path.parent)

    def undo(self) -> list[str]:
        if self.path.parent.is_dir():
            self.staged.unlink(missing_ok=True)
            self.staged_sidecar.unlink(missing_ok=True)
            flush_folder(self.path.parent)
        for folder in (self.partial, self.revision):
            if folder is not None and folder.exists():
                shutil.rmtree(folder)
        if self.revision is not None:
            prune(self.revision.parent, self.places.revisions)
        self._remove_folders()
        return []

    def redo(self) -> list[str]:
        self._place_sidecar()
        self._place_document()
        return []


class _TrashMove(Change):
    """A document and its sidecar moved between the corpus and a trash entry: into the
    trash for a delete, out of it for a restore. Undoing moves them the other way."""

    into_trash: bool

    def __init__(self, places: Places, record: dict[str, Any]) -> None:
        super().__init__(places, record)
        self.folder = places.trash / record["entry"]
        self.kept = self.folder / self.path.name
        self.kept_sidecar = self.folder / self.sidecar.name

    def _files(self) -> list[tuple[str, Path, Path, str]]:
        """Each file moved, the sidecar first: its step's name, where it goes from and to,
        and the hash of its content as the record has it."""
        files = [("document", self.path, self.kept, self.record["sha256"])]
        if self.record["sidecar_sha256"]:
            sidecar = ("sidecar", self.sidecar, self.kept_sidecar, self.record["sidecar_sha256"])
            files.insert(0, sidecar)
        if self.into_trash:
            return files
        return [(name, kept, path, sha256) for name, path, kept, sha256 in files]

    def _moves(self) -> list[Step]:
        return [(name, partial(_move, source, target)) for name, source, target, _ in self._files()]

    def _settle(self, forward: bool) -> list[str]:
        notes: list[str] = []
        for _name, source, target, sha256 in self._files():
            notes += _settle(source, target, sha256, forward)
        return notes

    def _remove_entry(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)
            flush_folder(self.folder.parent)


class Delete(_TrashMove):
    """A document and its sidecar moved into a new trash entry."""

    into_trash = True
    entry_json: dict[str, Any]  # entry.json, but for the sidecar's hash; set by the planner

    def prepare(self) -> list[Step]:
        return [("entry", self._make_entry), *self._moves()]

    def _make_entry(self) -> None:
        self.folder.mkdir(parents=True)
        record = self.entry_json | {"sidecar_sha256": self.record["sidecar_sha256"]}
        write_atomically(self.folder / ENTRY_FILE, json.dumps(record, indent=1))
        flush_folder(self.folder.parent)

    def undo(self) -> list[str]:
        notes = self._settle(forward=False)
        if not self.kept.exists():  # unless a differing copy had to stay in it
            self._remove_entry()
        return notes

    def redo(self) -> list[str]:
        return self._settle(forward=True)


class Restore(_TrashMove):
    """A trash entry's document and sidecar moved back where they were; the entry goes."""

    into_trash = False

    def prepare(self) -> list[Step]:
        return [("folders", self._make_folders), *self._moves()]

    def finish(self) -> list[Step]:
        return [("entry", self._remove_entry)]

    def undo(self) -> list[str]:
        notes = self._settle(forward=False)
        self._remove_folders()
        return notes

    def redo(self) -> list[str]:
        notes = self._settle(forward=True)
        self._remove_entry()
        return notes


_CHANGES: dict[str, type[Change]] = {"write": Write, "delete": Delete, "restore": Restore}


class Journal:
    """The intent records of the changes under way, one file each, written whole and
    flushed; and the running of changes and recovery by them. Use under the staff lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def steps(self, change: Change) -> list[Step]:
        """The whole change in order, its record's own steps included."""
        return [
            ("journal", lambda: self.begin(change.record)),
            *change.prepare(),
            ("commit", lambda: self.commit(change.id)),
            *change.finish(),
            ("end", lambda: self.end(change.id)),
        ]

    def carry_out(self, change: Change, steps: list[Step]) -> None:
        """Runs ``steps`` (the change's, from ``steps``) one by one. A failure before the
        commit point undoes the change (``StorageFull`` for a full disk); after it, the
        record is left for the next recovery to finish the change."""
        commit = [name for name, _ in steps].index("commit")
        for index, (_name, step) in enumerate(steps):
            try:
                step()
            except BaseException as error:
                if index > commit:
                    raise
                change.undo()
                self.end(change.id)
                if isinstance(error, OSError) and error.errno in _FULL:
                    raise StorageFull(
                        "the disk is full: nothing was changed. Try again once space has been freed"
                    ) from error
                raise

    def recover(self, places: Places) -> list[str]:
        """Rolls back or finishes the changes dead processes left under way; what it did."""
        try:
            return self._roll_back_or_forward(places)
        except OSError as error:
            if error.errno in _FULL:
                raise StorageFull(
                    "the disk is full: a change cut short earlier cannot be set right, so "
                    "nothing was changed. Try again once space has been freed"
                ) from error
            raise

    def discard(self, folder: Path) -> None:
        """Removes a trash entry or a revision, moved out of sight first so that one cut short
        leaves nothing listed, only a leftover for recovery to clear."""
        self.folder.mkdir(parents=True, exist_ok=True)
        hidden = self.folder / f".purging-{folder.name}-{secrets.token_hex(3)}"
        os.rename(folder, hidden)
        flush_folder(folder.parent)
        flush_folder(hidden.parent)
        shutil.rmtree(hidden)

    def begin(self, record: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.folder / f"{record['id']}{_UNDO}", json.dumps(record, indent=1))

    def commit(self, change_id: str) -> None:
        os.rename(self.folder / f"{change_id}{_UNDO}", self.folder / f"{change_id}{_REDO}")
        flush_folder(self.folder)

    def end(self, change_id: str) -> None:
        for ending in (_UNDO, _REDO):
            (self.folder / f"{change_id}{ending}").unlink(missing_ok=True)
        if self.folder.is_dir():
            flush_folder(self.folder)

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

    def _roll_back_or_forward(self, places: Places) -> list[str]:
        notes: list[str] = []
        for record, committed in self.pending(notes):
            change = _CHANGES[record["change"]](places, record)
            if committed:
                notes += change.redo()
                notes.append(f"finished {change.describe()}")
            else:
                notes += change.undo()
                notes.append(f"undid {change.describe()}")
            self.end(change.id)
        return notes + self._sweep()

    def _sweep(self) -> list[str]:
        """Removes what purges and journal writes cut short left in the journal folder (the
        changes' own leftovers went with their undo or redo)."""
        notes = []
        for path in sorted(self.folder.iterdir()) if self.folder.is_dir() else []:
            if path.name.startswith("."):
                _remove(path)
                notes.append(f"removed the leftover {path}")
        return notes


# -- files -------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    with path.open("rb") as reader:
        return stream_sha256(reader)


def stream_sha256(reader: Any) -> str:
    digest = hashlib.sha256()
    while chunk := reader.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def prune(folder: Path, top: Path) -> None:
    """Removes ``folder`` and its parents up to ``top`` (not included) while they are empty."""
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


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
        flush_folder(target.parent)
        os.unlink(source)
    flush_folder(target.parent)
    flush_folder(source.parent)


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
    if file_sha256(here) == sha256 == file_sha256(there):
        here.unlink()  # a whole copy across file systems whose source was not removed yet
        flush_folder(here.parent)
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


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _staged(path: Path, change_id: str) -> Path:
    return path.with_name(f".{path.name}.{change_id}.staged")


def _moving(path: Path) -> Path:
    return path.with_name(f".{path.name}.moving")
