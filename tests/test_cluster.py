"""Two ``blmk-serve`` processes behind a real nginx (``tools/cluster.py``), broken on purpose
under a steady load: a process killed, a rolling restart, an index published, none of which
may cost a search; and the client's address as the processes see it behind the proxy.

Every request goes to 127.0.0.1 (or comes from 127.0.0.2, another loopback address, where a
test needs a client that is not the proxy)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import CORPUS, REPO, cli_build, free_port, html_page
from tools.cluster import EXAMPLE, SITE_EXAMPLE, render_site, running

NGINX = Path("/usr/sbin/nginx")
CLUSTER = REPO / "tools" / "cluster.py"
HOST = "127.0.0.1"
OTHER_CLIENT = "127.0.0.2"  # a loopback address that is not nginx's
TOKEN = "cluster-test-break-glass-token"
REFRESH_SECONDS = 1.0
LOAD_SECONDS = 15.0
RATE = 100  # searches a second, one every 10 ms
LOAD_THREADS = 5
# Sample-site queries: each finds results, so a wrong answer would show as an error.
QUERIES = ("green plan", "waiting lists", "flu jab", "pharmacy first", "mental health")

# A page long enough to have main content (a page with a line of text is skipped as empty).
NEW_PAGE = (
    "<p>The quokka clinic in Bedford opens on Saturdays from the spring, for anyone registered"
    " with a practice in Bedford Borough who needs a same-day appointment for a minor illness."
    "</p><p>Appointments are booked through your practice or NHS 111. The clinic is run by"
    " local GP practices working together, with nurses, pharmacists and paramedics on hand."
    "</p><p>Bring a list of any medicines you take. Parking is free for the length of the"
    " appointment, and the building has step-free access throughout.</p>"
)

needs_nginx = pytest.mark.skipif(
    not NGINX.is_file(),
    reason=f"nginx is not installed ({NGINX}): `make nginx` installs Debian's package",
)


@dataclass(slots=True, kw_only=True)
class Cluster:
    port: int
    folder: Path
    index: Path
    corpus: Path
    state: Path
    env: dict[str, str]
    servers: list[int]

    def pid(self, port: int) -> int:
        return int((self.folder / f"serve-{port}.pid").read_text())

    def log(self, port: int) -> Path:
        return self.folder / f"serve-{port}.log"

    def tool(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``tools/cluster.py`` run from another shell on this cluster's folder."""
        return subprocess.run(
            [sys.executable, str(CLUSTER), *args, "--folder", str(self.folder)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def get(port: int, path: str, headers: dict[str, str] | None = None, source: str = HOST) -> int:
    """One request; the status, or 0 when nothing answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=5, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def ready_version(port: int) -> str | None:
    """The index version a process serves, asked directly (None while it is not ready)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/health/ready")
        response = connection.getresponse()
        body = response.read()
        return json.loads(body)["version"] if response.status == 200 else None
    except OSError:
        return None
    finally:
        connection.close()


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:g} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The sample site built from a copy of the corpus, served by ``tools/cluster.py start``
    (two processes, nginx on a free port) and stopped with SIGTERM afterwards, as Ctrl-C
    would."""
    if not NGINX.is_file():
        pytest.skip(f"nginx is not installed ({NGINX}): `make nginx` installs Debian's package")
    root = tmp_path_factory.mktemp("cluster")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = root / "index"
    cli_build(index, corpus)
    folder = root / "cluster"
    port = free_port()
    env = os.environ | {
        "BLMK_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "BLMK_ADMIN_TOKEN": TOKEN,
        "BLMK_ANALYTICS_FILE": "",
        "BLMK_CORPUS": str(corpus),
        "BLMK_STATE_DIR": str(root / "state"),
    }
    output_file = root / "cluster-output.txt"
    with output_file.open("w") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, str(CLUSTER), "start", "--port", str(port)),
                *("--index", str(index), "--folder", str(folder)),
            ],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while get(port, "/health/ready") != 200 or not (folder / "cluster.json").is_file():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the cluster did not start:\n{output_file.read_text()}")
            time.sleep(0.2)
        record = json.loads((folder / "cluster.json").read_text())
        yield Cluster(
            port=port,
            folder=folder,
            index=index,
            corpus=corpus,
            state=root / "state",
            env=env,
            servers=record["servers"],
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    printed = output_file.read_text()
    assert process.returncode == 0, printed
    assert not list(folder.glob("*.pid")), f"pid files left behind:\n{printed}"
    assert get(port, "/health") == 0, "nginx still answers after the cluster stopped"


# --- the load ---------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Load:
    """What a steady load saw: every request sent, and each that did not answer 200."""

    planned: int
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, failure: str | None) -> None:
        with self.lock:
            self.sent += 1
            if failure:
                self.failures.append(failure)


@contextmanager
def steady_load(port: int, seconds: float = LOAD_SECONDS) -> Iterator[Load]:
    """Searches at ``RATE`` a second for ``seconds``, each on its own schedule (a new one
    every 10 ms, whatever the answers before it are doing) from a few threads with a
    keep-alive connection each, time-out 5 s. The body runs meanwhile; leaving it waits for
    the load to end."""
    load = Load(planned=int(seconds * RATE))
    started = time.monotonic()

    def client(first: int) -> None:
        connection: http.client.HTTPConnection | None = None
        for number in range(first, load.planned, LOAD_THREADS):
            wait = started + number / RATE - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            path = "/search?" + urlencode({"q": QUERIES[number % len(QUERIES)]})
            at = f"{time.monotonic() - started:6.2f} s {path}"
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(HOST, port, timeout=5)
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                load.record(None if response.status == 200 else f"{at}: {response.status} {body!r}")
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as error:
                load.record(f"{at}: {error!r}")
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    try:
        yield load
    finally:
        for thread in threads:
            thread.join(timeout=max(0.0, started + seconds + 30 - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "the load did not finish"
    assert load.sent == load.planned


def searches_logged(log: Path) -> int:
    return log.read_text().count('"route": "/search"')


# --- the faults -------------------------------------------------------------------------------


@needs_nginx
@pytest.mark.server
@pytest.mark.slow
def test_kill_9_of_one_process_loses_no_search(cluster: Cluster) -> None:
    victim = cluster.servers[-1]
    pid = cluster.pid(victim)
    try:
        with steady_load(cluster.port) as load:
            time.sleep(LOAD_SECONDS / 3)
            # nginx spreads the searches: both processes have answered some by now.
            assert all(searches_logged(cluster.log(p)) for p in cluster.servers)
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not running(pid), 5, f"blmk-serve (pid {pid}) to die")
            assert ready_version(victim) is None
        assert load.failures == [], "\n".join(load.failures[:20])
    finally:
        # Back for the next tests, whatever happened here: the tool starts it again on the
        # same port.
        done = cluster.tool("restart", "--only", str(victim))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ready_version(victim) is not None
    assert cluster.pid(victim) != pid


@needs_nginx
@pytest.mark.server
@pytest.mark.slow
def test_rolling_restart_of_both_processes_loses_no_search(cluster: Cluster) -> None:
    before = {port: cluster.pid(port) for port in cluster.servers}
    with steady_load(cluster.port) as load:
        time.sleep(2)
        # Each in turn: SIGTERM, wait for it to exit, start it on the same port, wait ready.
        done = cluster.tool("restart")
        assert done.returncode == 0, done.stdout + done.stderr
    assert load.failures == [], "\n".join(load.failures[:20])
    for port, pid in before.items():
        assert cluster.pid(port) != pid
        assert not running(pid)
        assert ready_version(port) is not None
        assert "drained" in cluster.log(port).read_text()


@needs_nginx
@pytest.mark.server
@pytest.mark.slow
def test_an_index_published_under_load_reaches_every_process(cluster: Cluster) -> None:
    old = {port: ready_version(port) for port in cluster.servers}
    page = cluster.corpus / "pages" / "cluster-rollout.html"
    page.write_text(html_page("Quokka clinic opening hours", NEW_PAGE), encoding="utf-8")
    with steady_load(cluster.port) as load:
        time.sleep(2)
        cli_build(cluster.index, cluster.corpus)  # `blmk-index build` into the same index
        published = (cluster.index / "CURRENT").read_text().strip()
        assert published not in old.values()
        limit = REFRESH_SECONDS + 2
        wait_for(
            lambda: all(ready_version(p) == published for p in cluster.servers),
            limit,
            f"every process serving {published}",
        )
    assert load.failures == [], "\n".join(load.failures[:20])
    connection = http.client.HTTPConnection(HOST, cluster.port, timeout=5)
    try:
        connection.request("GET", "/search?q=quokka+clinic")
        found = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert [r["id"] for r in found["results"]][:1] == ["pages/cluster-rollout.html"]


# --- the client's address -----------------------------------------------------------------------


def admin_me(port: int, headers: dict[str, str] | None = None) -> int:
    """``GET /admin/me`` with the break-glass token, sent from ``OTHER_CLIENT``."""
    return get(
        port, "/admin/me", {"Authorization": f"Bearer {TOKEN}", **(headers or {})}, OTHER_CLIENT
    )


def admin_lines(cluster: Cluster) -> list[dict[str, object]]:
    """Every process's access-log lines for /admin/me, in the order they were written."""
    lines = [
        json.loads(line)
        for port in cluster.servers
        for line in cluster.log(port).read_text().splitlines()
        if line.startswith("{") and '"route": "/admin/me"' in line
    ]
    return sorted(lines, key=lambda line: str(line["time"]))


def next_admin_line(cluster: Cluster, seen: int) -> dict[str, object]:
    """The access-log line of the /admin/me request after the first ``seen``."""
    wait_for(lambda: len(admin_lines(cluster)) > seen, 5, "an access-log line for /admin/me")
    return admin_lines(cluster)[seen]


@needs_nginx
@pytest.mark.server
@pytest.mark.slow
def test_processes_log_the_client_address_nginx_was_asked_by(cluster: Cluster) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9"}
    cases = [
        # Through nginx: the address nginx saw, which it passes in X-Forwarded-For.
        ("through nginx", cluster.port, {}),
        # A client's own X-Forwarded-For cannot stand in for it: nginx appends what it saw,
        # and the processes believe the last entry, the trusted proxy's.
        ("through nginx, forged header", cluster.port, forged),
        # Straight to a process from another address: the header is not believed.
        *((f"straight to {port}, forged header", port, forged) for port in cluster.servers),
    ]
    for case, port, headers in cases:
        seen = len(admin_lines(cluster))
        assert admin_me(port, headers) == 200, case
        line = next_admin_line(cluster, seen)
        assert line["client"] == OTHER_CLIENT, (case, line)

    # A change asked for (refused here: there is no such document) is audited with the
    # address too, through nginx, from the state folder every process shares.
    target = "pages/no-such-page.html"
    connection = http.client.HTTPConnection(
        HOST, cluster.port, timeout=5, source_address=(OTHER_CLIENT, 0)
    )
    try:
        connection.request(
            "DELETE", f"/admin/documents/{target}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert connection.getresponse().status == 404
    finally:
        connection.close()
    audit = cluster.state / "audit" / "audit.jsonl"
    entries = [json.loads(line) for line in audit.read_text().splitlines() if target in line]
    assert [e["details"].get("address") for e in entries] == [OTHER_CLIENT], entries


@needs_nginx
@pytest.mark.server
def test_nginx_serves_the_static_files_and_passes_no_metrics(cluster: Cluster) -> None:
    connection = http.client.HTTPConnection(HOST, cluster.port, timeout=5)
    try:
        connection.request("GET", "/static/site.css")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Server", "").startswith("nginx")
    assert response.getheader("Cache-Control") == "public, max-age=86400"
    # Each process is scraped on its own port: a count through nginx would be a random one's.
    assert get(cluster.port, "/metrics") == 404
    assert all(get(port, "/metrics") == 200 for port in cluster.servers)


# --- errors and the rendered site file --------------------------------------------------------


def run_start(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLUSTER), "start", "--folder", str(tmp_path / "cluster"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_nginx
@pytest.mark.server
def test_start_says_when_the_port_is_taken(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    (index / "CURRENT").write_text("v-none\n")
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_start(tmp_path, "--port", str(port), "--index", str(index))
    assert done.returncode == 1
    assert f"port {port} is taken" in done.stderr


@needs_nginx
@pytest.mark.server
def test_start_shows_the_output_of_a_process_that_did_not_become_ready(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    (index / "CURRENT").write_text("v-20000101T000000000000-gone\n")  # names no version
    done = run_start(tmp_path, "--port", str(free_port()), "--index", str(index))
    assert done.returncode == 1
    assert "before it was ready" in done.stderr
    assert "blmk-serve: " in done.stderr  # its own words, from its log
    assert not list((tmp_path / "cluster").glob("*.pid"))


def test_the_committed_site_file_is_the_template_rendered() -> None:
    """deploy/nginx/blmk-search.conf is generated: `python tools/cluster.py site --example`."""
    assert SITE_EXAMPLE.read_text(encoding="utf-8") == render_site(EXAMPLE)
