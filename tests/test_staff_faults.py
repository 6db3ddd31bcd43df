"""Staff changes meet real faults on a real ``blmk-serve``: a ``kill -9`` in the middle of an
upload, replace, delete or restore, and a disk that is full.

A killed server must leave, once the next one has started (and run recovery), the state before
the change or the state after it: whole files only, sidecars that belong to their files, no
document both in the corpus and in the trash, no journal records, nothing hidden left behind.
A full disk must be answered with 507 and the JSON error body, with nothing changed, and the
same request must work once space has been freed.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from indexer.build import build_index
from indexer.config import IndexerSettings
from tests.conftest import (
    BIN,
    free_port,
    get_json,
    html_page,
    skip_unless_tmpfs_mounts,
    write_corpus,
)
from tests.test_admin_api import multipart
from tests.test_staff_api import new_account

pytestmark = pytest.mark.server

BREAK_GLASS = "br3ak-glass-token"
ADMIN = {"Authorization": f"Bearer {BREAK_GLASS}"}
MB = 1024 * 1024
VERSIONS = 4  # known contents per document id
KILLS = 16  # half at a random moment, half soon after a change began
SEED = 20261202
STAFF_FOLDER = "staff"
ENTRY_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")
REVISION_ID = re.compile(r"^\d{8}T\d{12}Z$")


# -- a server whose process the test holds ------------------------------------------------


@dataclass
class Server:
    """A running ``blmk-serve`` (perhaps inside ``unshare``): its process, to kill or stop."""

    process: subprocess.Popen[str]
    base: str
    printed: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self._gone()

    def stop(self) -> str:
        """Stops it as a service manager does; what it printed."""
        self.process.send_signal(signal.SIGTERM)
        output = self._gone()
        assert self.process.returncode == 0, output
        return output

    def close(self) -> None:
        """Kills it if a failing test left it running."""
        if self.process.poll() is None:
            self.kill()

    def _gone(self) -> str:
        self.process.wait(timeout=30)
        if self.reader is not None:
            self.reader.join(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return "".join(self.printed)


def start_server(command: list[str], port: int, env: dict[str, str]) -> Server:
    """Starts ``command`` (which serves on ``port`` of 127.0.0.1) and waits until it answers."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"BLMK_ANALYTICS_FILE": ""} | env,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    # Drained while it runs: a line per request would otherwise fill the pipe.
    server.reader = threading.Thread(
        target=server.printed.extend, args=(process.stdout,), daemon=True
    )
    server.reader.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            if get_json(f"{server.base}/health")[0] == 200:
                return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"blmk-serve did not start: {server._gone()}")
        time.sleep(0.05)


def blmk_serve(index: Path, corpus: Path, state: Path) -> Server:
    port = free_port()
    command = [str(BIN / "blmk-serve"), "--index", str(index), "--corpus", str(corpus)]
    env = {"BLMK_STATE_DIR": str(state), "BLMK_ADMIN_TOKEN": BREAK_GLASS}
    return start_server([*command, "--host", "127.0.0.1", "--port", str(port)], port, env)


# -- known contents: every file the changes write is one of these -------------------------


def title_of(doc: str, version: int) -> str:
    return f"{doc} version {version}"


def content(doc: str, version: int) -> bytes:
    """A page of 2 to 5 MB, so that writing it takes a while; the same for the same id and
    version, and different for every other."""
    size = random.Random(f"{doc}#{version}").randint(2 * MB, 5 * MB)
    line = f"<p>{title_of(doc, version)}: otters, water voles and kingfishers on the Ouse.</p>\n"
    return html_page(title_of(doc, version), line * (size // len(line))).encode()


def upload_form(doc: str, version: int) -> tuple[bytes, dict[str, str]]:
    """The form that uploads this version of ``doc``, its title in the sidecar."""
    folder, _, name = doc.rpartition("/")
    return multipart(
        {"folder": folder, "title": title_of(doc, version)}, name, content(doc, version)
    )


@functools.cache
def known_versions(doc: str) -> dict[str, int]:
    """The content hash of each known version of ``doc``, and its version."""
    return {hashlib.sha256(content(doc, v)).hexdigest(): v for v in range(VERSIONS)}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_version(doc: str, file: Path, sidecar: Path, sha256: str | None = None) -> int:
    """The version ``file`` holds, checking that it is whole, is the one ``sha256`` says (when
    given) and that ``sidecar`` is that version's."""
    found = sha256_of(file)
    assert found in known_versions(doc), f"{file} holds no known version of {doc}: a torn write"
    assert sha256 is None or found == sha256, f"{file} is not the content its record names"
    version = known_versions(doc)[found]
    assert sidecar.is_file(), f"{file} (version {version}) has lost its sidecar"
    title = json.loads(sidecar.read_bytes())["title"]
    assert title == title_of(doc, version), f"{sidecar} belongs to another content than {file}"
    return version


# -- the stream of changes ---------------------------------------------------------------


class ChangeStream:
    """One member of staff making changes back to back until the server dies under them.

    It learns the state from the API first, then only asks for changes that should succeed
    (a deleted document only ever comes back through its trash entry, so no id is in the
    corpus and the trash at once), and records any answer that is not a success."""

    def __init__(self, base: str, auth: dict[str, str], seed: float, name: str) -> None:
        self.base, self.auth, self.rng, self.name = base, auth, random.Random(seed), name
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.streaming = threading.Event()
        self.killed = threading.Event()
        self.present: dict[str, str] = {}  # document id -> content hash
        self.trashed: dict[str, str] = {}  # document id -> trash entry id
        self.done: list[str] = []
        self.unexpected: list[Any] = []
        self._new = 0

    def _run(self) -> None:
        try:
            self._learn_the_state()
            self.streaming.set()
            while True:
                self._one_change()
        except Exception as error:
            cut_off = isinstance(error, OSError | ValueError | http.client.HTTPException)
            if not (cut_off and self.killed.is_set()):  # not the kill: a failure of its own
                self.unexpected.append(("the stream stopped", repr(error)))
        finally:
            self.streaming.set()

    def _learn_the_state(self) -> None:
        status, listing = get_json(f"{self.base}/admin/documents", headers=self.auth)
        assert status == 200, listing
        self.present = {
            d["id"]: d["sha256"]
            for d in listing["documents"]
            if d["id"].startswith(f"{STAFF_FOLDER}/")
        }
        status, trash = get_json(f"{self.base}/admin/trash", headers=self.auth)
        assert status == 200, trash
        self.trashed = {entry["document"]: entry["id"] for entry in trash["trash"]}

    def _one_change(self) -> None:
        roll = self.rng.random()
        if roll < 0.1 or not self.present:
            self._new += 1
            folder = self.rng.choice(["", f"/{self.name}-{self._new}"])
            self._upload(f"{STAFF_FOLDER}{folder}/new-{self.name}-{self._new}.html")
        elif roll < 0.45:
            self._upload(self.rng.choice(sorted(self.present)))
        elif roll < 0.65:
            self._delete(self.rng.choice(sorted(self.present)))
        elif roll < 0.8 and self.trashed:
            self._restore_from_trash(self.rng.choice(sorted(self.trashed)))
        else:
            self._restore_revision(self.rng.choice(sorted(self.present)))

    def _upload(self, doc: str) -> None:
        current = known_versions(doc).get(self.present.get(doc, ""))
        version = self.rng.choice([v for v in range(VERSIONS) if v != current])
        body, headers = upload_form(doc, version)
        if doc in self.present:
            headers["If-Match"] = f'"{self.present[doc]}"'
        status, answer = get_json(f"{self.base}/admin/documents", "POST", body, headers | self.auth)
        if self._expect(
            f"upload {doc} v{version}", status, 200 if current is not None else 201, answer
        ):
            self.present[doc] = answer["sha256"]

    def _delete(self, doc: str) -> None:
        headers = self.auth | {"If-Match": f'"{self.present[doc]}"'}
        status, answer = get_json(f"{self.base}/admin/documents/{doc}", "DELETE", b"", headers)
        if self._expect(f"delete {doc}", status, 200, answer):
            del self.present[doc]
            self.trashed[doc] = answer["trash"]["id"]

    def _restore_from_trash(self, doc: str) -> None:
        entry = self.trashed[doc]
        url = f"{self.base}/admin/trash/{entry}/restore"
        status, answer = get_json(url, "POST", b"", self.auth)
        if self._expect(f"restore {doc} from the trash", status, 200, answer):
            del self.trashed[doc]
            self.present[doc] = answer["trash"]["sha256"]

    def _restore_revision(self, doc: str) -> None:
        url = f"{self.base}/admin/documents/{doc}/revisions"
        status, answer = get_json(url, headers=self.auth)
        if status != 200:
            self.unexpected.append((f"revisions of {doc}", status, answer))
            return
        others = [r["id"] for r in answer["revisions"] if r["sha256"] != self.present[doc]]
        if not others:
            self._upload(doc)
            return
        revision = self.rng.choice(others)
        headers = self.auth | {"If-Match": f'"{self.present[doc]}"'}
        status, answer = get_json(f"{url}/{revision}/restore", "POST", b"", headers)
        if self._expect(f"restore {doc} to {revision}", status, 200, answer):
            self.present[doc] = answer["sha256"]

    def _expect(self, change: str, status: int, wanted: int, answer: dict) -> bool:
        if status == wanted:
            self.done.append(change)
            return True
        self.unexpected.append((change, status, answer))
        return False


# -- what must hold after a restart -------------------------------------------------------


def journal_records(state: Path) -> list[str]:
    journal = state / "journal"
    return sorted(p.name for p in journal.iterdir()) if journal.is_dir() else []


def wait_for_a_change(state: Path, within: float) -> bool:
    """Whether a change began (its journal record appeared) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if journal_records(state):
            return True
        time.sleep(0.0005)
    return False


def changes_cut_short(state: Path) -> list[str]:
    """The changes the journal says were under way, and which way recovery must take each."""
    found = []
    for name in journal_records(state):
        if name.endswith((".undo.json", ".redo.json")):
            change = json.loads((state / "journal" / name).read_bytes())["change"]
            found.append(f"{change} to {'finish' if name.endswith('.redo.json') else 'undo'}")
        else:  # the record itself was being written (write_atomically's temporary file)
            found.append("a journal record half written")
    return found


def check_files(corpus: Path, state: Path, originals: dict[str, bytes]) -> dict[str, str]:
    """The invariants on disk, read before anything asks the new server for its state; the
    documents of the corpus with their content hashes."""
    assert journal_records(state) == [], "a journal record outlived the restart"
    # Builds never index hidden files, yet recovery leaves none: the staged copies of a write
    # cut short, the temporary files of its journal and trash records, half-kept revisions.
    for top in (corpus, state / "trash", state / "revisions"):
        hidden = [p for p in top.rglob(".*")] if top.is_dir() else []
        assert hidden == [], f"hidden leftovers after recovery: {hidden}"

    documents: dict[str, str] = {}
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        doc = path.relative_to(corpus).as_posix()
        if doc in originals:
            assert path.read_bytes() == originals[doc], f"{doc} was never changed, yet differs"
            documents[doc] = sha256_of(path)
        elif doc.endswith(".json"):
            assert (corpus / doc.removesuffix(".json")).is_file(), f"{doc}: a sidecar alone"
        else:
            check_version(doc, path, path.with_name(f"{path.name}.json"))
            documents[doc] = sha256_of(path)

    trashed: set[str] = set()
    for folder in sorted((state / "trash").iterdir()) if (state / "trash").is_dir() else []:
        assert ENTRY_ID.match(folder.name), f"a stray {folder} in the trash"
        entry = json.loads((folder / "entry.json").read_bytes())
        doc, name = entry["document"], entry["document"].rpartition("/")[2]
        assert {p.name for p in folder.iterdir()} == {"entry.json", name, f"{name}.json"}
        check_version(doc, folder / name, folder / f"{name}.json", entry["sha256"])
        assert doc not in documents, f"{doc} is both in the corpus and in the trash"
        assert doc not in trashed, f"{doc} is in the trash twice, though deleted once"
        trashed.add(doc)
    for folder in sorted(p for p in corpus.rglob("*") if p.is_dir()):
        if not any(folder.iterdir()):  # only a delete empties a folder: its document is kept
            assert any(d.startswith(f"{folder.relative_to(corpus).as_posix()}/") for d in trashed)

    top = state / "revisions"
    for where, folders, files in os.walk(top):
        here = Path(where)
        if "revision.json" not in files:
            assert files == [], f"stray files in {here}"
            continue
        folders.clear()
        assert REVISION_ID.match(here.name), f"a stray {here} among the revisions"
        doc = here.parent.relative_to(top).as_posix()
        kept = json.loads((here / "revision.json").read_bytes())
        name = doc.rpartition("/")[2]
        assert set(files) == {"revision.json", name, f"{name}.json"}, here
        check_version(doc, here / name, here / f"{name}.json", kept["sha256"])
    return documents


def check_answers(base: str, state: Path, documents: dict[str, str]) -> None:
    """The new server tells the same state as the disk, and no revision is the current content
    of its document (which a replace that never happened would leave)."""
    status, listing = get_json(f"{base}/admin/documents", headers=ADMIN)
    assert status == 200, listing
    assert {d["id"]: d["sha256"] for d in listing["documents"]} == documents
    status, trash = get_json(f"{base}/admin/trash", headers=ADMIN)
    assert status == 200, trash
    on_disk = (
        sorted(p.name for p in (state / "trash").iterdir()) if (state / "trash").is_dir() else []
    )
    assert sorted(entry["id"] for entry in trash["trash"]) == on_disk
    assert not {entry["document"] for entry in trash["trash"]} & set(documents)

    top = state / "revisions"
    kept_for = {p.parent.parent.relative_to(top).as_posix() for p in top.rglob("revision.json")}
    for doc in sorted(kept_for | {d for d in documents if d.startswith(f"{STAFF_FOLDER}/")}):
        status, answer = get_json(f"{base}/admin/documents/{doc}/revisions", headers=ADMIN)
        assert status == 200, answer
        on_disk = sorted((p.name for p in (top / doc).glob("*") if p.is_dir()), reverse=True)
        assert [r["id"] for r in answer["revisions"]] == on_disk
        if doc in documents and answer["revisions"]:
            assert answer["revisions"][0]["sha256"] != documents[doc], (
                f"{doc}'s newest revision holds its current content: a replace that never "
                "happened was kept as a revision"
            )


# -- 1. kill -9 in the middle of a change -------------------------------------------------


def test_a_server_killed_mid_change_leaves_the_state_before_or_after(tmp_path: Path) -> None:
    """Changes of 2-5 MB pages back to back, the server killed now at a random moment, now
    soon after a change began; after each restart, every invariant on disk and over HTTP."""
    corpus, state, index = tmp_path / "corpus", tmp_path / "state", tmp_path / "index"
    pages = {
        "pages/otters.html": html_page("Otters", "<p>Otters are back on the Ouse.</p>" * 12),
        "pages/voles.html": html_page("Water voles", "<p>Water voles need reeds.</p>" * 12),
        "news/kingfishers.html": html_page("Kingfishers", "<p>Kingfishers nest here.</p>" * 12),
    }
    write_corpus(corpus, dict(pages))
    originals = {doc: text.encode() for doc, text in pages.items()}
    build_index(IndexerSettings(corpus_dir=corpus, index_dir=index, state_dir=state))
    publisher = new_account(state, "publisher.one", "publisher")

    server = blmk_serve(index, corpus, state)
    try:
        for doc in (f"{STAFF_FOLDER}/otter-survey.html", f"{STAFF_FOLDER}/reports/voles.html"):
            body, headers = upload_form(doc, 0)
            status, answer = get_json(
                f"{server.base}/admin/documents", "POST", body, headers | publisher
            )
            assert status == 201, answer

        rng = random.Random(SEED)
        cut_short: list[str] = []
        changes, unexpected = 0, []
        for kill in range(KILLS):
            stream = ChangeStream(server.base, publisher, rng.random(), f"k{kill}")
            stream.thread.start()
            assert stream.streaming.wait(30)
            if kill % 2 and wait_for_a_change(state, within=2.0):
                time.sleep(rng.uniform(0, 0.03))  # somewhere in the middle of it
            else:
                time.sleep(rng.uniform(0.005, 0.3))
            stream.killed.set()
            server.kill()
            stream.thread.join(timeout=30)
            assert not stream.thread.is_alive()
            changes += len(stream.done)
            unexpected += stream.unexpected
            cut_short += changes_cut_short(state)

            server = blmk_serve(index, corpus, state)
            documents = check_files(corpus, state, originals)
            check_answers(server.base, state, documents)
        server.stop()
    finally:
        server.close()

    print(
        f"{KILLS} kills, {len(cut_short)} in the middle of a change "
        f"({', '.join(sorted(cut_short)) or 'none'}); {changes} changes done"
    )
    assert unexpected == []
    assert changes >= KILLS // 2 and cut_short  # it changed things, and was cut short doing so


# -- 2. a full disk -----------------------------------------------------------------------


def _fill(folder: Path) -> Path:
    """Fills the file system ``folder`` is on to its last byte; the file that does it."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (MB, 4096, 1):
            while True:
                try:
                    out.write(b"\0" * size)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    return filler


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under the corpus and the state folder but the audit log (a refusal is
    audited where the log's last page has room) and the filler: its content hash."""
    return {
        path.relative_to(root).as_posix(): sha256_of(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path.name != "filler"
        and not path.relative_to(root).as_posix().startswith(("state/audit/", "state/accounts"))
    }


@pytest.fixture
def namespaced_disk(tmp_path: Path) -> Path:
    """A folder a small tmpfs can be mounted on in a mount namespace of its own."""
    disk = tmp_path / "disk"
    disk.mkdir()
    skip_unless_tmpfs_mounts(disk)
    return disk


def test_a_full_disk_answers_507_and_changes_nothing(tmp_path: Path, namespaced_disk: Path) -> None:
    """The corpus and the state folder on a 4 MB tmpfs of the server's own mount namespace
    (the index outside it); the test reaches the tmpfs through /proc/<pid>/root."""
    source, index, disk = tmp_path / "corpus", tmp_path / "index", namespaced_disk
    write_corpus(source, {"pages/otters.html": html_page("Otters", "<p>Otters here.</p>" * 12)})
    build_index(IndexerSettings(corpus_dir=source, index_dir=index, state_dir=tmp_path / "s"))
    port = free_port()
    script = (
        'mount -t tmpfs -o size=4m tmpfs "$1" && cp -r "$2" "$1/corpus" && mkdir "$1/state"'
        ' && exec "$3" --index "$4" --corpus "$1/corpus" --host 127.0.0.1 --port "$5"'
    )
    command = ["unshare", "-m", "sh", "-c", script, "sh", str(disk), str(source)]
    command += [str(BIN / "blmk-serve"), str(index), str(port)]
    env = {"BLMK_STATE_DIR": str(disk / "state"), "BLMK_ADMIN_TOKEN": BREAK_GLASS}
    server = start_server(command, port, env)
    heron = html_page("Heron count", "<p>Grey herons by the lakes.</p>" * 4000).encode()
    kingfisher = heron.replace(b"heron", b"kingfisher")

    def upload(doc: str, data: bytes) -> tuple[int, dict]:
        folder, _, name = doc.rpartition("/")
        body, headers = multipart({"folder": folder, "title": name}, name, data)
        return get_json(f"{server.base}/admin/documents", "POST", body, headers | ADMIN)

    def told() -> list[tuple[int, dict]]:
        paths = ("documents", "trash", "documents/news/heron.html/revisions")
        return [get_json(f"{server.base}/admin/{path}", headers=ADMIN) for path in paths]

    def refused(status: int, answer: dict) -> bool:
        assert (status, answer["error"]["code"]) == (507, "insufficient_storage"), answer
        assert set(answer["error"]) == {"code", "message"}
        return "the disk is full" in answer["error"]["message"]

    try:
        inside = Path(f"/proc/{server.process.pid}/root") / disk.relative_to("/")
        assert (inside / "corpus/pages/otters.html").is_file()
        assert not (disk / "corpus").exists()  # the tmpfs is the server's alone
        assert upload("news/heron.html", heron)[0] == 201
        filler = _fill(inside)
        before, files = told(), _snapshot(inside)

        assert refused(*upload("news/kingfisher.html", kingfisher))
        assert refused(*upload("news/heron.html", heron.replace(b"Grey", b"Great")))
        assert refused(
            *get_json(f"{server.base}/admin/documents/news/heron.html", "DELETE", b"", ADMIN)
        )
        # Room for the journal record, not for the page: the half-written copy is undone.
        os.truncate(filler, filler.stat().st_size - 64 * 1024)
        assert refused(*upload("news/kingfisher.html", kingfisher))
        assert refused(*upload("news/heron.html", heron.replace(b"Grey", b"Great")))
        assert told() == before
        assert _snapshot(inside) == files
        assert list((inside / "state/journal").iterdir()) == []

        filler.unlink()
        status, answer = upload("news/kingfisher.html", kingfisher)
        assert status == 201, answer
        assert (inside / "corpus/news/kingfisher.html").read_bytes() == kingfisher
    finally:
        server.stop()
    assert not any(disk.iterdir())  # the tmpfs went with the server's namespace
