"""Incremental update measured: a full build, then `update` after touching one file and after
changing one file, on the sample corpus and on a generated site.

    python -m bench.update [--pages 10000] [--pdfs 100]

Prints seconds for each step and the ratio of one-file update to full build.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.synthetic import generate_site
from indexer.build import build_index, update_index
from indexer.config import IndexerSettings

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def measure(name: str, corpus: Path, workdir: Path) -> None:
    settings = IndexerSettings(corpus_dir=corpus, index_dir=workdir / "index")
    started = time.perf_counter()
    full = build_index(settings)
    full_seconds = time.perf_counter() - started
    target = sorted(corpus.rglob("*.html"))[len(full.skipped) % 7]
    target.touch()
    started = time.perf_counter()
    touched = update_index(settings)
    touched_seconds = time.perf_counter() - started
    target.write_bytes(target.read_bytes().replace(b"</p>", b" Updated.</p>", 1))
    started = time.perf_counter()
    changed = update_index(settings)
    changed_seconds = time.perf_counter() - started
    print(
        f"{name:24} {full.indexed:7} docs  full build {full_seconds:7.2f} s  "
        f"touch 1 file: update {touched_seconds:5.2f} s (read {touched.read})  "
        f"change 1 file: update {changed_seconds:5.2f} s (read {changed.read}, "
        f"changed {changed.changed})  ratio {changed_seconds / full_seconds:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000, help="generated HTML pages")
    parser.add_argument("--pdfs", type=int, default=100, help="generated PDFs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="blmk-update-") as tmp:
        work = Path(tmp)
        shutil.copytree(CORPUS, work / "sample")
        measure("sample corpus", work / "sample", work / "sample-run")
        generate_site(work / "site", pages=args.pages, pdfs=args.pdfs)
        measure(f"generated {args.pages} pages", work / "site", work / "site-run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
