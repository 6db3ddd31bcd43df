"""What a second ``blmk-serve`` process behind nginx buys, and what the hop through nginx costs.

    python -m bench.cluster [--pages 10000] [--seconds 20] [--clients 8] [--passes 3]

On the generated site (``bench.synthetic``; the site and its index are built once into
``var/bench`` and reused):

- uncached searches, each of ``query_sets(...).unseen`` sent once (no answer comes from a
  response cache), by ``--clients`` closed-loop connections for ``--seconds``: throughput and
  p50/p99 with one process asked straight, then with two processes behind nginx
  (``tools/cluster.py start``), the same queries for both, and the ratio of the two
  throughputs (the target: 1.7 or more on two cores); ``--passes`` runs of both, one set-up
  after the other, of which the median ratio's pass is shown, as one run's ratio moves a lot
  on a machine whose two cores serve client, nginx and servers at once;
- cached searches, one popular query repeated: p50 through nginx against straight to one of
  the same processes (the target: 1.5 or less), one client asking each way in turn, so that
  both halves are measured at the same moment of a shared machine.

The load is ``bench.load`` in a process of its own (asyncio connections: lighter on the CPU
than a thread each, which matters when client, nginx and servers share two cores). Prints a
table; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.load import percentile
from bench.speed import REPO, Server, machine, search_path, site_for, table
from bench.synthetic import query_sets
from indexer import IndexerSettings, IndexStore, build_index
from tools.cluster import ClusterError, find_nginx, free_ports

CACHED_SECONDS = 5.0
# Uncached searches a second that one run could reach at most: queries enough for it, so that
# none is sent twice (a repeat would be answered from the cache).
MOST_PER_SECOND = 600


@dataclass(slots=True, kw_only=True)
class Run:
    """One ``bench.load`` run's figures, and where the machine's cores went meanwhile."""

    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    not_ok: int
    # Cores' worth of CPU meanwhile: the processes measured (servers, nginx), the load
    # generator, everything else on the machine, and time the hypervisor gave to others.
    ours: float = 0.0
    client: float = 0.0
    others: float = 0.0
    steal: float = 0.0

    def row(self, what: str, setup: str, note: str = "") -> list[str]:
        cores = (
            f"; cores: {self.ours:.2f} servers, {self.client:.2f} client, "
            f"{self.others:.2f} other, {self.steal:.2f} stolen"
            if self.ours
            else ""
        )
        return [
            what,
            setup,
            f"{self.requests:,}",
            f"{self.per_second:,.0f}",
            f"{self.p50_ms:.2f}",
            f"{self.p99_ms:.2f}",
            f"{self.not_ok} not 200{'; ' + note if note else ''}{cores}",
        ]


def index_for(work: Path, pages: int) -> Path:
    """The generated site's index, built once and kept (without the sample site's checks)."""
    index_dir = work / "indexes" / f"pages-{pages}"
    if IndexStore(index_dir).current() is None:
        site = site_for(work, pages, pages // 100)
        print(f"  building the index of {site} (once) ...", flush=True)
        build_index(IndexerSettings(corpus_dir=site, index_dir=index_dir, checks_file=None))
    return index_dir


def cpu_seconds(pids: list[int]) -> float:
    """CPU time used so far by the processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def machine_seconds() -> tuple[float, float]:
    """CPU time the whole machine has been busy, and stolen from it, in seconds."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def measured(pids: list[int], run: Callable[[], Run]) -> Run:
    """``run``, with the cores the processes ``pids``, the load generator (a child of this
    process) and the rest of the machine used meanwhile."""
    ours, (busy, steal), started = cpu_seconds(pids), machine_seconds(), time.monotonic()
    client = _children_seconds()
    result = run()
    seconds = time.monotonic() - started
    ours, client = cpu_seconds(pids) - ours, _children_seconds() - client
    busy_after, steal_after = machine_seconds()
    result.ours, result.client = ours / seconds, client / seconds
    result.others = max(0.0, (busy_after - busy - ours - client) / seconds)
    result.steal = (steal_after - steal) / seconds
    return result


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load(port: int, paths: list[str], connections: int, seconds: float, folder: Path) -> Run:
    paths_file = Path(tempfile.mkstemp(prefix="paths-", suffix=".txt", dir=folder)[1])
    paths_file.write_text("\n".join(paths), encoding="utf-8")
    command = [sys.executable, "-m", "bench.load", "--port", str(port)]
    command += ["--connections", str(connections), "--seconds", str(seconds)]
    command += ["--paths", str(paths_file)]
    done = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout)
    not_ok = sum(v for k, v in result["statuses"].items() if k != "200")
    return Run(
        requests=result["requests"],
        per_second=result["per_second"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        not_ok=not_ok + sum(result["errors"].values()),
    )


def warm(port: int, paths: list[str]) -> None:
    """Postings read and arrays decoded, as in a server that has seen traffic."""
    for path in paths:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            response.read()


class Cluster:
    """``tools/cluster.py start`` in a folder of its own, searches only."""

    def __init__(self, index_dir: Path, folder: Path, processes: int = 2) -> None:
        self.port = free_ports(1)[0]
        self.folder = folder
        self.log = (folder / "cluster-output.txt").open("w")
        env = os.environ | {"BLMK_ADMIN_API": "off", "BLMK_ANALYTICS_FILE": ""}
        command = [sys.executable, str(REPO / "tools" / "cluster.py"), "start"]
        command += ["--port", str(self.port), "--index", str(index_dir)]
        command += ["--processes", str(processes), "--folder", str(folder / "cluster")]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 120
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = (folder / "cluster-output.txt").read_text()
                raise RuntimeError(f"the cluster did not start:\n{output}")
            time.sleep(0.2)

    def _ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def ports(self) -> list[int]:
        """The blmk-serve processes' own ports, behind nginx's."""
        record = json.loads((self.folder / "cluster" / "cluster.json").read_text())
        return [int(port) for port in record["servers"]]

    def pids(self) -> list[int]:
        """The blmk-serve processes, nginx's master and its workers."""
        files = sorted((self.folder / "cluster").glob("*.pid"))
        pids = [int(path.read_text().split()[0]) for path in files]
        nginx = int((self.folder / "cluster" / "nginx.pid").read_text().split()[0])
        return pids + children(nginx)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()


def one_pass(
    index_dir: Path,
    folder: Path,
    args: argparse.Namespace,
    unseen: list[str],
    warm_paths: list[str],
    popular: list[str],
) -> tuple[Run, Run, Run, Run]:
    """One process straight, then two behind nginx: (uncached, uncached, cached straight to
    one of the two, cached through nginx)."""
    env = {"BLMK_ANALYTICS_FILE": ""}
    print("    1 process, straight ...", flush=True)
    server = Server(index_dir, env=env, log=folder / "straight.log")
    try:
        warm(server.port, warm_paths)
        one = measured(
            [server.process.pid],
            lambda: load(server.port, unseen, args.clients, args.seconds, folder),
        )
    finally:
        server.stop()
    print("    2 processes behind nginx ...", flush=True)
    cluster = Cluster(index_dir, folder)
    try:
        # Each process warms on its own: nginx spreads the warm-up over both. The popular
        # query is asked of each straight, so both have its answer cached.
        warm(cluster.port, warm_paths)
        ports = cluster.ports()
        for port in ports:
            warm(port, popular)
        # Cached before the heavy load: after it a process answers a little slower for a
        # while, which has nothing to do with nginx.
        straight_cached, proxied_cached = paired(ports[0], cluster.port, popular[0], CACHED_SECONDS)
        two = measured(
            cluster.pids(),
            lambda: load(cluster.port, unseen, args.clients, args.seconds, folder),
        )
    finally:
        cluster.stop()
    return one, two, straight_cached, proxied_cached


def paired(straight_port: int, proxy_port: int, path: str, seconds: float) -> tuple[Run, Run]:
    """One keep-alive client asking ``path`` straight of a process and through nginx in turn,
    a request each way, for ``seconds``: both halves see the same moment of a shared machine
    (its stolen time, its other work) and the same warm processes, so their ratio is the
    hop's cost and not the difference between two runs minutes apart."""
    connections = {
        port: http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for port in (straight_port, proxy_port)
    }
    latencies: dict[int, list[float]] = {port: [] for port in connections}
    not_ok = dict.fromkeys(connections, 0)
    until = time.perf_counter() + seconds
    try:
        while time.perf_counter() < until:
            for port, connection in connections.items():
                started = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                latencies[port].append(time.perf_counter() - started)
                not_ok[port] += response.status != 200
    finally:
        for connection in connections.values():
            connection.close()
    straight, proxied = (
        Run(
            requests=len(taken),
            per_second=len(taken) / seconds,
            p50_ms=percentile(taken, 0.50) * 1000,
            p99_ms=percentile(taken, 0.99) * 1000,
            not_ok=not_ok[port],
        )
        for port, taken in latencies.items()
    )
    return straight, proxied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000, help="generated HTML pages")
    parser.add_argument("--seconds", type=float, default=20.0, help="each uncached run")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop connections")
    parser.add_argument(
        "--passes", type=int, default=3, help="runs of both set-ups, one after the other"
    )
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench", help="sites kept here")
    args = parser.parse_args(argv)
    try:
        find_nginx()
    except ClusterError as error:
        print(f"bench.cluster: {error}", file=sys.stderr)
        return 2
    print(f"blmk-search behind nginx, {args.pages:,} pages; {machine()}", flush=True)
    # Two cores are easily shared: a busy machine shows here, and in every figure below.
    print("  load average before: " + ", ".join(f"{n:.2f}" for n in os.getloadavg()), flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    index_dir = index_for(args.work, args.pages)
    per_run = int(args.seconds * MOST_PER_SECOND)
    queries = query_sets(unseen=per_run + 200)
    warm_paths = [search_path(q) for q in queries.unseen[:200]]
    # The same queries for both set-ups, each asked once a run: both start with fresh
    # processes, so every query is uncached in each, and neither gets the cheaper ones.
    unseen = [search_path(q) for q in queries.unseen[200:]]
    popular = [search_path(queries.popular[0])]
    passes: list[tuple[Run, Run, Run, Run]] = []
    with tempfile.TemporaryDirectory(prefix="cluster-", dir=args.work) as tmp:
        folder = Path(tmp)
        for number in range(1, args.passes + 1):
            print(f"  pass {number} of {args.passes}", flush=True)
            passes.append(one_pass(index_dir, folder, args, unseen, warm_paths, popular))
    ratios = [two.per_second / one.per_second for one, two, _, _ in passes]
    cached_ratios = [proxied.p50_ms / straight.p50_ms for _, _, straight, proxied in passes]
    # The figures shown are the pass with the median throughput ratio; every ratio follows.
    one, two, one_cached, two_cached = passes[
        sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]
    ]
    rows: list[list[str]] = []
    for run in (one, two):
        if run.requests > len(unseen):
            print(f"  note: {run.requests:,} searches but {len(unseen):,} queries: some repeated")
    clients = f"{args.clients} clients"
    rows += [
        one.row("uncached, each query once", f"1 process, straight, {clients}"),
        two.row(
            "uncached, each query once",
            f"2 processes behind nginx, {clients}",
            f"throughput {two.per_second / one.per_second:.2f}× 1 process (median of"
            f" {len(ratios)} passes: {', '.join(f'{r:.2f}' for r in ratios)}; target ≥ 1.7)",
        ),
        one_cached.row("cached, one query repeated", "straight to one of the 2 processes"),
        two_cached.row(
            "cached, one query repeated",
            "through nginx, in turn with the row above",
            f"p50 {two_cached.p50_ms / one_cached.p50_ms:.2f}× straight (target ≤ 1.5; every"
            f" pass: {', '.join(f'{c:.2f}' for c in cached_ratios)})",
        ),
    ]
    table(
        f"Searches over HTTP, 127.0.0.1 ({args.seconds:g} s uncached, {CACHED_SECONDS:g} s cached)",
        ["searches", "setup", "requests", "per second", "p50 ms", "p99 ms", "outcome"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
