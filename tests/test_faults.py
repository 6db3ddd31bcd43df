"""Faults a live service meets: its index folder gone, a disk that fills during a build, a
damaged segment file. The server keeps answering from the last good version, or answers 503
JSON saying why; it recovers by itself when the fault is put right; a published version is
never changed.
"""

from __future__ import annotations

import hashlib
import resource
import shutil
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from indexer.store import IndexStore
from search_api.engine import IndexUnavailable, SearchRequest, SearchService
from tests.conftest import cli_build, get_json, run_build, serve

pytestmark = pytest.mark.server

# The server checks for a newly published version this often.
REFRESH = {"BLMK_REFRESH_SECONDS": "0.1"}


def fingerprint(version: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(version.iterdir())}


def served_version(base: str) -> str:
    status, body = get_json(f"{base}/health")
    assert status == 200, body
    return body["index_version"]


def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Waits for something the server does on its own (it checks every 0.1 s here)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there"
        time.sleep(0.1)


def damage_postings(version: Path) -> None:
    """Flips bytes through every postings file, as a bad disk or a bad copy would."""
    for path in version.glob("*.pst"):
        data = bytearray(path.read_bytes())
        for at in range(64, len(data), 61):
            data[at] ^= 0x5A
        path.write_bytes(bytes(data))


def page_error(url: str) -> urllib.error.HTTPError:
    """The error answer of a page that is expected to fail."""
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(url, timeout=30)
    return failed.value


def copy_as_new_version(store: IndexStore, source: Path) -> Path:
    """A new version directory holding a copy of ``source`` (not yet published)."""
    version = store.new_version()
    for path in source.iterdir():
        shutil.copy2(path, version / path.name)
    return version


@pytest.fixture
def index(tmp_path: Path) -> Path:
    cli_build(tmp_path / "index")
    return tmp_path / "index"


@pytest.fixture
def server(index: Path) -> Iterator[str]:
    with serve(["--index", str(index)], REFRESH) as base:
        yield base


def test_a_damaged_new_version_is_set_aside_for_the_last_good_one(index: Path, server: str) -> None:
    store = IndexStore(index)
    good = store.current()
    assert good is not None and served_version(server) == good.name
    damaged = copy_as_new_version(store, good)
    damage_postings(damaged)
    store.publish(damaged, store.build_info(good))
    # Past the server's next check, so that the first search below opens the damaged version
    # (a search straight away would still be answered by the good one, which proves nothing).
    time.sleep(0.3)
    for q in ("green+plan", "vaccination", "waiting+lists", "mental+health"):
        status, body = get_json(f"{server}/search?q={q}")
        assert status == 200 and body["total"] > 0, body
    assert served_version(server) == good.name  # the damaged one opened, failed, set aside

    cli_build(index)  # the fault put right: a new, good version
    fixed = store.current()
    assert fixed is not None and fixed.name not in (good.name, damaged.name)
    eventually(lambda: served_version(server) == fixed.name)
    assert get_json(f"{server}/search?q=green+plan")[1]["total"] > 0


def test_with_no_good_version_to_fall_back_on_the_answer_is_503(index: Path) -> None:
    version = IndexStore(index).current()
    assert version is not None
    with serve(["--index", str(index)], REFRESH) as server:
        assert get_json(f"{server}/search?q=parking")[0] == 200
        damage_postings(version)  # under the running server: nothing else is open
        status, body = get_json(f"{server}/search?q=vaccination")
        assert status == 503 and body["error"]["code"] == "index_unavailable"
        assert (
            "damaged" in body["error"]["message"] and "blmk-index build" in body["error"]["message"]
        )
        page = page_error(f"{server}/?q=vaccination")
        assert page.code == 503 and page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Retry-After"] == "30"
        html = page.read().decode()
        assert "Search is not available just now" in html and 'name="q"' in html
        assert "blmk-index" not in html  # the staff's reason is not the public's business
        cli_build(index)
        eventually(lambda: get_json(f"{server}/search?q=vaccination")[0] == 200)


def test_a_version_that_cannot_be_opened_at_start_gives_way_to_an_earlier_one(
    index: Path,
) -> None:
    store = IndexStore(index)
    good = store.current()
    assert good is not None
    broken = copy_as_new_version(store, good)
    for toc in broken.glob("*.toc"):
        toc.write_bytes(toc.read_bytes()[:40])  # its table of contents cut short
    store.publish(broken, store.build_info(good))
    with serve(["--index", str(index)], REFRESH) as server:
        assert served_version(server) == good.name
        assert get_json(f"{server}/search?q=green+plan")[0] == 200


def test_the_index_folder_gone_and_back(index: Path, server: str) -> None:
    moved = index.with_name("moved-away")
    before = served_version(server)
    index.rename(moved)
    try:
        time.sleep(0.3)  # past the server's next check
        for q in ("green+plan", "pharmacy", "waiting+lists"):
            status, body = get_json(f"{server}/search?q={q}")
            assert status == 200 and body["total"] > 0
        assert served_version(server) == before
    finally:
        moved.rename(index)
    cli_build(index)
    after = IndexStore(index).current()
    assert after is not None
    eventually(lambda: served_version(server) == after.name)


def _small_files_only() -> None:
    """In the build's process: no file may grow past 300 kB, as on a nearly full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_a_disk_filling_during_a_build_publishes_nothing_and_damages_nothing(
    index: Path, server: str
) -> None:
    store = IndexStore(index)
    live = store.current()
    assert live is not None
    before = fingerprint(live)
    done = run_build(index, preexec_fn=_small_files_only)
    assert done.returncode == 1, done.stderr
    assert "could not be written (File too large)" in done.stderr
    assert "Traceback" not in done.stderr
    assert store.current() == live and fingerprint(live) == before
    assert [v.name for v in store.versions()] == [live.name]  # the half-written one removed
    assert store.last_build()["ok"] is False
    assert get_json(f"{server}/search?q=green+plan")[0] == 200

    cli_build(index)  # space again: the next build publishes
    fresh = store.current()
    assert fresh is not None and fresh != live
    eventually(lambda: served_version(server) == fresh.name)


def test_when_the_stand_in_fails_too_the_answer_is_index_unavailable(index: Path) -> None:
    store = IndexStore(index)
    first = store.current()
    assert first is not None
    service = SearchService(index, refresh_seconds=0)
    second = copy_as_new_version(store, first)
    store.publish(second, store.build_info(first))
    assert service.search(SearchRequest(q="parking"))["total"] > 0
    assert service.current().name == second.name  # the first is kept to stand in
    damage_postings(first)
    damage_postings(second)
    with pytest.raises(IndexUnavailable) as unavailable:
        service.search(SearchRequest(q="vaccination"))
    assert first.name in str(unavailable.value) and second.name in str(unavailable.value)


def test_a_pointer_that_cannot_be_read_keeps_the_open_version_answering(index: Path) -> None:
    service = SearchService(index, refresh_seconds=0)
    name = service.current().name
    pointer = IndexStore(index).pointer
    pointer.unlink()
    pointer.mkdir()  # reading it fails with an OSError that is not "not found"
    try:
        assert service.search(SearchRequest(q="green plan"))["total"] > 0
        assert service.current().name == name
    finally:
        pointer.rmdir()
        pointer.write_text(name + "\n", encoding="utf-8")
