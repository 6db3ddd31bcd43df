"""Revisions and trash: every change to the corpus can be undone, and a process killed at any
step of one leaves, once recovery has run, the state before it or the state after it.

Crashes are made by running a change's own steps (``DocumentHistory._steps``) up to a chosen
one and stopping there, as a process killed at that moment would; a full disk is a real tmpfs
mounted in a mount namespace of its own (``unshare -m``), so this file also runs as a script
inside it (see ``_disk_full_report``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from search_api.errors import (
    DocumentChanged,
    DocumentExists,
    DocumentNotFound,
    RevisionNotFound,
    ServiceError,
    TrashEntryNotFound,
)
from search_api.staff.history import (
    KEEP,
    DocumentHistory,
    Revision,
    StaffLock,
    TrashEntry,
    Written,
)

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Clock:
    """A clock that moves only when told: each reading is a microsecond on from the last."""

    def __init__(self, moment: datetime = START) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        self.moment += timedelta(microseconds=1)
        return self.moment


@dataclass
class Place:
    corpus: Path
    state: Path

    def history(self, **options: Any) -> DocumentHistory:
        return DocumentHistory(self.corpus, self.state, **options)


@pytest.fixture
def place(tmp_path: Path) -> Place:
    (tmp_path / "corpus").mkdir()
    return Place(tmp_path / "corpus", tmp_path / "state")


@pytest.fixture
def history(place: Place) -> DocumentHistory:
    return place.history(clock=Clock())


def page(label: str) -> bytes:
    return f"<html><body><h1>{label}</h1></body></html>".encode()


def side(label: str) -> bytes:
    return json.dumps({"title": label}).encode()


# -- what is on disk ---------------------------------------------------------------------


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def snapshot(place: Place) -> dict[str, Any]:
    """What staff can see and undo, ids and times aside (a rerun of a change makes new ones):
    every file of the corpus, hidden ones included, and the content of each trash entry and
    revision with the record that describes it."""
    trash, revisions = [], []
    for record in sorted((place.state / "trash").glob("*/entry.json")):
        data = json.loads(record.read_bytes())
        kept = files_under(record.parent)
        del kept["entry.json"]
        trash.append((data["document"], data["deleted_by"], data["sha256"], data["bytes"], kept))
    for record in sorted((place.state / "revisions").rglob("revision.json")):
        data = json.loads(record.read_bytes())
        kept = files_under(record.parent)
        del kept["revision.json"]
        revisions.append((data["document"], data["saved_by"], data["sha256"], data["bytes"], kept))
    return {
        "corpus": files_under(place.corpus),
        "trash": sorted(trash, key=repr),
        "revisions": sorted(revisions, key=repr),
    }


def assert_clean(place: Place) -> None:
    """No change left under way and no leftover of one; every kept file is what its record
    says it is."""
    assert not [p for p in place.corpus.rglob("*") if p.name.startswith(".")]
    journal = place.state / "journal"
    assert not (journal.is_dir() and list(journal.iterdir()))
    for folder in ("trash", "revisions"):
        assert not [p for p in (place.state / folder).rglob("*") if p.name.startswith(".")]
    for record in (place.state / "trash").glob("*/entry.json"):
        data = json.loads(record.read_bytes())
        kept = record.parent / Path(data["document"]).name
        assert sha(kept.read_bytes()) == data["sha256"]
        assert kept.stat().st_size == data["bytes"]
    assert all((p / "entry.json").is_file() for p in (place.state / "trash").glob("*"))
    for record in (place.state / "revisions").rglob("revision.json"):
        data = json.loads(record.read_bytes())
        kept = record.parent / Path(data["document"]).name
        assert sha(kept.read_bytes()) == data["sha256"]
        assert kept.stat().st_size == data["bytes"]


# -- writing -----------------------------------------------------------------------------


def test_a_new_document_is_written_with_its_sidecar_and_no_revision(
    place: Place, history: DocumentHistory
) -> None:
    written = history.write("news/green-plan.html", page("v1"), sidecar=side("v1"), by="ann")
    assert written == Written("news/green-plan.html", sha(page("v1")), None, None)
    assert (place.corpus / "news/green-plan.html").read_bytes() == page("v1")
    assert (place.corpus / "news/green-plan.html.json").read_bytes() == side("v1")
    assert history.content_hash("news/green-plan.html") == written.sha256
    assert history.revisions("news/green-plan.html") == []
    assert_clean(place)


def test_replacing_keeps_the_old_bytes_and_sidecar_as_a_revision(
    place: Place, history: DocumentHistory
) -> None:
    history.write("report.pdf", b"%PDF-1.4 first", sidecar=side("first"), by="ann")
    written = history.write("report.pdf", b"%PDF-1.4 second", sidecar=side("second"), by="bob")
    assert written.previous_sha256 == sha(b"%PDF-1.4 first")
    assert written.sha256 == sha(b"%PDF-1.4 second")
    [revision] = history.revisions("report.pdf")
    assert revision.id == written.revision
    assert revision == Revision(
        revision.id, "report.pdf", revision.saved_at, "bob", sha(b"%PDF-1.4 first"), 14
    )
    assert revision.to_json() == {
        "id": revision.id,
        "document": "report.pdf",
        "saved_at": revision.saved_at,
        "saved_by": "bob",
        "sha256": sha(b"%PDF-1.4 first"),
        "bytes": 14,
    }
    kept = place.state / "revisions" / "report.pdf" / revision.id
    assert (kept / "report.pdf").read_bytes() == b"%PDF-1.4 first"
    assert (kept / "report.pdf.json").read_bytes() == side("first")
    assert (place.corpus / "report.pdf").read_bytes() == b"%PDF-1.4 second"
    assert (place.corpus / "report.pdf.json").read_bytes() == side("second")
    assert_clean(place)


@pytest.mark.parametrize(
    ("sidecar", "after"),
    [(KEEP, side("old")), (None, None), (side("new"), side("new"))],
    ids=["KEEP leaves it", "None removes it", "bytes replace it"],
)
def test_the_sidecar_argument(
    place: Place, history: DocumentHistory, sidecar: object, after: bytes | None
) -> None:
    history.write("a.html", page("old"), sidecar=side("old"), by="ann")
    written = history.write("a.html", page("new"), sidecar=sidecar, by="bob")
    path = place.corpus / "a.html.json"
    assert (path.read_bytes() if path.exists() else None) == after
    kept = place.state / "revisions" / "a.html" / str(written.revision)
    assert (kept / "a.html.json").read_bytes() == side("old")  # the revision has the old one


def test_keep_on_a_document_without_a_sidecar_adds_none(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.html", page("one"), by="ann")
    written = history.write("a.html", page("two"), by="ann")
    assert not (place.corpus / "a.html.json").exists()
    kept = place.state / "revisions" / "a.html" / str(written.revision)
    assert sorted(p.name for p in kept.iterdir()) == ["a.html", "revision.json"]


@pytest.mark.parametrize("folder", ["a.html", "a.html.json"], ids=["document", "sidecar"])
def test_a_folder_where_a_file_should_go_is_refused_before_anything_changes(
    place: Place, history: DocumentHistory, folder: str
) -> None:
    (place.corpus / folder).mkdir()
    before = snapshot(place)
    with pytest.raises(DocumentExists, match="is a folder in the corpus"):
        history.write("a.html", page("one"), sidecar=None, by="ann")
    assert snapshot(place) == before
    assert_clean(place)
    assert history.recover() == []


def test_a_sidecar_of_the_wrong_kind_is_refused(history: DocumentHistory) -> None:
    with pytest.raises(TypeError):
        history.write("a.html", page("one"), sidecar="{}", by="ann")


def test_replacing_keeps_the_document_s_permissions(place: Place, history: DocumentHistory) -> None:
    history.write("a.html", page("one"), by="ann")
    (place.corpus / "a.html").chmod(0o640)
    history.write("a.html", page("two"), by="ann")
    assert (place.corpus / "a.html").stat().st_mode & 0o777 == 0o640


def test_revision_ids_sort_by_time_even_within_one_instant(place: Place) -> None:
    stopped = place.history(clock=lambda: START)  # a clock that never moves
    for label in "abcd":
        stopped.write("a.html", page(label), by="ann")
    revisions = stopped.revisions("a.html")
    assert len({revision.id for revision in revisions}) == 3
    assert [revision.id for revision in revisions] == sorted(
        (revision.id for revision in revisions), reverse=True
    )
    assert [revision.sha256 for revision in revisions] == [sha(page(x)) for x in "cba"]


# -- If-Match ----------------------------------------------------------------------------


def test_if_match_with_the_current_hash_or_a_star_goes_ahead(history: DocumentHistory) -> None:
    first = history.write("a.html", page("one"), by="ann")
    second = history.write("a.html", page("two"), by="ann", if_match=first.sha256)
    history.write("a.html", page("three"), by="ann", if_match="*")
    assert history.revisions("a.html")[-1].sha256 == first.sha256
    history.delete("a.html", by="ann", if_match=sha(page("three")))
    assert second.previous_sha256 == first.sha256


def test_if_match_with_another_hash_changes_nothing(place: Place, history: DocumentHistory) -> None:
    first = history.write("a.html", page("one"), sidecar=side("one"), by="ann")
    history.write("a.html", page("two"), sidecar=side("two"), by="bob")
    before = snapshot(place)
    with pytest.raises(DocumentChanged, match="changed by someone since you read it"):
        history.write("a.html", page("three"), by="cat", if_match=first.sha256)
    with pytest.raises(DocumentChanged):
        history.delete("a.html", by="cat", if_match=first.sha256)
    revision = history.revisions("a.html")[0].id
    with pytest.raises(DocumentChanged):
        history.restore_revision("a.html", revision, by="cat", if_match=first.sha256)
    assert snapshot(place) == before


@pytest.mark.parametrize("if_match", ["*", sha(page("one"))], ids=["star", "a hash"])
def test_if_match_on_a_document_that_is_gone_changes_nothing(
    place: Place, history: DocumentHistory, if_match: str
) -> None:
    history.write("a.html", page("one"), by="ann")
    history.delete("a.html", by="bob")
    before = snapshot(place)
    with pytest.raises(DocumentChanged, match="deleted by someone"):
        history.write("a.html", page("two"), by="cat", if_match=if_match)
    with pytest.raises(DocumentChanged, match="deleted by someone"):
        history.write("never.html", page("two"), by="cat", if_match=if_match)
    with pytest.raises(DocumentChanged):
        history.delete("a.html", by="cat", if_match=if_match)
    assert snapshot(place) == before


# -- trash -------------------------------------------------------------------------------


def test_delete_moves_the_file_and_its_sidecar_into_the_trash(
    place: Place, history: DocumentHistory
) -> None:
    history.write("news/a.pdf", b"%PDF-1.4 a", sidecar=side("a"), by="ann")
    entry = history.delete("news/a.pdf", by="bob")
    assert entry == TrashEntry(
        entry.id, "news/a.pdf", entry.deleted_at, "bob", sha(b"%PDF-1.4 a"), 10
    )
    assert set(entry.to_json()) == {"id", "document", "deleted_at", "deleted_by", "sha256", "bytes"}
    assert files_under(place.corpus) == {}
    assert history.trash() == [entry]
    assert files_under(place.state / "trash" / entry.id).keys() == {
        "entry.json",
        "a.pdf",
        "a.pdf.json",
    }
    with pytest.raises(DocumentNotFound):
        history.content_hash("news/a.pdf")
    assert_clean(place)


def test_the_trash_lists_newest_first(history: DocumentHistory) -> None:
    for name in ("a.html", "b.html", "c.html"):
        history.write(name, page(name), by="ann")
    entries = [history.delete(name, by="bob") for name in ("b.html", "a.html", "c.html")]
    assert history.trash() == entries[::-1]


def test_restore_from_trash_puts_both_files_back(place: Place, history: DocumentHistory) -> None:
    history.write("news/deep/a.pdf", b"%PDF-1.4 a", sidecar=side("a"), by="ann")
    before = files_under(place.corpus)
    entry = history.delete("news/deep/a.pdf", by="bob")
    shutil.rmtree(place.corpus / "news")  # its folder went too: the restore makes it again
    assert history.restore_from_trash(entry.id, by="cat") == entry
    assert files_under(place.corpus) == before
    assert history.trash() == []
    assert history.content_hash("news/deep/a.pdf") == sha(b"%PDF-1.4 a")
    assert_clean(place)


def test_restore_onto_a_document_that_is_back_refuses_and_moves_nothing(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.html", page("one"), sidecar=side("one"), by="ann")
    entry = history.delete("a.html", by="bob")
    history.write("a.html", page("two"), by="cat")
    before = snapshot(place)
    with pytest.raises(DocumentExists, match="delete or rename the present one first"):
        history.restore_from_trash(entry.id, by="dan")
    assert snapshot(place) == before
    assert history.trash() == [entry]


def test_restore_beside_a_sidecar_without_its_document_refuses(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.html", page("one"), by="ann")
    entry = history.delete("a.html", by="bob")
    (place.corpus / "a.html.json").write_bytes(side("someone else's"))
    before = snapshot(place)
    with pytest.raises(DocumentExists, match="sidecar without its document"):
        history.restore_from_trash(entry.id, by="dan")
    assert snapshot(place) == before


# -- revisions ---------------------------------------------------------------------------


def test_restoring_a_revision_keeps_the_content_it_replaces_so_it_can_be_undone(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.html", page("one"), sidecar=side("one"), by="ann")
    second = history.write("a.html", page("two"), by="bob")  # KEEP: the sidecar stays "one"
    third = history.write("a.html", page("three"), sidecar=None, by="bob")
    oldest = history.revisions("a.html")[-1]
    restored = history.restore_revision("a.html", oldest.id, by="cat")
    assert restored.sha256 == sha(page("one")) == oldest.sha256
    assert restored.previous_sha256 == third.sha256
    assert (place.corpus / "a.html").read_bytes() == page("one")
    assert (place.corpus / "a.html.json").read_bytes() == side("one")
    ids = [revision.id for revision in history.revisions("a.html")]
    assert ids == [restored.revision, third.revision, second.revision]  # the oldest stays
    # and back again: the content the restore replaced is the newest revision
    newest = history.revisions("a.html")[0]
    assert newest.sha256 == third.sha256 and newest.saved_by == "cat"
    history.restore_revision("a.html", newest.id, by="dan")
    assert (place.corpus / "a.html").read_bytes() == page("three")
    assert not (place.corpus / "a.html.json").exists()  # "three" had none
    assert_clean(place)


def test_restoring_a_revision_brings_a_deleted_document_back(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.pdf", b"%PDF-1.4 one", sidecar=side("one"), by="ann")
    history.write("a.pdf", b"%PDF-1.4 two", sidecar=side("two"), by="bob")
    entry = history.delete("a.pdf", by="cat")
    [revision] = history.revisions("a.pdf")  # a deleted document's revisions still list
    restored = history.restore_revision("a.pdf", revision.id, by="dan")
    assert restored == Written("a.pdf", sha(b"%PDF-1.4 one"), None, None)
    assert files_under(place.corpus) == {"a.pdf": b"%PDF-1.4 one", "a.pdf.json": side("one")}
    assert history.trash() == [entry]  # the deleted content is still there to bring back
    with pytest.raises(DocumentExists):
        history.restore_from_trash(entry.id, by="dan")
    assert_clean(place)


# -- what is not there -------------------------------------------------------------------


def test_unknown_things_raise_their_own_errors(history: DocumentHistory) -> None:
    history.write("a.html", page("one"), by="ann")
    with pytest.raises(DocumentNotFound):
        history.content_hash("b.html")
    with pytest.raises(DocumentNotFound):
        history.delete("b.html", by="ann")
    with pytest.raises(DocumentNotFound):
        history.revisions("b.html")
    with pytest.raises(RevisionNotFound):
        history.restore_revision("a.html", "20260302T093000000001Z", by="ann")
    with pytest.raises(RevisionNotFound):
        history.restore_revision("b.html", "../../a.html", by="ann")
    with pytest.raises(TrashEntryNotFound):
        history.restore_from_trash("20260302T093000000001Z-abcdef", by="ann")
    with pytest.raises(TrashEntryNotFound):
        history.restore_from_trash("../journal", by="ann")


@pytest.mark.parametrize(
    "doc_id",
    [
        "../outside.html",
        "news/../../outside.html",
        "/etc/outside.html",
        "link/outside.html",
        "notes.txt",
        "news",
        "",
        ".hidden.html",
        "news/.hidden.html",
        "nul\x00.html",
    ],
    ids=[
        "parent",
        "parent via a folder",
        "absolute",
        "symlink out",
        "not a source file",
        "a folder",
        "empty",
        "hidden",
        "hidden in a folder",
        "NUL",
    ],
)
def test_ids_that_are_not_corpus_documents_are_not_found(
    place: Place, history: DocumentHistory, doc_id: str
) -> None:
    outside = place.corpus.parent / "outside"
    outside.mkdir()
    (outside / "outside.html").write_bytes(page("outside"))
    (place.corpus / "link").symlink_to(outside)
    (place.corpus / "news").mkdir()
    (place.corpus.parent / "outside.html").write_bytes(page("outside"))
    before = files_under(place.corpus.parent)
    for attempt in (
        lambda: history.write(doc_id, page("in"), by="ann"),
        lambda: history.delete(doc_id, by="ann"),
        lambda: history.content_hash(doc_id),
        lambda: history.revisions(doc_id),
        lambda: history.restore_revision(doc_id, "20260302T093000000001Z", by="ann"),
    ):
        with pytest.raises(DocumentNotFound):
            attempt()
    assert files_under(place.corpus.parent) == before


def test_an_absolute_path_is_refused_even_inside_the_corpus(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.html", page("one"), by="ann")
    with pytest.raises(DocumentNotFound):
        history.content_hash(str(place.corpus / "a.html"))


def test_content_hash_follows_a_change_made_outside(place: Place, history: DocumentHistory) -> None:
    history.write("a.html", page("one"), by="ann")
    assert history.content_hash("a.html") == sha(page("one"))
    (place.corpus / "b.html").write_bytes(page("two"))
    os.replace(place.corpus / "b.html", place.corpus / "a.html")  # same size, new file
    assert history.content_hash("a.html") == sha(page("two"))


# -- purge -------------------------------------------------------------------------------


def test_purge_removes_only_what_is_older_than_keep_days(place: Place) -> None:
    clock = Clock()
    history = place.history(keep_days=90, clock=clock)
    for name in ("a.html", "b.html", "c.html"):
        history.write(name, page(f"{name} 1"), by="ann")
    old_revision = history.write("a.html", page("a 2"), by="ann").revision
    old_entry = history.delete("b.html", by="ann")
    clock.moment += timedelta(days=60)
    new_revision = history.write("a.html", page("a 3"), by="ann").revision
    new_entry = history.delete("c.html", by="ann")

    assert history.purge(now=START + timedelta(days=89)) == []
    removed = history.purge(now=START + timedelta(days=100))
    assert removed == [
        {"kind": "trash", "id": old_entry.id, "document": "b.html", "at": old_entry.deleted_at},
        {
            "kind": "revision",
            "id": old_revision,
            "document": "a.html",
            "at": removed[1]["at"],
        },
    ]
    assert history.trash() == [new_entry]
    assert [revision.id for revision in history.revisions("a.html")] == [new_revision]
    assert history.purge(now=START + timedelta(days=100)) == []

    clock.moment += timedelta(days=365)  # the default: now, by the history's clock
    assert len(history.purge()) == 2
    assert list((place.state / "trash").iterdir()) == []
    assert list((place.state / "revisions").iterdir()) == []  # no empty folders left
    assert_clean(place)


# -- the staff lock and concurrent changes -----------------------------------------------


def test_the_staff_lock_keeps_out_another_thread_of_the_same_process(tmp_path: Path) -> None:
    acquired = threading.Event()

    def take() -> None:
        with StaffLock(tmp_path):
            acquired.set()

    thread = threading.Thread(target=take)
    with StaffLock(tmp_path):
        thread.start()
        assert not acquired.wait(0.3)
    assert acquired.wait(10)
    thread.join()


def test_the_staff_lock_is_free_again_when_its_holder_is_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from search_api.staff.history import StaffLock;"
            "StaffLock(Path(sys.argv[1])).__enter__(); print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        acquired = threading.Event()

        def take() -> None:
            with StaffLock(tmp_path):
                acquired.set()

        thread = threading.Thread(target=take)
        thread.start()
        assert not acquired.wait(0.3)
        holder.kill()
        assert acquired.wait(10)
        thread.join()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_changes_from_several_threads_never_corrupt_the_state(place: Place) -> None:
    shared = place.history()
    histories = [shared, shared, place.history()]  # one shared, one as another process has
    names = ["a.html", "b.pdf", "news/c.html"]
    written: list[str] = []
    failures: list[BaseException] = []

    def work(seed: int, history: DocumentHistory) -> None:
        chance = random.Random(seed)
        try:
            for turn in range(25):
                name = chance.choice(names)
                action = chance.choice(["write", "write", "delete", "trash", "revision"])
                try:
                    if action == "write":
                        label = f"{seed}-{turn}"
                        sidecar = chance.choice([side(label), None])
                        history.write(name, page(label), sidecar=sidecar, by=f"t{seed}")
                        written.append(label)
                    elif action == "delete":
                        history.delete(name, by=f"t{seed}")
                    elif action == "trash" and (entries := history.trash()):
                        history.restore_from_trash(chance.choice(entries).id, by=f"t{seed}")
                    elif action == "revision" and (kept := history.revisions(name)):
                        history.restore_revision(name, chance.choice(kept).id, by=f"t{seed}")
                except (DocumentNotFound, DocumentExists, TrashEntryNotFound, RevisionNotFound):
                    pass  # another thread got there first
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(seed, histories[seed % 3])) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert_clean(place)
    assert shared.recover() == []
    labels = set()
    for kept in [place.corpus, place.state / "trash", place.state / "revisions"]:
        for document in kept.rglob("*"):
            if document.suffix in (".html", ".pdf") and document.is_file():
                label = document.read_bytes().split(b"<h1>")[1].split(b"</h1>")[0].decode()
                labels.add(label)
                sidecar = document.with_name(document.name + ".json")
                if sidecar.exists():  # a sidecar always beside its own content
                    assert json.loads(sidecar.read_bytes()) == {"title": label}
    assert set(written) <= labels  # every content written is somewhere: nothing was lost
    assert len(written) > 10


# -- crashes -----------------------------------------------------------------------------


class Killed(BaseException):
    """Where a process killed at that step would have stopped."""


class DiesAfter(DocumentHistory):
    """Carries out the first ``steps`` steps of a change and stops, as if killed there: no
    undo, no clean-up, the journal left as it is."""

    def __init__(self, place: Place, steps: int) -> None:
        super().__init__(place.corpus, place.state, clock=Clock(START + timedelta(days=1)))
        self.steps = steps
        self.names: list[str] = []

    def _carry_out(self, change: Any) -> None:
        sequence = self._steps(change)
        self.names = [name for name, _ in sequence]
        for _name, step in sequence[: self.steps]:
            step()
        if self.steps < len(sequence):
            raise Killed(sequence[self.steps][0])


def two_versions_then_deleted(history: DocumentHistory) -> None:
    history.write("news/a.pdf", b"%PDF-1.4 one", sidecar=side("one"), by="ann")
    history.write("news/a.pdf", b"%PDF-1.4 two", by="ann")
    history.delete("news/a.pdf", by="ann")
    shutil.rmtree(history.corpus / "news")


def with_sidecar(history: DocumentHistory) -> None:
    history.write("news/a.pdf", b"%PDF-1.4 one", sidecar=side("one"), by="ann")


def replaced_once(history: DocumentHistory) -> None:
    with_sidecar(history)
    history.write("news/a.pdf", b"%PDF-1.4 two", sidecar=None, by="bob")


def without_sidecar(history: DocumentHistory) -> None:
    history.write("a.html", page("one"), by="ann")


Scenario = tuple[Callable[[DocumentHistory], None], Callable[[DocumentHistory], object]]
SCENARIOS: dict[str, Scenario] = {
    "write a new document in a new folder": (
        without_sidecar,
        lambda h: h.write("news/deep/b.html", page("b"), sidecar=side("b"), by="cat"),
    ),
    "replace, new sidecar": (
        with_sidecar,
        lambda h: h.write("news/a.pdf", b"%PDF-1.4 new", sidecar=side("new"), by="cat"),
    ),
    "replace, sidecar removed": (
        with_sidecar,
        lambda h: h.write("news/a.pdf", b"%PDF-1.4 new", sidecar=None, by="cat"),
    ),
    "replace, sidecar kept": (
        with_sidecar,
        lambda h: h.write("news/a.pdf", b"%PDF-1.4 new", by="cat"),
    ),
    "replace, sidecar added": (
        without_sidecar,
        lambda h: h.write("a.html", page("new"), sidecar=side("new"), by="cat"),
    ),
    "delete with a sidecar": (with_sidecar, lambda h: h.delete("news/a.pdf", by="cat")),
    "delete without one": (without_sidecar, lambda h: h.delete("a.html", by="cat")),
    "restore from the trash": (
        two_versions_then_deleted,
        lambda h: h.restore_from_trash(h.trash()[0].id, by="cat"),
    ),
    "restore a revision of a deleted document": (
        two_versions_then_deleted,
        lambda h: h.restore_revision("news/a.pdf", h.revisions("news/a.pdf")[0].id, by="cat"),
    ),
    "restore a revision over the current content": (
        replaced_once,
        lambda h: h.restore_revision("news/a.pdf", h.revisions("news/a.pdf")[0].id, by="cat"),
    ),
}


@pytest.fixture(params=["one file system", "across file systems"])
def places(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Place]]:
    """Makes fresh corpus and state folders: the corpus beside the state, or on another file
    system (/dev/shm), where moves into and out of the trash are copies."""
    if request.param == "one file system":
        corpora = tmp_path / "corpora"
    else:
        shm = Path("/dev/shm")
        if not shm.is_dir() or not os.access(shm, os.W_OK):
            pytest.skip("no writable /dev/shm for a second file system")
        corpora = shm / f"blmk-history-{os.getpid()}-{time.monotonic_ns()}"
        corpora.mkdir()
        if corpora.stat().st_dev == tmp_path.stat().st_dev:
            shutil.rmtree(corpora)
            pytest.skip("/dev/shm is on the same file system as the temporary folder")

    def make(name: str) -> Place:
        (corpora / name).mkdir(parents=True)
        return Place(corpora / name, tmp_path / "states" / name)

    yield make
    shutil.rmtree(corpora, ignore_errors=True)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=list(SCENARIOS))
def test_a_change_killed_at_any_step_is_undone_or_finished_by_recovery(
    places: Callable[[str], Place], scenario: str
) -> None:
    set_up, change = SCENARIOS[scenario]
    reference = places("reference")
    set_up(reference.history(clock=Clock()))
    before = snapshot(reference)
    change(reference.history(clock=Clock(START + timedelta(days=1))))
    after = snapshot(reference)
    assert after != before

    outcomes = []
    for steps in range(100):
        place = places(f"killed-after-{steps}")
        set_up(place.history(clock=Clock()))
        dying = DiesAfter(place, steps)
        try:
            change(dying)
        except Killed:
            pass
        else:
            assert steps == len(dying.names)  # every step ran: nothing left to stop at
            break
        notes = place.history().recover()
        state = snapshot(place)
        assert state in (before, after), f"killed before {dying.names[steps]}"
        assert_clean(place)
        assert place.history().recover() == []
        outcomes.append("before" if state == before else "after")
        if steps > 0:
            assert notes  # recovery says what it did
    assert outcomes[0] == "before" and outcomes[-1] == "after"  # the commit is in between
    assert "before" in outcomes


@pytest.mark.parametrize("leftover", ["a partial copy", "a whole copy, source not removed"])
@pytest.mark.parametrize("kind", ["delete", "restore"])
def test_a_move_across_file_systems_cut_short_is_undone(
    place: Place, kind: str, leftover: str
) -> None:
    """The states a copy-then-remove move leaves inside one step: a hidden ``.moving`` copy
    under way, or the whole copy beside a source not yet removed."""
    if kind == "delete":
        set_up, change = SCENARIOS["delete with a sidecar"]
    else:
        set_up, change = SCENARIOS["restore from the trash"]
    set_up(place.history(clock=Clock()))
    before = snapshot(place)
    counting = DiesAfter(place, 0)
    with pytest.raises(Killed):
        change(counting)  # stopped before its first step: only to learn the steps' names
    with pytest.raises(Killed):
        change(DiesAfter(place, counting.names.index("document")))  # killed while moving it
    [journal] = (place.state / "journal").iterdir()
    record = json.loads(journal.read_bytes())
    kept = place.state / "trash" / record["entry"] / "a.pdf"
    document = place.corpus / "news/a.pdf"
    source, target = (document, kept) if kind == "delete" else (kept, document)
    if leftover == "a partial copy":
        target.with_name(".a.pdf.moving").write_bytes(source.read_bytes()[:5])
    else:
        shutil.copyfile(source, target)
    assert place.history().recover()
    assert snapshot(place) == before
    assert_clean(place)


def test_recovery_never_removes_a_file_it_did_not_put_there(place: Place) -> None:
    two_versions_then_deleted(place.history(clock=Clock()))
    entry = place.history().trash()[0]
    dying = DiesAfter(place, 0)
    with pytest.raises(Killed):
        dying.restore_from_trash(entry.id, by="c")
    with pytest.raises(Killed):
        DiesAfter(place, dying.names.index("document")).restore_from_trash(entry.id, by="c")
    (place.corpus / "news").mkdir(exist_ok=True)
    (place.corpus / "news/a.pdf").write_bytes(b"%PDF-1.4 someone else's")  # while it was dead
    notes = place.history().recover()
    assert any("kept both" in note for note in notes)
    assert (place.corpus / "news/a.pdf").read_bytes() == b"%PDF-1.4 someone else's"
    assert place.history().trash() == [entry]  # and the deleted one is still in the trash


def test_a_purge_cut_short_lists_nothing_half_gone_and_recovery_clears_it(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.pdf", b"%PDF-1.4 one", sidecar=side("one"), by="ann")
    entry = history.delete("a.pdf", by="ann")
    # what a purge killed mid-way leaves: the entry moved out of sight, partly removed
    hidden = place.state / "journal" / f".purging-{entry.id}-abc123"
    (place.state / "trash" / entry.id).rename(hidden)
    (hidden / "a.pdf").unlink()
    assert history.trash() == []
    assert not hidden.exists()
    assert_clean(place)


def test_an_unreadable_journal_record_is_set_aside_not_acted_on(
    place: Place, history: DocumentHistory
) -> None:
    history.write("a.html", page("one"), by="ann")
    (place.state / "journal" / "20260302T093000000001Z-abcdef.undo.json").write_text("{")
    before = snapshot(place)
    [note] = history.recover()
    assert "unreadable" in note
    assert snapshot(place) == before
    assert [p.name for p in (place.state / "journal").iterdir()] == [
        "20260302T093000000001Z-abcdef.undo.json.unreadable"
    ]


def test_a_state_folder_inside_the_corpus_is_refused(place: Place) -> None:
    with pytest.raises(ValueError, match="inside the corpus"):
        DocumentHistory(place.corpus, place.corpus / "var" / "state")
    DocumentHistory(place.corpus, place.corpus / ".state")  # hidden: builds leave it out


def test_recovery_of_a_clean_state_does_nothing(history: DocumentHistory) -> None:
    assert history.recover() == []
    history.write("a.html", page("one"), by="ann")
    assert history.recover() == []


# -- a full disk -------------------------------------------------------------------------


def _fill(folder: Path) -> Path:
    """Fills the file system ``folder`` is on to the last byte; the file that does it."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (65536, 4096, 1):
            while True:
                try:
                    out.write(b"\0" * size)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    return filler


def _free(filler: Path, size: int) -> None:
    os.truncate(filler, max(0, filler.stat().st_size - size))


def _disk_full_report(disk: Path, small_disk: Path) -> dict[str, Any]:
    """Each change tried on a full disk: what it raised, and whether anything changed.

    ``disk`` holds a corpus and its state; ``small_disk``, another file system, holds the
    state of a second corpus on ``disk`` (moves into its trash are copies)."""
    report: dict[str, Any] = {}

    def attempt(name: str, place: Place, change: Callable[[DocumentHistory], object]) -> None:
        before = snapshot(place)
        try:
            change(place.history())
            outcome = "done"
        except ServiceError as error:
            outcome = type(error).__name__
        report[name] = {
            "outcome": outcome,
            "unchanged": snapshot(place) == before,
            "clean": not list((place.state / "journal").iterdir())
            and not [p for p in place.corpus.rglob("*") if p.name.startswith(".")]
            and not [p for p in place.state.rglob("*") if p.name.startswith(".")],
        }

    big = b"%PDF-1.4 " + os.urandom(300 * 1024)
    same = Place(disk / "corpus", disk / "state")
    same.corpus.mkdir()
    history = same.history()
    history.write("a.pdf", big, sidecar=side("a"), by="ann")
    history.write("b.html", page("b"), by="ann")
    history.delete("b.html", by="ann")
    other = Place(disk / "corpus-2", small_disk / "state")
    other.corpus.mkdir()
    other.history().write("big.pdf", big, by="ann")
    filler = _fill(disk)

    attempt("replace", same, lambda h: h.write("a.pdf", b"%PDF-1.4 small", by="bob"))
    attempt("new", same, lambda h: h.write("new.html", page("new"), by="bob"))
    attempt("delete", same, lambda h: h.delete("a.pdf", by="bob"))
    attempt("restore", same, lambda h: h.restore_from_trash(h.trash()[0].id, by="bob"))
    _free(filler, 64 * 1024)  # room for the new bytes, not for the old ones' revision
    attempt("replace, no room for the revision", same, lambda h: h.write("a.pdf", b"x", by="b"))
    attempt("delete with a little room", same, lambda h: h.delete("a.pdf", by="bob"))
    _fill(small_disk)
    _free(filler, 1024 * 1024)
    attempt("delete into a full trash elsewhere", other, lambda h: h.delete("big.pdf", by="bob"))
    attempt("replace, full revisions elsewhere", other, lambda h: h.write("big.pdf", b"", by="b"))
    return report


def test_a_full_disk_changes_nothing_and_says_so(tmp_path: Path) -> None:
    disk, small_disk = tmp_path / "disk", tmp_path / "small-disk"
    disk.mkdir()
    small_disk.mkdir()
    from tests.conftest import skip_unless_tmpfs_mounts  # not at the top: this runs as a script too

    skip_unless_tmpfs_mounts(disk)
    script = (
        'mount -t tmpfs -o size=1m tmpfs "$1" && mount -t tmpfs -o size=512k tmpfs "$2"'
        ' && exec "$3" "$4" "$1" "$2"'
    )
    run = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", disk, small_disk, sys.executable, __file__],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    full = {"outcome": "StorageFull", "unchanged": True, "clean": True}
    assert report == {
        "replace": full,
        "new": full,
        "delete": full,  # even a rename needs its journal record written first
        "restore": full,
        "replace, no room for the revision": full,
        "delete with a little room": {"outcome": "done", "unchanged": False, "clean": True},
        "delete into a full trash elsewhere": full,
        "replace, full revisions elsewhere": full,
    }
    assert list(disk.iterdir()) == []  # the tmpfs went with its namespace


if __name__ == "__main__":
    print(json.dumps(_disk_full_report(Path(sys.argv[1]), Path(sys.argv[2]))))
