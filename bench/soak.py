"""A bounded soak run: ``blmk-serve`` under a steady mix of searches, suggestions and hostile
requests for several minutes while the index is rebuilt every minute. It shows what the short
runs of ``bench.speed`` cannot: errors that come only when a new index version is opened under
load, latency that drifts as the run goes on, and memory that grows and is not given back.

    python -m bench.soak [--minutes 5] [--rate 50] [--pages 1000] [--rebuild-every 60]

- Load: an open loop on 127.0.0.1. Requests are due at fixed intervals (``--rate`` a second)
  whatever the answers take, so a slow server shows as higher latency, not as fewer requests;
  latency counts from when a request was due, not from when it went out. At most
  ``--max-in-flight`` requests wait at once; one due beyond that is skipped and counted, so the
  client can never flood the server. Idle keep-alive connections are reused, as browsers do.
- Mix: 60% searches (``query_sets``: two thirds from the Zipfian popular mix, a third unseen
  queries), 25% suggestions (a prefix of a query, as typed), 15% hostile requests (over-long
  queries, wildcards, broken percent-encoding, NUL and control characters, repeated and
  out-of-range parameters, impossible dates, unknown filter values, path traversal), sent as
  raw request lines so broken encodings reach the server unaltered. Refusing a hostile request
  (4xx) is right; only 5xx answers and connection errors count as failures.
- Rebuilds: every ``--rebuild-every`` seconds one page of a copy of the site is changed and
  the index rebuilt in full (``build_index``), in a process of its own: a build in this
  process would hold the load generator's interpreter lock and show up as server latency. The
  server looks for a new version every second (``BLMK_REFRESH_SECONDS=1``) and opens it;
  builds prune old versions themselves. ``/health`` is asked which version is served.
- Memory: the server's resident set (VmRSS) every 2 s; growth runs from the end of the first
  minute (warm-up: caches filled, everything imported) to the end of the run.

Prints a line a minute while running, then tables: per minute (sent, completed, p50/p99,
answers by status class, connection errors, RSS), totals by kind of request, memory, rebuilds,
and the targets (no 5xx, no connection errors, RSS growth under 10%) met or not. Nothing here
fails on a figure: the exit status is non-zero only when the harness itself cannot run. The
generated site is kept under ``--work`` (default ``var/bench``) as ``bench.speed`` keeps it;
the index and the copy of the site go into a temporary folder there, and the server's output
into ``soak-server.log`` beside it (kept, for the tracebacks of any 5xx).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from random import Random
from urllib.parse import urlencode

from bench.load import percentile, read_response
from bench.speed import REPO, Server, machine, search_path, site_for, table
from bench.synthetic import QuerySets, query_sets
from indexer.build import build_index
from indexer.config import IndexerSettings

HOST = "127.0.0.1"
# Shares of the mix; the rest are hostile requests.
SEARCH_SHARE, SUGGEST_SHARE = 0.60, 0.25
# Share of searches no cache has seen (until the same query comes up again).
UNSEEN_SHARE = 1 / 3
RSS_EVERY_SECONDS = 2.0
# Waitress closes a connection idle for 120 s: ours are dropped long before, so a connection
# error is always the server's doing.
IDLE_CONNECTION_SECONDS = 30.0
ANSWER_TIMEOUT_SECONDS = 30.0
RSS_GROWTH_TARGET = 0.10
# Failures kept whole (request and answer) for the report.
FAILURES_KEPT = 10

HOSTILE: tuple[str, ...] = (
    "/search?q=" + "a" * 2000,
    "/search?q=" + "care+" * 400,
    "/search?q=" + "a+" * 240,
    "/search?q=*",
    "/search?q=a*",
    "/search?q=%2A%3F",
    "/search?q=a*+b*+c*+d*+e*+f*+g*",
    "/search?q=%ZZ",
    "/search?q=%C3%28",
    "/search?q=%E2%82",
    "/search?q=%",
    "/search?q=%00",
    "/search?q=care%00health",
    "/search?q=%01%02%1B%7F%C2%85",
    "/search?q=a&q=b",
    "/search?q=care&page=999999",
    "/search?q=care&page=99999999999999999999",
    "/search?q=care&page=0",
    "/search?q=care&page=2&page=3",
    "/search?q=care&per_page=-1",
    "/search?q=care&per_page=1000000",
    "/search?q=care&from=2024-13-45",
    "/search?q=care&from=2025-01-01&to=2024-01-01",
    "/search?from=0000-00-00",
    "/search?type=nonsense",
    "/search?scope=%00",
    "/search?year=20x5",
    "/search?topic=" + "x" * 200,
    "/search?topic=%FF",
    "/search?sort=%3Cscript%3E",
    "/search?q=caf%C3%A9+%E2%9C%93+%F0%9F%98%80+%E4%B8%AD%E6%96%87",
    "/search?q=café",
    "/search?q=%22unclosed+quote",
    "/search?q=((((((((care",
    "/search?q=title%3A",
    "/search?q=NOT+OR+AND",
    "/search?q=-",
    "/search?q=care~2%5E3",
    "/suggest?q=" + "a" * 2000,
    "/suggest?q=%ZZ",
    "/suggest?q=%00",
    "/suggest?q=*",
    "/suggest?q=%C3%28",
    "/suggest?q=a&q=b",
    "/documents/..%2F..%2Fetc%2Fpasswd",
    "/documents/../../etc/passwd",
    "/documents/%00",
    "/documents/%C3%28",
    "/documents/" + "a" * 2000,
    "/?q=%ZZ&page=-1",
)


def request_mix(queries: QuerySets, seed: int = 1) -> Iterator[tuple[str, str]]:
    """Endless (kind, path) pairs in the shares above; the same seed, the same sequence."""
    rng = Random(f"soak:{seed}")
    while True:
        roll = rng.random()
        if roll < SEARCH_SHARE:
            pool = queries.unseen if rng.random() < UNSEEN_SHARE else queries.popular
            yield "search", search_path(rng.choice(pool))
        elif roll < SEARCH_SHARE + SUGGEST_SHARE:
            typed = rng.choice(queries.popular)
            yield "suggest", "/suggest?" + urlencode({"q": typed[: rng.randint(1, len(typed))]})
        else:
            yield "hostile", rng.choice(HOSTILE)


@dataclass(slots=True)
class Outcomes:
    """What became of a set of requests: those due in one minute, or those of one kind."""

    sent: int = 0
    # Due while --max-in-flight requests were waiting already: not sent.
    skipped: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def by_class(self, first_digit: int) -> int:
        return sum(n for status, n in self.statuses.items() if status // 100 == first_digit)

    def row(self) -> list[str]:
        """sent, skipped, completed, p50 ms, p99 ms, 2xx, 4xx, 5xx, other, connection errors."""
        other = sum(self.statuses.values()) - sum(map(self.by_class, (2, 4, 5)))
        return [
            f"{self.sent:,}",
            f"{self.skipped:,}",
            f"{len(self.latencies):,}",
            f"{percentile(self.latencies, 0.50) * 1000:.2f}",
            f"{percentile(self.latencies, 0.99) * 1000:.2f}",
            *(f"{self.by_class(digit):,}" for digit in (2, 4, 5)),
            f"{other:,}",
            f"{sum(self.errors.values()):,}",
        ]


OUTCOME_COLUMNS = ["sent", "skipped", "completed", "p50 ms", "p99 ms", "2xx", "4xx", "5xx"]
OUTCOME_COLUMNS += ["other", "conn errors"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A 5xx answer or a connection error, with the request that met it."""

    path: str
    outcome: str  # the status, or the kind of connection error
    detail: str  # the start of the answer's body, or the error's message


@dataclass(frozen=True, slots=True)
class Rebuild:
    """One full build: when it began, how long it took, what it published (or why not)."""

    started: float  # seconds into the load; 0 for the build before it
    seconds: float
    documents: int
    version: str
    error: str = ""


def full_build(corpus: Path, index_dir: Path) -> Rebuild:
    """A full build, run in the rebuild process (picklable in, picklable out)."""
    started = time.perf_counter()
    report = build_index(IndexerSettings(corpus_dir=corpus, index_dir=index_dir))
    return Rebuild(0.0, time.perf_counter() - started, report.indexed, report.version)


def change_a_page(corpus: Path, number: int) -> None:
    """Edits one news page, another each time, so that every rebuild has a change to publish."""
    pages = sorted((corpus / "news").glob("*.html")) or sorted(corpus.rglob("*.html"))
    page = pages[number % len(pages)]
    page.write_bytes(page.read_bytes().replace(b"</p>", f" Soak rebuild {number}.</p>".encode(), 1))


class Connections:
    """Idle keep-alive connections to the server, the most recently used first."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < IDLE_CONNECTION_SECONDS:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(HOST, self.port)

    def give_back(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.idle.append((reader, writer, time.monotonic()))

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def get(port: int, path: str, pool: Connections | None = None) -> tuple[int, bytes]:
    """One request as a raw request line (its bytes as written); the status and the body. With
    no pool, on a connection of its own."""
    connections = pool or Connections(port)
    reader, writer = await connections.take()
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        status, keep_alive, body = await read_response(reader)
    except BaseException:
        writer.close()
        raise
    if keep_alive and pool is not None:
        connections.give_back(reader, writer)
    else:
        writer.close()
    return status, body


class Soak:
    """The load, the rebuilds, the memory samples and the progress lines, run side by side."""

    def __init__(
        self,
        server: Server,
        args: argparse.Namespace,
        corpus: Path,
        index_dir: Path,
        builds: Executor,
    ) -> None:
        self.server, self.corpus, self.index_dir, self.builds = server, corpus, index_dir, builds
        self.seconds = args.minutes * 60
        self.rate, self.max_in_flight = args.rate, args.max_in_flight
        self.rebuild_every, self.interval = args.rebuild_every, args.interval
        self.mix = request_mix(query_sets())
        self.connections = Connections(server.port)
        self.windows = [Outcomes() for _ in range(math.ceil(self.seconds / self.interval))]
        self.kinds: dict[str, Outcomes] = {}
        self.failures: list[Failure] = []
        self.rebuilds: list[Rebuild] = []
        self.rss: list[tuple[float, float]] = []  # (seconds into the load, MB)
        self.served: set[str] = set()  # versions /health named
        self.in_flight = 0
        self.start = self.until = 0.0
        self.server_exit: int | None = None  # the server's exit status, had it stopped

    async def run(self) -> None:
        self.start = time.perf_counter()
        self.until = self.start + self.seconds
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._send_all())
                group.create_task(self._rebuild_periodically())
                group.create_task(self._sample())
                group.create_task(self._progress())
        finally:
            self.connections.close()
        self.server_exit = self.server.process.poll()
        self._sample_rss()
        if self.rebuilds:
            await self._await_version(self.rebuilds[-1].version)

    # --- load -----------------------------------------------------------------------------

    async def _send_all(self) -> None:
        waiting: set[asyncio.Task[None]] = set()
        for number in itertools.count():
            due = self.start + number / self.rate
            if due >= self.until:
                break
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            kind, path = next(self.mix)
            tallies = (self.windows[int((due - self.start) // self.interval)], self._kind(kind))
            if self.in_flight >= self.max_in_flight:
                for tally in tallies:
                    tally.skipped += 1
                continue
            for tally in tallies:
                tally.sent += 1
            self.in_flight += 1
            task = asyncio.create_task(self._request(path, due, tallies))
            waiting.add(task)
            task.add_done_callback(waiting.discard)
        if waiting:
            await asyncio.wait(waiting)

    def _kind(self, kind: str) -> Outcomes:
        return self.kinds.setdefault(kind, Outcomes())

    async def _request(self, path: str, due: float, tallies: tuple[Outcomes, ...]) -> None:
        try:
            status, body = await asyncio.wait_for(
                get(self.server.port, path, self.connections), ANSWER_TIMEOUT_SECONDS
            )
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError) as e:
            for tally in tallies:
                tally.errors[type(e).__name__] += 1
            self._keep_failure(Failure(path, type(e).__name__, str(e)))
            return
        finally:
            self.in_flight -= 1
        latency = time.perf_counter() - due
        for tally in tallies:
            tally.latencies.append(latency)
            tally.statuses[status] += 1
        if status >= 500:
            self._keep_failure(Failure(path, str(status), body[:300].decode("utf-8", "replace")))

    def _keep_failure(self, failure: Failure) -> None:
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append(failure)

    # --- rebuilds, memory, progress -------------------------------------------------------

    async def _rebuild_periodically(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = self.start + self.rebuild_every
        for number in itertools.count(1):
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            if time.perf_counter() >= self.until:
                return
            started = time.perf_counter() - self.start
            change_a_page(self.corpus, number)
            try:
                done = await loop.run_in_executor(
                    self.builds, full_build, self.corpus, self.index_dir
                )
                self.rebuilds.append(replace(done, started=started))
            except Exception as error:  # a failed build is a finding, not the end of the run
                elapsed = time.perf_counter() - self.start - started
                self.rebuilds.append(Rebuild(started, elapsed, 0, "", f"{error!r}"))
            next_at = max(next_at + self.rebuild_every, time.perf_counter())

    async def _sample(self) -> None:
        while time.perf_counter() < self.until:
            self._sample_rss()
            await self._ask_version()
            await asyncio.sleep(min(RSS_EVERY_SECONDS, max(0.0, self.until - time.perf_counter())))

    def _sample_rss(self) -> None:
        if self.server.process.poll() is None:  # a server gone shows as connection errors
            self.rss.append((time.perf_counter() - self.start, self.server.rss_mb()))

    async def _ask_version(self) -> str:
        """The index version the server answers from (not counted in the load's figures)."""
        try:
            status, body = await asyncio.wait_for(get(self.server.port, "/health"), 10)
            version = json.loads(body).get("index_version", "") if status == 200 else ""
        except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
            return ""
        self.served.add(version)
        return version

    async def _await_version(self, version: str, seconds: float = 10.0) -> None:
        """Gives the server time to open the last version built before it is checked."""
        deadline = time.perf_counter() + seconds
        while await self._ask_version() != version and time.perf_counter() < deadline:
            await asyncio.sleep(0.5)

    async def _progress(self) -> None:
        for number, window in enumerate(self.windows):
            end = min((number + 1) * self.interval, self.seconds)
            await asyncio.sleep(max(0.0, self.start + end - time.perf_counter()))
            sent, _, done, p50, p99, ok, refused, failed, _, errors = window.row()
            print(
                f"  {clock(end)}  sent {sent}, completed {done}, p50 {p50} ms, "
                f"p99 {p99} ms, 2xx {ok}, 4xx {refused}, 5xx {failed}, connection errors "
                f"{errors}, RSS {self.rss_at(end):.0f} MB, rebuilds {len(self.rebuilds)}",
                flush=True,
            )

    # --- figures --------------------------------------------------------------------------

    def rss_at(self, seconds: float) -> float:
        """The last sample taken by ``seconds`` into the load (the first, if none was; 0 if the
        server was gone before the first)."""
        taken = [mb for at, mb in self.rss if at <= seconds] or [mb for _, mb in self.rss[:1]]
        return taken[-1] if taken else 0.0

    def total(self) -> Outcomes:
        total = Outcomes()
        for kind in self.kinds.values():
            total.sent += kind.sent
            total.skipped += kind.skipped
            total.latencies += kind.latencies
            total.statuses += kind.statuses
            total.errors += kind.errors
        return total

    def drift(self) -> str:
        """Latency of the last full row against the first: growth there is a leak of time."""
        full = [w for w in self.windows[: int(self.seconds // self.interval)] if w.latencies]
        if len(full) < 2:
            return "fewer than two full rows"
        first, last = full[0].latencies, full[-1].latencies
        return (
            f"p50 ×{percentile(last, 0.50) / percentile(first, 0.50):.2f}, "
            f"p99 ×{percentile(last, 0.99) / percentile(first, 0.99):.2f}"
        )


def clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def yes(met: bool) -> str:
    return "yes" if met else "NO"


def report(soak: Soak, initial: Rebuild, log: Path) -> None:
    """The tables, after the run; the targets last, then any failure as it was met."""
    rows = []
    for number, window in enumerate(soak.windows):
        start, end = number * soak.interval, min((number + 1) * soak.interval, soak.seconds)
        rows.append([f"{clock(start)}–{clock(end)}", *window.row(), f"{soak.rss_at(end):.0f}"])
    every = "minute" if soak.interval == 60 else f"{soak.interval:g} s"
    table(
        f"Per {every} (latency from when each request was due)",
        ["time", *OUTCOME_COLUMNS, "RSS MB"],
        rows,
    )
    total = soak.total()
    kinds = [[name, *soak.kinds[name].row()] for name in sorted(soak.kinds)]
    table("Totals", ["requests", *OUTCOME_COLUMNS], [*kinds, ["all", *total.row()]])

    warm, end = soak.rss_at(min(soak.interval, soak.seconds)), soak.rss_at(math.inf)
    growth = (end - warm) / warm if warm else math.inf
    peak = max((mb for _, mb in soak.rss), default=0.0)
    memory = [f"{warm:.0f} MB", f"{end:.0f} MB", f"{peak:.0f} MB", f"{growth:+.1%}"]
    table("Server memory (VmRSS)", ["after warm-up", "at the end", "peak", "growth"], [memory])

    builds = [initial, *soak.rebuilds]
    rows = []
    for number, done in enumerate(builds):
        served = yes(done.version in soak.served) if done.version else ""
        rows.append(
            [
                str(number) if number else "before the load",
                clock(done.started) if number else "",
                f"{done.seconds:.1f}",
                f"{done.documents:,}",
                done.version or f"failed: {done.error}",
                served,
            ]
        )
    table(
        f"Full builds ({len(soak.rebuilds)} during the load, every {soak.rebuild_every:g} s)",
        ["build", "started", "seconds", "documents", "version", "served"],
        rows,
    )

    failed, errors = total.by_class(5), sum(total.errors.values())
    published = all(done.version in soak.served for done in soak.rebuilds)
    table(
        "Targets",
        ["target", "result", "met"],
        [
            ["no 5xx answers", f"{failed:,}", yes(failed == 0)],
            ["no connection errors", f"{errors:,}", yes(errors == 0)],
            [
                "RSS growth after warm-up under 10%",
                f"{growth:+.1%}",
                yes(growth < RSS_GROWTH_TARGET),
            ],
            [
                "no request skipped (client at its limit)",
                f"{total.skipped:,}",
                yes(not total.skipped),
            ],
            ["latency stable: last full row ÷ first", soak.drift(), "(no threshold)"],
            ["every rebuild served", f"{len(soak.rebuilds)} during the load", yes(published)],
        ],
    )
    if soak.server_exit is not None:
        print(f"\nThe server exited during the run (status {soak.server_exit}).")
    if soak.failures:
        listed = "\n".join(
            f"- GET {failure.path[:200]} -> {failure.outcome}: {failure.detail[:300]!r}"
            for failure in soak.failures
        )
        print(f"\nFailures (the first {len(soak.failures)}; server output in {log}):\n\n{listed}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the load")
    parser.add_argument("--rate", type=float, default=50.0, help="requests a second, steady")
    parser.add_argument("--pages", type=int, default=1000, help="generated HTML pages")
    parser.add_argument("--pdfs", type=int, help="generated PDFs (default: 1 per 100 pages)")
    parser.add_argument(
        "--rebuild-every", type=float, default=60.0, help="seconds between full builds"
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=32, help="requests waiting at once, at most"
    )
    parser.add_argument(
        "--interval", type=float, default=60.0, help="seconds a row of the report covers"
    )
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench", help="sites kept here")
    args = parser.parse_args(argv)
    if min(args.minutes, args.rate, args.rebuild_every, args.interval, args.max_in_flight) <= 0:
        parser.error("--minutes, --rate, --rebuild-every, --interval, --max-in-flight: above 0")
    pdfs = args.pdfs if args.pdfs is not None else args.pages // 100
    print(
        f"blmk-search soak: {args.minutes:g} min at {args.rate:g} requests/s, {args.pages:,} "
        f"pages + {pdfs:,} PDFs, a full build every {args.rebuild_every:g} s; {machine()}",
        flush=True,
    )
    args.work.mkdir(parents=True, exist_ok=True)
    site = site_for(args.work, args.pages, pdfs)
    log = args.work / "soak-server.log"
    # spawn: a clean process for the builds, not a fork of this one and its event loop.
    context = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="soak-", dir=args.work) as tmp,
        ProcessPoolExecutor(max_workers=1, mp_context=context) as builds,
    ):
        corpus, index_dir = Path(tmp) / "site", Path(tmp) / "index"
        shutil.copytree(site, corpus)  # rebuilds change pages: the kept site stays as generated
        try:
            initial = builds.submit(full_build, corpus, index_dir).result()
            server = Server(index_dir, env={"BLMK_REFRESH_SECONDS": "1"}, log=log)
        except Exception as error:
            print(f"soak: cannot run: {error!r}", file=sys.stderr)
            return 2
        print(
            f"  built {initial.documents:,} documents in {initial.seconds:.1f} s; serving on "
            f"port {server.port}, pid {server.process.pid}",
            flush=True,
        )
        soak = Soak(server, args, corpus, index_dir, builds)
        try:
            asyncio.run(soak.run())
        finally:
            server.stop()
    report(soak, initial, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
