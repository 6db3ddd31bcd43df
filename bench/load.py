"""A bounded HTTP load generator: N keep-alive connections on 127.0.0.1 for a fixed time.

    python -m bench.load --port 8080 --connections 32 --seconds 10 --paths paths.txt

Each connection sends its next request as soon as the last answer is read (a closed loop), so
the figure is how many requests the server completes, not how many were thrown at it. Runs in
its own process (started by ``bench.speed``), on the core the server's process is not using.
Prints one JSON object: requests, errors by kind, requests per second, latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """The status of one response, whether the server keeps the connection open, and the body
    (read whole, so the next response on the connection starts where it should)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("connection closed by the server")
    status = int(status_line.split()[1])
    length, keep_alive = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
    return status, keep_alive, await reader.readexactly(length)


async def _client(host: str, port: int, paths: Iterator[str], until: float, tally: Tally) -> None:
    connection = None
    while time.perf_counter() < until:
        try:
            if connection is None:
                connection = await asyncio.open_connection(host, port)
            reader, writer = connection
            path = next(paths)
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            status, keep_alive, _ = await read_response(reader)
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] += 1
            if not keep_alive:
                writer.close()
                connection = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            tally.errors[type(error).__name__] += 1
            connection = None
            await asyncio.sleep(0.01)
    if connection is not None:
        connection[1].close()


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank); 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(
    host: str, port: int, paths: list[str], connections: int, seconds: float
) -> dict[str, object]:
    cycle = itertools.cycle(paths)
    tally = Tally()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(host, port, cycle, until, tally) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    done = len(tally.latencies)
    return {
        "connections": connections,
        "seconds": round(elapsed, 2),
        "requests": done,
        "per_second": round(done / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": dict(tally.errors),
        "p50_ms": round(percentile(tally.latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--paths", type=Path, required=True, help="one request path a line")
    args = parser.parse_args(argv)
    paths = [p for p in args.paths.read_text(encoding="utf-8").splitlines() if p]
    result = asyncio.run(run(args.host, args.port, paths, args.connections, args.seconds))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
