"""bench.crawl: crawl benchmark, a first crawl and a recrawl of a generated site on loopback.

    python -m bench.crawl [--pages 1000] [--pdfs 20]

Generates a synthetic site (``bench.synthetic.generate_site``), serves it with
``python -m bench.website`` in a process of its own (a server sharing the crawler's GIL would
slow both), then runs ``blmk-index crawl ORIGIN/ --index IDX --delay 0 --max-pages 100000``
twice as the operator would: once on an empty index, then again with nothing changed. Prints
the URLs served, the documents indexed, each crawl's seconds (and the first crawl's pages per
second) and how many of each crawl's requests were conditional (If-None-Match or
If-Modified-Since sent), answered 304 and answered 404: a recrawl of an unchanged site should
be nearly all conditional and nearly all 304. It prints figures and asserts nothing.

Each crawl runs with its own empty staff state folder (``BLMK_STATE_DIR``), no quality checks
(``BLMK_CHECKS=""``, which hold any build of a site other than the sample one) and an empty
corpus folder (``BLMK_CORPUS``), so nothing of the checkout's own set-up is read or written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.synthetic import generate_site
from indexer.store import IndexStore

REPO = Path(__file__).resolve().parent.parent
CONDITIONAL = ("if-none-match", "if-modified-since")
# The server writes a request's log line just after its answer: a crawl's last requests
# are counted once the log has stopped growing for this long.
LOG_QUIET_SECONDS = 0.3


@dataclass(frozen=True, slots=True)
class CrawlRun:
    name: str
    seconds: float
    returncode: int
    output: str
    requests: list[dict[str, Any]]

    @property
    def conditional(self) -> int:
        return sum(1 for r in self.requests if any(h in r["headers"] for h in CONDITIONAL))

    @property
    def not_modified(self) -> int:
        return sum(1 for r in self.requests if r["status"] == 304)

    @property
    def not_found(self) -> int:
        """Links to pages that are not there: the generated pages link to the real site's
        extensionless addresses ("/news/slug", "/about-us"), which are not files here."""
        return sum(1 for r in self.requests if r["status"] == 404)


def blmk_index() -> str:
    """The installed command beside this Python (the virtualenv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "blmk-index"
    return str(beside) if beside.exists() else shutil.which("blmk-index") or "blmk-index"


def start_server(folder: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "bench.website", "--folder", str(folder), "--log", str(log)]
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    origin = server.stdout.readline().strip()
    if not origin.startswith("http://"):
        stop_server(server)
        raise RuntimeError(f"bench.website did not start (exit status {server.returncode})")
    return server, origin


def stop_server(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if server.stdout is not None:
        server.stdout.close()


def log_lines(log: Path) -> list[dict[str, Any]]:
    """The server's request log once it has stopped growing."""
    previous = -1
    while True:
        text = log.read_text("utf-8") if log.exists() else ""
        if len(text) == previous:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        previous = len(text)
        time.sleep(LOG_QUIET_SECONDS)


def crawl(name: str, origin: str, index: Path, env: dict[str, str], log: Path) -> CrawlRun:
    before = len(log_lines(log))
    command = [blmk_index(), "crawl", origin + "/", "--index", str(index)]
    command += ["--delay", "0", "--max-pages", "100000"]
    started = time.perf_counter()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    output = finished.stdout + finished.stderr
    return CrawlRun(name, seconds, finished.returncode, output, log_lines(log)[before:])


def documents_indexed(index: Path) -> str:
    """From the published version's build.json, as ``blmk-index status`` reads it."""
    store = IndexStore(index)
    current = store.current()
    if current is None:
        return "none published"
    info = store.build_info(current)
    return str(info.get("indexed", info.get("documents", "?")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="generated HTML pages")
    parser.add_argument("--pdfs", type=int, default=20, help="generated PDFs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="blmk-crawl-") as tmp:
        work = Path(tmp)
        stats = generate_site(work / "site", args.pages, args.pdfs)
        for note in stats.notes:
            print(note, file=sys.stderr)
        served = sum(1 for path in (work / "site").rglob("*") if path.is_file()) + 1  # + home
        (work / "empty-corpus").mkdir()
        (work / "state").mkdir()
        env = {
            **os.environ,
            "BLMK_STATE_DIR": str(work / "state"),
            "BLMK_CHECKS": "",
            "BLMK_CORPUS": str(work / "empty-corpus"),
        }
        log, index = work / "requests.jsonl", work / "index"
        server, origin = start_server(work / "site", log)
        try:
            runs = [crawl("first crawl", origin, index, env, log)]
            if runs[0].returncode == 0:
                runs.append(crawl("recrawl, nothing changed", origin, index, env, log))
        finally:
            stop_server(server)
        report(args, served, documents_indexed(index), runs)
    return 0 if all(run.returncode == 0 for run in runs) else 1


def report(args: argparse.Namespace, served: int, indexed: str, runs: list[CrawlRun]) -> None:
    print(f"Crawl of a generated site: {args.pages:,} pages, {args.pdfs:,} PDFs")
    print(f"URLs served {served:,} (the files and a home page); documents indexed {indexed}")
    print(
        f"{'':26} {'seconds':>8} {'pages/s':>8} {'requests':>9} {'conditional':>12} "
        f"{'plain':>6} {'304s':>6} {'404s':>6}"
    )
    for run in runs:
        rate = f"{int(indexed) / run.seconds:8.1f}" if indexed.isdigit() and run is runs[0] else ""
        print(
            f"{run.name:26} {run.seconds:8.2f} {rate:>8} {len(run.requests):9,} "
            f"{run.conditional:12,} {len(run.requests) - run.conditional:6,} "
            f"{run.not_modified:6,} {run.not_found:6,}"
        )
    for run in runs:
        if run.returncode != 0:
            print(f"\n{run.name} failed (exit status {run.returncode}):\n{run.output.strip()}")


if __name__ == "__main__":
    sys.exit(main())
