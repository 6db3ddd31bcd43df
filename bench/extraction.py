"""Main-content extraction measured on real news pages, with baselines from the same run.

    python -m bench.extraction [--data DIR] [--passes N]

Reads ``article-extraction/`` (88 pages with the article text a person marked) and prints
precision, recall and F1 with that benchmark's rule, and pages per second (median of the
passes), for the indexer's HTML extractor and for two baselines: trafilatura with its default
settings, and the whole page's text.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trafilatura
from bs4 import BeautifulSoup

from indexer.config import IndexerSettings
from indexer.errors import ExtractionError
from indexer.extract.html import extract_html
from indexer.extract.profile import cached_profile

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    pages: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def load_pages(folder: Path) -> list[tuple[bytes, str]]:
    """Each page's HTML bytes with the article text a person marked in it."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        (
            gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes()),
            item["articleBody"],
        )
        for page_id, item in sorted(truth.items())
    ]


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    words = _WORD.findall(text)
    return Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))


def page_scores(predicted: str, expected: str) -> tuple[float, float]:
    """Precision and recall of one page over 4-word shingles (multisets)."""
    got, wanted = _shingles(predicted), _shingles(expected)
    true_pos = sum((got & wanted).values())
    false_pos = sum((got - wanted).values())
    false_neg = sum((wanted - got).values())
    if true_pos + false_pos + false_neg == 0:
        return 1.0, 1.0
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    return precision, recall


def score(extract: Callable[[bytes], str], pages: list[tuple[bytes, str]]) -> Scores:
    """Precision and recall averaged over pages; F1 is the harmonic mean of the averages."""
    results = [page_scores(extract(html), expected) for html, expected in pages]
    return Scores(
        precision=statistics.fmean(p for p, _ in results),
        recall=statistics.fmean(r for _, r in results),
        pages=len(results),
    )


def indexer_extractor() -> Callable[[bytes], str]:
    """The extractor exactly as a build runs it, default site profile included."""
    settings = IndexerSettings()
    profile = cached_profile(settings.site_profile) if settings.site_profile else None

    def extract(data: bytes) -> str:
        try:
            return extract_html(data, profile).body
        except ExtractionError:
            return ""

    return extract


EXTRACTORS: dict[str, Callable[[], Callable[[bytes], str]]] = {
    "blmk-search indexer": indexer_extractor,
    "trafilatura defaults": lambda: lambda data: trafilatura.extract(data) or "",
    "whole page get_text()": lambda: lambda data: BeautifulSoup(data, "lxml").get_text(" "),
}


def pages_per_second(extract: Callable[[bytes], str], pages: list[tuple[bytes, str]]) -> float:
    started = time.perf_counter()
    for html, _ in pages:
        extract(html)
    return len(pages) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--passes", type=int, default=3, help="timed passes (median is shown)")
    args = parser.parse_args(argv)
    folder = args.data / "article-extraction"
    if not (folder / "ground-truth.json").is_file():
        print(f"skipped: {folder} is absent (the shared benchmark data)", file=sys.stderr)
        return 0
    pages = load_pages(folder)
    print(f"{len(pages)} pages from {folder}; speed is the median of {args.passes} passes\n")
    print(f"{'extractor':24} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8} {'× ours':>7}")
    rows = []
    for name, make in EXTRACTORS.items():
        extract = make()
        scores = score(extract, pages)
        speed = statistics.median(pages_per_second(extract, pages) for _ in range(args.passes))
        rows.append((name, scores, speed))
    baseline = rows[0][2]
    for name, scores, speed in rows:
        print(
            f"{name:24} {scores.precision:9.3f} {scores.recall:7.3f} {scores.f1:6.3f} "
            f"{speed:8.1f} {speed / baseline:7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
