"""``blmk-serve`` as one of several processes behind a proxy, with real processes and sockets:
liveness and readiness, draining on SIGTERM (and Ctrl+C), the pid file, and client addresses
taken from a trusted proxy's headers only."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from indexer.build import BuildReport
from indexer.config import IndexerSettings
from tests.conftest import BIN, free_port, get_json, serve

pytestmark = pytest.mark.server

# How long past its drain time a server may take to exit: start-up of the interpreter's exit
# and a loaded test machine, not the drain itself.
MARGIN_SECONDS = 15
ADMIN_TOKEN = "lifecycle-break-glass"
REPO = Path(__file__).resolve().parent.parent
CLIENT = "203.0.113.7"  # a documentation address (RFC 5737), as a proxy would forward it


@dataclass(slots=True, kw_only=True)
class Running:
    """A ``blmk-serve`` process of the test's own, and the lines it has printed so far."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for_line(self, text: str, seconds: float = 10) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [line for line in list(self.lines) if text in line]
            if found:
                return found[0]
            time.sleep(0.02)
        pytest.fail(f"blmk-serve never printed {text!r}: {''.join(self.lines)}")

    def exit_status(self, within: float) -> int:
        return self.process.wait(timeout=within)

    def printed(self) -> str:
        return "".join(self.lines)


@contextmanager
def running(index: Path, env: dict[str, str], *options: str) -> Iterator[Running]:
    """``blmk-serve`` on a free port of 127.0.0.1, once ``/health/live`` answers; killed
    afterwards if a test left it running."""
    port = free_port()
    command = [BIN / "blmk-serve", "--index", str(index), "--host", "127.0.0.1"]
    with subprocess.Popen(
        [*command, "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"BLMK_ANALYTICS_FILE": "", "BLMK_ADMIN_API": "off"} | env,
    ) as process:
        server = Running(process=process, port=port)
        reader = threading.Thread(target=server.lines.extend, args=(process.stdout,))
        reader.start()
        try:
            deadline = time.monotonic() + 30
            while not _answers(f"{server.base}/health/live"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"blmk-serve did not start: {server.printed()}")
                time.sleep(0.05)
            # The probe's own connection is answered, but the server has a moment of its own
            # work left on it (closing it, forgetting the request): let it, so that a test
            # counting requests in flight counts only its own.
            time.sleep(0.2)
            yield server
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
            reader.join(timeout=30)


def _answers(url: str) -> bool:
    try:
        return get_json(url)[0] == 200
    except OSError:
        return False


def half_sent(port: int, path: str) -> socket.socket:
    """A connection that has sent the first half of a request's headers, not the blank
    line that ends them: to the server, a request still arriving."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
    return connection


def finish(connection: socket.socket) -> tuple[int, dict]:
    """Sends the rest of a ``half_sent`` request; its answer's status and JSON body."""
    connection.sendall(b"Accept: application/json\r\n\r\n")
    with closing(http.client.HTTPResponse(connection)) as response:
        response.begin()
        return response.status, json.loads(response.read())


def refused_within(port: int, seconds: float) -> bool:
    """Whether a new connection is refused before ``seconds`` are up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.02)
    return False


def test_live_and_ready_answer_and_sigterm_drains_the_requests_already_started(
    corpus_settings: IndexerSettings, corpus_build: BuildReport, tmp_path: Path
) -> None:
    pid_file = tmp_path / "blmk-serve.pid"
    with running(corpus_settings.index_dir, {}, "--pid-file", str(pid_file)) as server:
        assert pid_file.read_text(encoding="ascii").strip() == str(server.process.pid)
        assert get_json(f"{server.base}/health/live") == (200, {"status": "live"})
        _, health = get_json(f"{server.base}/health")
        served = health["index_version"]
        assert get_json(f"{server.base}/health/ready") == (
            200,
            {"status": "ready", "version": served},
        )

        with (
            half_sent(server.port, "/health/ready") as asks_ready,
            half_sent(server.port, "/health/live") as asks_live,
        ):
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert refused_within(server.port, 10), "new connections were still accepted"
            # Requests begun before the signal are answered; readiness has turned 503.
            status, body = finish(asks_ready)
            assert status == 503
            assert body == {"error": {"code": "not_ready", "message": "draining: shutting down"}}
            assert finish(asks_live) == (200, {"status": "live"})
            # Nothing in progress on it any more, so the connection is closed behind it.
            assert asks_live.recv(1) == b""

        assert server.exit_status(within=10 + MARGIN_SECONDS) == 0
        assert time.monotonic() - signalled < 10 + MARGIN_SECONDS
        printed = server.printed()
        assert "SIGTERM: not ready from now on" in printed
        assert "draining: 2 requests in flight" in printed
        assert "drained in " in printed
        assert not pid_file.exists()


def test_a_request_that_never_finishes_holds_the_exit_for_the_drain_time_only(
    corpus_settings: IndexerSettings, corpus_build: BuildReport
) -> None:
    """Ctrl+C (SIGINT) drains as SIGTERM does."""
    with running(corpus_settings.index_dir, {"BLMK_DRAIN_SECONDS": "1"}) as server:
        with half_sent(server.port, "/health/live") as never_finished:
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGINT)
            assert server.exit_status(within=1 + MARGIN_SECONDS) == 0
            waited = time.monotonic() - signalled
            assert never_finished.recv(1) == b""  # closed unanswered when the time was up
        assert waited >= 0.9, "the server did not wait for the request in flight"
        printed = server.printed()
        assert "SIGINT: not ready from now on" in printed
        assert "draining: 1 request in flight" in printed
        assert "drain time up with 1 request still running" in printed


def test_a_second_sigterm_during_the_drain_stops_at_once(
    corpus_settings: IndexerSettings, corpus_build: BuildReport
) -> None:
    with running(corpus_settings.index_dir, {"BLMK_DRAIN_SECONDS": "600"}) as server:
        with half_sent(server.port, "/health/live"):
            server.process.send_signal(signal.SIGTERM)
            server.wait_for_line("draining: 1 request in flight")
            server.process.send_signal(signal.SIGTERM)
            assert server.exit_status(within=MARGIN_SECONDS) == 0
        assert (
            "SIGTERM during the drain: stopping now with 1 request still running"
            in server.printed()
        )


def admin_request(
    port: int, source: str, path: str, method: str = "GET", body: bytes | None = None
) -> tuple[int, dict]:
    """An admin request sent from ``source`` as a proxy would send it: with the client's
    address in ``X-Forwarded-For``."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(source, 0)
    )
    headers = {
        "Authorization": f"Bearer {ADMIN_TOKEN}",
        "X-Forwarded-For": CLIENT,
        "X-Forwarded-Proto": "https",
        "Content-Type": "application/json",
    }
    with closing(connection):
        connection.request(method, path, body=body, headers=headers)
        with closing(connection.getresponse()) as response:
            return response.status, json.loads(response.read())


def test_client_addresses_come_from_the_trusted_proxy_only(
    corpus_settings: IndexerSettings, corpus_build: BuildReport, tmp_path: Path
) -> None:
    (tmp_path / "corpus").mkdir()
    env = {
        "BLMK_TRUSTED_PROXY": "127.0.0.1",
        "BLMK_ADMIN_TOKEN": ADMIN_TOKEN,
        "BLMK_STATE_DIR": str(tmp_path / "state"),
    }
    args = ["--index", str(corpus_settings.index_dir), "--corpus", str(tmp_path / "corpus")]
    printed: list[str] = []
    with serve(args, env, printed) as base:
        port = int(base.rsplit(":", 1)[1])
        # A change refused for its body: audited, and nothing is done.
        refused = b'{"action": "index"}'
        for source in ("127.0.0.1", "127.0.0.2"):  # Linux routes all of 127/8 to loopback
            status, _ = admin_request(port, source, "/admin/urls", "POST", refused)
            assert status == 400
        status, audit = admin_request(port, "127.0.0.1", "/admin/audit")
        assert status == 200
        status, _ = admin_request(port, "127.0.0.1", "/search?q=green")
        assert status == 200

    entries = [e for e in audit["entries"] if e["action"] == "index.url"]
    # Newest first: from the other address, the forwarded header was not believed.
    assert [(e["outcome"], e["details"]["address"]) for e in entries] == [
        ("refused", "127.0.0.2"),
        ("refused", CLIENT),
    ]
    access = [json.loads(line) for line in printed if line.startswith("{")]
    admin = [(line["path"], line["client"]) for line in access if line["path"].startswith("/admin")]
    assert admin == [
        ("/admin/urls", CLIENT),
        ("/admin/urls", "127.0.0.2"),
        ("/admin/audit", CLIENT),
    ]
    # Public requests carry no address, through the proxy or not.
    searches = [line for line in access if line["path"].startswith(("/search", "/health"))]
    assert searches and all("client" not in line for line in searches)


# A server whose process dies the moment it has handed its connection one write: as if killed
# at the worst time for a proxy, after some of a response and before the rest.
DIES_AFTER_ONE_WRITE = """
import os, sys
from waitress.channel import HTTPChannel
from search_api.http.lifecycle import DrainingServer, Lifecycle

handed_over = HTTPChannel.write_soon

def write_then_die(channel, data):
    handed_over(channel, data)
    os._exit(9)

HTTPChannel.write_soon = write_then_die

def app(environ, start_response):
    body = b"x" * 5000
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5000")])
    return [body]

server = DrainingServer(app, Lifecycle(), drain_seconds=1, host="127.0.0.1",
                        port=int(sys.argv[1]), threads=1)
print("serving", flush=True)
server.run()
"""


def test_a_process_killed_between_writes_sends_a_whole_response_or_none() -> None:
    """A proxy can ask another process when it got nothing, never when it has passed on a
    response's head: so the head and the body leave in one write."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", DIES_AFTER_ONE_WRITE, str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "serving"
        with closing(socket.create_connection(("127.0.0.1", port), timeout=10)) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            while chunk := client.recv(65536):
                received += chunk
        assert server.wait(timeout=10) == 9  # it died after its one write
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 5000" in head
    assert body == b"x" * 5000
