"""Shared fixtures: the sample corpus built once into a real index, and the app over it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from indexer.build import BuildReport, build_index
from indexer.config import IndexerSettings
from search_api.engine.service import SearchService
from search_api.http.app import create_app

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the installed commands, blmk-index and blmk-serve
CORPUS = REPO / "corpus"
SHARED_DATA = REPO.parent / "shared" / "data"

# Staff state (accounts, audit log, trash) goes to a folder of the test run's own, never to
# the checkout's var/ (nor a folder set in the shell): every command a test runs inherits it.
os.environ["BLMK_STATE_DIR"] = tempfile.mkdtemp(prefix="blmk-test-state-")
# The shipped quality checks hold any build of a corpus other than the sample site: commands
# run without them unless a test names a checks file (tests/test_checks.py).
os.environ["BLMK_CHECKS"] = ""


def shared_data(name: str) -> Path:
    """A folder of ../shared/data, or a skip saying why the test cannot run."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"shared test data not found at {path} (it sits beside the checkout in CI)")
    return path


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> IndexerSettings:
    return IndexerSettings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def corpus_build(corpus_settings: IndexerSettings) -> BuildReport:
    return build_index(corpus_settings)


@pytest.fixture(scope="session")
def service(corpus_settings: IndexerSettings, corpus_build: BuildReport) -> SearchService:
    """The service as ``make run`` configures it: the shipped synonyms, best bets and hidden
    documents."""
    return SearchService(
        corpus_settings.index_dir,
        synonyms_file=REPO / "config" / "synonyms.txt",
        best_bets_file=REPO / "config" / "best-bets.toml",
        hidden_file=REPO / "config" / "hidden.toml",
        suggest_stoplist_file=REPO / "config" / "suggest-stoplist.txt",
    )


@pytest.fixture(scope="session")
def client(service: SearchService) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(service))


def write_corpus(root: Path, files: dict[str, str | bytes]) -> Path:
    """A small corpus of hand-made files, for tests that need particular content."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


def html_page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>{title} | BLMK ICS</title>{head}</head>"
        f"<body><nav><ul><li>Home</li><li>News</li></ul></nav><main><h1>{title}</h1>{body}"
        "</main><footer>Copyright footer text</footer></body></html>"
    )


def blank_pdf(pages: int, title: str | None = None) -> bytes:
    """A real PDF whose pages carry no text, like a scan without OCR."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if title:
        writer.add_metadata({"/Title": title})
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def decompression_bomb(expanded_bytes: int, after: bytes | None = None) -> bytes:
    """A PDF page whose content stream is small on disk and huge once inflated (with a font,
    so that a text extractor has a reason to inflate it): alone, or after the pages of the
    PDF ``after``."""
    packer = zlib.compressobj(9)
    chunk = b"0 0 m " * (1 << 18)
    packed = [packer.compress(chunk) for _ in range(expanded_bytes // len(chunk))]
    stream = StreamObject()
    stream._data = b"".join([*packed, packer.flush()])
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer = PdfWriter(clone_from=PdfReader(BytesIO(after))) if after else PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    page[NameObject("/Contents")] = writer._add_object(stream)
    helvetica = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): helvetica})}
    )
    if not after:
        writer.add_metadata({"/Title": "Inflated content stream"})
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def skip_unless_tmpfs_mounts(folder: Path) -> None:
    """Skips the test unless a small tmpfs can be mounted on ``folder`` in a mount namespace
    of its own (``unshare -m``, as root): how the full-disk tests get a disk that fills."""
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=64k tmpfs {folder} && umount {folder}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs in a mount namespace: {probe.stderr.strip()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(
    url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    """A real HTTP request; the status and the JSON body, for errors too."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@contextmanager
def serve(
    args: list[str], env: dict[str, str] | None = None, output: list[str] | None = None
) -> Iterator[str]:
    """``blmk-serve`` running on a free port of 127.0.0.1, stopped with SIGTERM afterwards;
    the lines it printed (stdout and stderr) are added to ``output`` once it has stopped."""
    port = free_port()
    process = subprocess.Popen(
        [BIN / "blmk-serve", *args, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Query counts in memory unless a test names a file, and staff state in a folder of
        # this server's own: never into the checkout's var/.
        env=os.environ
        | {"BLMK_ANALYTICS_FILE": "", "BLMK_STATE_DIR": tempfile.mkdtemp(prefix="blmk-state-")}
        | (env or {}),
    )
    # Read while it runs: its access-log lines, one per request, would otherwise fill the pipe
    # and block the server in a test that makes many requests.
    printed: list[str] = []
    reader = threading.Thread(target=printed.extend, args=(process.stdout,), daemon=True)
    reader.start()

    def stopped() -> str:
        process.wait(timeout=30)
        reader.join(timeout=30)
        process.stdout.close()
        return "".join(printed)

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if get_json(f"{base}/health")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"blmk-serve did not start: {stopped()}")
        time.sleep(0.1)
    try:
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        everything = stopped()
    assert process.returncode == 0, everything
    if output is not None:
        output.extend(everything.splitlines())


def run_build(
    index: Path, corpus: Path = CORPUS, **options: Any
) -> subprocess.CompletedProcess[str]:
    """``blmk-index build`` as a user runs it, whatever its outcome; ``options`` go to
    ``subprocess.run``."""
    return subprocess.run(
        [BIN / "blmk-index", "build", "--corpus", corpus, "--index", index],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **options,
    )


def cli_build(index: Path, corpus: Path = CORPUS) -> subprocess.CompletedProcess[str]:
    """``run_build``, failing the test when the build fails."""
    done = run_build(index, corpus)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="session")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blmk-serve`` over the sample corpus, for tests that only send it requests."""
    index = tmp_path_factory.mktemp("served-corpus")
    cli_build(index)
    with serve(["--index", str(index)]) as base:
        yield base
