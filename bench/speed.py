"""How fast blmk-search builds, updates and answers, at the site's size and far beyond it,
with tantivy and SQLite FTS5 on the same documents and queries as anchors.

    python -m bench.speed                  # 10,000 pages (the issue's reference size)
    python -m bench.speed --pages 1000     # the quick mode: a few minutes
    python -m bench.speed --pages 100000   # 100k: generating and building take a long while

Figures, each the median over ``--passes`` passes (builds at 10,000 pages and more: one):

- build: a full build of a generated site (``bench.synthetic``), documents per second;
  update: one changed file re-read, indexed and published;
- in process: full searches (results, total, facets, snippets) for queries never searched
  before, and for a Zipfian mix of popular ones with the response cache on and off; every
  prefix of typed queries for suggestions; the anchors on the same queries;
- over HTTP (``blmk-serve`` in its own process, one keep-alive client): ``/health`` next to
  ``/search``; then throughput with 8 and 32 connections (``bench.load``, another process);
  the server's resident memory after warm-up and after the load.

Generated sites are kept under ``--work`` (default ``var/bench``) and reused: the same seed
gives the same files. Indexes are built afresh each run. Nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from whoosh.index import open_dir

from bench.anchors import NO_TANTIVY, Fts5Anchor, TantivyAnchor, docs_from_stored, tantivy
from bench.load import percentile
from bench.synthetic import QuerySets, generate_site, query_sets
from indexer.build import build_index, update_index
from indexer.config import IndexerSettings
from indexer.store import IndexStore
from search_api.engine.service import SearchRequest, SearchService

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG = REPO / "config"
LOAD_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles of one set of timings, in milliseconds."""

    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        return cls(*(percentile(seconds, share) * 1000 for share in (0.50, 0.95, 0.99)))

    @classmethod
    def median(cls, passes: list[Latency]) -> Latency:
        return cls(
            statistics.median(p.p50 for p in passes),
            statistics.median(p.p95 for p in passes),
            statistics.median(p.p99 for p in passes),
        )


def timed(action: Callable[[str], object], inputs: Iterable[str]) -> list[float]:
    seconds = []
    for value in inputs:
        started = time.perf_counter()
        action(value)
        seconds.append(time.perf_counter() - started)
    return seconds


def site_for(work: Path, pages: int, pdfs: int) -> Path:
    """The generated site, made once per size and kept (generation is deterministic)."""
    site = work / "sites" / f"pages-{pages}-pdfs-{pdfs}"
    if not (site / ".complete").exists():
        shutil.rmtree(site, ignore_errors=True)
        stats = generate_site(site, pages=pages, pdfs=pdfs)
        for note in stats.notes:
            print(f"  {note}")
        (site / ".complete").write_text("")
    return site


# --- build and update -------------------------------------------------------------------------


def measure_builds(site: Path, work: Path, passes: int) -> tuple[dict[str, str], Path]:
    """Full build(s) and one-file updates; returns table rows and the index built."""
    index_dir = work / "index"
    build_seconds, documents = [], 0
    for _ in range(passes):
        shutil.rmtree(index_dir, ignore_errors=True)
        settings = IndexerSettings(corpus_dir=site, index_dir=index_dir)
        started = time.perf_counter()
        report = build_index(settings)
        build_seconds.append(time.perf_counter() - started)
        documents = report.indexed
    seconds = statistics.median(build_seconds)
    # Each update changes one more news page, so every run has something to read.
    pages = sorted((site / "news").glob("*.html"))[:3]
    originals = {page: page.read_bytes() for page in pages}
    update_seconds = []
    try:
        for number, page in enumerate(pages, start=1):
            page.write_bytes(originals[page].replace(b"</p>", f" Update {number}.</p>".encode(), 1))
            started = time.perf_counter()
            update_index(IndexerSettings(corpus_dir=site, index_dir=index_dir))
            update_seconds.append(time.perf_counter() - started)
    finally:
        for page, data in originals.items():
            page.write_bytes(data)
    rows = {
        "full build": f"{documents:,} documents in {seconds:.1f} s = {documents / seconds:,.0f}/s"
        f" (median of {passes})",
        "1 changed file, update published": f"{statistics.median(update_seconds):.2f} s"
        f" (median of {len(update_seconds)})",
    }
    return rows, index_dir


# --- in process -------------------------------------------------------------------------------


def service_for(index_dir: Path, cache: bool = True) -> SearchService:
    files = {
        "synonyms_file": CONFIG / "synonyms.txt",
        "best_bets_file": CONFIG / "best-bets.toml",
        "suggest_stoplist_file": CONFIG / "suggest-stoplist.txt",
    }
    try:
        return SearchService(index_dir, cache_responses=cache, **files)
    except TypeError:  # a release from before the response cache, measured for comparison
        return SearchService(index_dir, **files)


def prefixes(queries: Iterable[str]) -> list[str]:
    return [query[:end] for query in queries for end in range(1, len(query) + 1)]


def in_process(index_dir: Path, queries: QuerySets, passes: int, work: Path) -> list[list[str]]:
    cached, uncached = service_for(index_dir), service_for(index_dir, cache=False)

    def ours(service: SearchService) -> Callable[[str], object]:
        return lambda q: service.search(SearchRequest(q=q))

    for service in (cached, uncached):
        timed(ours(service), queries.popular)  # warm-up: the live server has seen traffic
    unseen = queries.unseen[: len(queries.unseen) // 2]  # the rest is for the HTTP figures

    def fresh_unseen() -> list[float]:
        if hasattr(version := cached.current(), "responses"):
            version.responses.clear()  # unseen queries: never answered from the cache
        return timed(ours(cached), unseen)

    figures: dict[str, dict[str, Latency]] = {
        "unseen queries": {
            "blmk-search": Latency.median([Latency.of(fresh_unseen()) for _ in range(passes)])
        },
        "popular mix": {
            "blmk-search": Latency.median(
                [Latency.of(timed(ours(cached), queries.popular)) for _ in range(passes)]
            ),
            "blmk-search, no cache": Latency.median(
                [Latency.of(timed(ours(uncached), queries.popular)) for _ in range(passes)]
            ),
        },
    }
    typed = prefixes(unseen)
    suggest = Latency.median([Latency.of(timed(cached.suggest, typed)) for _ in range(passes)])
    for anchor in anchors(index_dir, work):
        timed(anchor.search, queries.popular)
        for name, inputs in (("unseen queries", unseen), ("popular mix", queries.popular)):
            figures[name][anchor.name] = Latency.median(
                [Latency.of(timed(anchor.search, inputs)) for _ in range(passes)]
            )
    rows = []
    for name, engines in figures.items():
        base = engines["blmk-search"]
        for engine, latency in engines.items():
            ratio = "" if engine.startswith("blmk") else f"{base.p50 / latency.p50:.2g}×"
            rows.append([name, engine, *_ms(latency), ratio])
    rows.append(["suggestions (each keystroke)", "blmk-search", *_ms(suggest), ""])
    return rows


def anchors(index_dir: Path, work: Path) -> list:
    """tantivy and FTS5 over the documents our index holds, as we extracted them."""
    index = open_dir(str(IndexStore(index_dir).current()))
    with index.reader() as reader:
        docs = docs_from_stored(fields for _, fields in reader.iter_docs())
    folder = Path(tempfile.mkdtemp(prefix="anchors-", dir=work))
    built = []
    if tantivy is None:
        print(f"  {NO_TANTIVY}")
    else:
        built.append(TantivyAnchor(docs, folder / "tantivy"))
    built.append(Fts5Anchor(docs, folder / "fts5.sqlite"))
    return built


def _ms(latency: Latency) -> list[str]:
    return [f"{latency.p50:.2f}", f"{latency.p95:.2f}", f"{latency.p99:.2f}"]


# --- over HTTP --------------------------------------------------------------------------------


class Server:
    """``blmk-serve`` on a free port of 127.0.0.1, in its own process; ``env`` adds settings
    (``BLMK_REFRESH_SECONDS``, say), ``log`` keeps what it prints (tracebacks of 5xx answers)."""

    def __init__(
        self, index_dir: Path, env: dict[str, str] | None = None, log: Path | None = None
    ) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        # Searches are counted as in service, in memory: not into the checkout's var/; no
        # admin API (nothing here signs in), so no staff state there either.
        settings = {
            "BLMK_INDEX_DIR": str(index_dir),
            "BLMK_PORT": str(self.port),
            "BLMK_ANALYTICS_FILE": "",
            "BLMK_ADMIN_API": "off",
        }
        self.output = log.open("w") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(BIN / "blmk-serve")],
            cwd=REPO,
            env=os.environ | (env or {}) | settings,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.get("/health")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"blmk-serve did not start (exit status {self.process.returncode})")

    def get(self, path: str, connection: http.client.HTTPConnection | None = None) -> int:
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if connection is None:
            conn.close()
        return response.status

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
        )
        return kilobytes / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.output is not subprocess.DEVNULL:
            self.output.close()


def search_path(query: str) -> str:
    return "/search?" + urlencode({"q": query})


def over_http(
    index_dir: Path, queries: QuerySets, passes: int, work: Path
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    server = Server(index_dir)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

        def keep_alive(path: str) -> object:
            return server.get(path, connection)

        popular = [search_path(q) for q in queries.popular]
        timed(keep_alive, popular)  # warm-up
        rss_warm = server.rss_mb()
        health = Latency.median(
            [Latency.of(timed(keep_alive, ["/health"] * 500)) for _ in range(passes)]
        )
        mix = Latency.median([Latency.of(timed(keep_alive, popular)) for _ in range(passes)])
        unseen = Latency.of(
            timed(keep_alive, [search_path(q) for q in queries.unseen[len(queries.unseen) // 2 :]])
        )
        rows = [
            ["/health", "1 keep-alive client", *_ms(health), ""],
            [
                "/search popular mix",
                "1 keep-alive client",
                *_ms(mix),
                f"{mix.p50 / health.p50:.1f}× /health",
            ],
            ["/search unseen queries", "1 keep-alive client (one pass)", *_ms(unseen), ""],
        ]
        paths_file = work / "load-paths.txt"
        paths_file.write_text("\n".join(popular))
        load_rows = []
        for connections in (8, 32):
            result = json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.load",
                        "--port",
                        str(server.port),
                        "--connections",
                        str(connections),
                        "--seconds",
                        str(LOAD_SECONDS),
                        "--paths",
                        str(paths_file),
                    ],
                    cwd=REPO,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            not_ok = sum(v for k, v in result["statuses"].items() if k != "200")
            load_rows.append(
                [
                    f"{connections} connections, popular mix",
                    f"{result['per_second']:,.0f}/s",
                    f"{result['p50_ms']:.1f}",
                    f"{result['p99_ms']:.1f}",
                    f"{result['requests']:,} requests, {not_ok} not 200, "
                    f"{sum(result['errors'].values())} connection errors",
                ]
            )
        rss_loaded = server.rss_mb()
    finally:
        server.stop()
    memory = [["server RSS", f"{rss_warm:.0f} MB after warm-up", f"{rss_loaded:.0f} MB after load"]]
    return rows, load_rows, memory


# --- output -----------------------------------------------------------------------------------


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return (
        f"{datetime.now(UTC):%Y-%m-%d}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000, help="generated HTML pages")
    parser.add_argument("--pdfs", type=int, help="generated PDFs (default: 1 per 100 pages)")
    parser.add_argument("--passes", type=int, default=3, help="passes per figure (median)")
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench", help="sites kept here")
    parser.add_argument(
        "--index", type=Path, help="search figures only, on this index root already built"
    )
    parser.add_argument(
        "--popular", type=int, default=2000, help="searches in the popular mix (Zipfian)"
    )
    args = parser.parse_args(argv)
    pdfs = args.pdfs if args.pdfs is not None else args.pages // 100
    if args.pages >= 100_000:
        print("100,000 pages: generating, building and measuring take an hour or more.")
    print(f"blmk-search speed, {args.pages:,} pages + {pdfs:,} PDFs; {machine()}")
    args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="speed-", dir=args.work) as tmp:
        work = Path(tmp)
        if args.index:
            index_dir = args.index
            print(f"Searching {index_dir} as built (no build figures)")
        else:
            site = site_for(args.work, args.pages, pdfs)
            build_passes = 1 if args.pages >= 10_000 else args.passes
            build_rows, index_dir = measure_builds(site, work, build_passes)
            table("Building", ["step", "time"], [[k, v] for k, v in build_rows.items()])
        queries = query_sets(searches=args.popular, unseen=1000)
        rows = in_process(index_dir, queries, args.passes, work)
        table(
            f"Full search in process (ms, median of {args.passes} passes; ratio: our p50 ÷ theirs)",
            ["queries", "engine", "p50", "p95", "p99", "ratio"],
            rows,
        )
        http_rows, load_rows, memory = over_http(index_dir, queries, args.passes, work)
        table("Over HTTP (ms)", ["request", "client", "p50", "p95", "p99", "ratio"], http_rows)
        table(
            f"Throughput ({LOAD_SECONDS:.0f} s each, 127.0.0.1)",
            ["load", "searches", "p50 ms", "p99 ms", "outcome"],
            load_rows,
        )
        table("Memory", ["process", "warm", "loaded"], memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
