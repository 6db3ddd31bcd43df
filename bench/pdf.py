"""Pages per second of PDF extraction, on the sample corpus and on the shared sample PDFs.

    make bench                      # or: .venv/bin/python bench/pdf.py [--passes N]

Two figures per set, each the median of a few passes: ``extract_pdf`` in this process (the
pypdf work alone), and ``extract_all`` as a build runs it (worker processes, started once,
with their time limit). Files that cannot be indexed are read but their pages not counted.
The shared samples sit beside the checkout (``../shared/data/pdf-samples``); when they are
absent that part is skipped with a message.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

from indexer.build import extract_all
from indexer.config import IndexerSettings
from indexer.document import Document
from indexer.errors import ExtractionError
from indexer.extract.pdf import extract_pdf
from indexer.extract.workers import Workers

REPO = Path(__file__).resolve().parent.parent
SETS = {
    "sample corpus": REPO / "corpus",
    "shared samples": REPO.parent / "shared" / "data" / "pdf-samples",
}


def in_process(files: list[Path]) -> tuple[int, float]:
    """Pages read and seconds taken by ``extract_pdf`` alone."""
    data = [path.read_bytes() for path in files]
    pages, started = 0, time.perf_counter()
    for content in data:
        with contextlib.suppress(ExtractionError):
            pages += len(extract_pdf(content).pages)
    return pages, time.perf_counter() - started


def through_workers(files: list[Path], root: Path, workers: Workers) -> tuple[int, float]:
    """Pages read and seconds taken as a build reads them."""
    pages, started = 0, time.perf_counter()
    for item in extract_all(files, workers.settings, root, workers):
        if isinstance(item, Document):
            pages += len(item.pages)
    return pages, time.perf_counter() - started


def median_rate(runs: list[tuple[int, float]]) -> tuple[int, float, float]:
    pages = runs[0][0]
    seconds = statistics.median(seconds for _, seconds in runs)
    return pages, seconds, pages / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="passes per figure (median)")
    args = parser.parse_args(argv)
    settings = IndexerSettings()
    print(f"median of {args.passes} passes; {settings.extract_workers} workers")
    with Workers(settings) as workers:
        for name, root in SETS.items():
            if not root.is_dir():
                print(f"{name}: skipped, {root} not found (it sits beside the checkout in CI)")
                continue
            files = sorted(root.rglob("*.pdf"))
            through_workers(files[:1], root, workers)  # start the workers before timing
            figures = {
                "in process": [in_process(files) for _ in range(args.passes)],
                "workers": [through_workers(files, root, workers) for _ in range(args.passes)],
            }
            for label, runs in figures.items():
                pages, seconds, rate = median_rate(runs)
                print(
                    f"{name:15} {label:10} {len(files):3} files {pages:4} pages "
                    f"{seconds:6.2f} s {rate:7.1f} pages/s"
                )
    return 0


if __name__ == "__main__":  # workers are spawned: they import this file without running it
    sys.exit(main())
