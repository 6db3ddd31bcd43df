"""Files are written whole or not at all: the target holds the old content or the new, and a
failed write leaves no temporary file behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from indexer import IndexStore, write_atomically
from indexer.files import flush_to_disk, leftover_temporaries


def test_writes_text_as_utf8_and_bytes_as_they_are(tmp_path: Path) -> None:
    write_atomically(tmp_path / "note.txt", "Café open 9–5\n")
    write_atomically(tmp_path / "data.bin", b"\x00\xff", durable=False)
    assert (tmp_path / "note.txt").read_bytes() == "Café open 9–5\n".encode()
    assert (tmp_path / "data.bin").read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin", "note.txt"]


def test_replaces_the_file_and_keeps_readers_of_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "CURRENT"
    target.write_text("v-1\n", encoding="utf-8")
    with target.open(encoding="utf-8") as reader:  # opened before the write, as a search is
        write_atomically(target, "v-2\n")
        assert reader.read() == "v-1\n"  # the old file, whole: it was replaced, not rewritten
    assert target.read_text(encoding="utf-8") == "v-2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT"]


def test_a_failed_replace_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.mkdir()  # a folder where the file should go: the rename fails after the data is out
    (target / "inside").write_text("kept", encoding="utf-8")
    with pytest.raises(OSError):
        write_atomically(target, "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert (target / "inside").read_text(encoding="utf-8") == "kept"


def test_data_that_cannot_be_encoded_leaves_the_old_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "analytics.json"
    target.write_text('{"weeks": {}}', encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "half a character: \ud800")
    assert target.read_text(encoding="utf-8") == '{"weeks": {}}'
    assert [p.name for p in tmp_path.iterdir()] == ["analytics.json"]


def test_a_missing_folder_is_an_error_not_created(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "gone" / "file.txt", "x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="a read-only folder does not stop root")
def test_a_read_only_folder_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "file.txt").write_text("old", encoding="utf-8")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(PermissionError):
            write_atomically(folder / "file.txt", "new")
        assert [p.name for p in folder.iterdir()] == ["file.txt"]
        assert (folder / "file.txt").read_text(encoding="utf-8") == "old"
    finally:
        folder.chmod(stat.S_IRWXU)


def test_leftovers_of_killed_writes_are_found_by_the_target_name(tmp_path: Path) -> None:
    target = tmp_path / "last-build.json"
    killed = tmp_path / ".last-build.json.k2j4x8.tmp"  # what a writer killed mid-write leaves
    killed.write_text("{", encoding="utf-8")
    (tmp_path / ".other.json.k2j4x8.tmp").write_text("{", encoding="utf-8")
    write_atomically(target, "{}")
    assert leftover_temporaries(target) == [killed]
    assert leftover_temporaries(tmp_path / "missing" / "CURRENT") == []


def test_the_index_store_sweeps_half_written_pointers_and_build_records(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    version = store.new_version()
    store.publish(version, {"documents": 0})
    store.record_last_build({"ok": True})
    killed = [tmp_path / ".CURRENT.a1b2c3.tmp", tmp_path / ".last-build.json.d4e5f6.tmp"]
    for path in killed:
        path.write_text("half", encoding="utf-8")
    assert sorted(store.remove_debris()) == killed
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["CURRENT", "last-build.json", version.name]
    assert store.current() == version


def test_a_new_file_is_readable_as_any_new_file_and_a_replaced_one_keeps_its_mode(
    tmp_path: Path,
) -> None:
    fresh = tmp_path / "CURRENT"
    write_atomically(fresh, "v-1\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600

    kept = tmp_path / "synonyms.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    write_atomically(kept, "new")
    assert kept.read_text() == "new" and stat.S_IMODE(kept.stat().st_mode) == 0o640


def test_flushing_a_version_folder_leaves_its_files_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "segment.pst").write_bytes(b"postings")
    (tmp_path / "inner").mkdir()
    flush_to_disk(tmp_path)
    assert (tmp_path / "segment.pst").read_bytes() == b"postings"
