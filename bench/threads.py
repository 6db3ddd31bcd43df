"""Uncached searches from several threads of one process: how far they overlap.

    python -m bench.threads [--pages 10000] [--threads 1 2 4] [--index DIR] [--own-service]

A process answers searches on a pool of threads (waitress's), but Python runs one thread at a
time, so two searches overlap only where the code waits outside the interpreter: where numpy
works on arrays with the GIL released, and not while a search holds its version's lock. This
runs the unseen queries of ``bench.synthetic`` (each once, the response cache off) split across
1, 2 and 4 threads of one ``SearchService`` and prints searches per second, p50 and p99, and the
throughput against one thread. The index is built once into ``var/bench`` and reused.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

from bench.speed import REPO, machine, service_for, site_for, table
from bench.synthetic import query_sets
from indexer import IndexerSettings, IndexStore, build_index
from search_api.engine.service import SearchRequest, SearchService


def index_for(work: Path, pages: int) -> Path:
    """The generated site's index, built once and kept beside the site."""
    index_dir = work / "indexes" / f"pages-{pages}"
    if IndexStore(index_dir).current() is None:
        site = site_for(work, pages, pages // 100)
        build_index(IndexerSettings(corpus_dir=site, index_dir=index_dir, checks_file=None))
    return index_dir


def run(
    index_dir: Path, queries: list[str], threads: int, own_service: bool = False
) -> tuple[float, list[float]]:
    """Every query once, shared out among ``threads``; the wall time and each latency. With
    ``own_service`` each thread searches a ``SearchService`` of its own, with its own searcher
    and lock: no thread ever waits for another's lock, the most any narrower locking could
    let searches overlap."""
    services = [service_for(index_dir, cache=False) for _ in range(threads if own_service else 1)]
    for service in services:
        for query in queries[:20]:  # warm: postings read, arrays decoded
            service.search(SearchRequest(q=query))
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [queries[n::threads] for n in range(threads)]

    def work(service: SearchService, share: list[str]) -> None:
        mine = []
        for query in share:
            started = time.perf_counter()
            service.search(SearchRequest(q=query))
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    workers = [
        threading.Thread(target=work, args=(services[n % len(services)], share))
        for n, share in enumerate(shares)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    for service in services:
        service.close()
    return seconds, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--passes", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--index", type=Path, help="an index root already built")
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench")
    parser.add_argument(
        "--own-service",
        action="store_true",
        help="each thread its own SearchService (own searcher and lock), besides the shared one",
    )
    args = parser.parse_args(argv)
    index_dir = args.index or index_for(args.work, args.pages)
    queries = list(query_sets(searches=10, unseen=1000).unseen)
    print(f"Uncached unseen searches, {len(queries)} queries, {index_dir}; {machine()}")
    rows, single = [], None
    setups = [(threads, False) for threads in args.threads]
    if args.own_service:
        setups += [(threads, True) for threads in args.threads if threads > 1]
    for threads, own_service in setups:
        runs = [run(index_dir, queries, threads, own_service) for _ in range(args.passes)]
        seconds = statistics.median(wall for wall, _ in runs)
        latencies = sorted(runs[0][1])
        rate = len(queries) / seconds
        single = single or rate
        rows.append(
            [
                str(threads),
                "one each" if own_service else "shared",
                f"{rate:,.0f}",
                f"{latencies[len(latencies) // 2] * 1000:.2f}",
                f"{latencies[int(len(latencies) * 0.99)] * 1000:.2f}",
                f"{rate / single:.2f}",
            ]
        )
    table(
        f"Threads of one process (median of {args.passes} runs)",
        ["threads", "service", "searches/s", "p50 ms", "p99 ms", "÷ 1 thread"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
