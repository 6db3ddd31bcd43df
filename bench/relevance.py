"""Ranking quality: Cranfield beside a reference BM25, and judged queries on the sample site.

    python -m bench.relevance [--data DIR]

Cranfield (``cranfield/`` in the shared data): nDCG@10 with graded gains and MAP over the top
100 retrieved, for the project's search and for SQLite FTS5 (porter, ``bm25()``) over the same
abstracts, in the same run. Skipped with a message when the folder is absent.

Sample site (``corpus/``, always present): the judged queries of ``tests/relevance/queries.json``
(see the README beside it). MRR@10 and success@1 for the "find this one page" queries, nDCG@10
for topic queries, the queries that find nothing, and every known item not ranked first.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.cranfield import (
    Cranfield,
    Fts5Reference,
    SearchFn,
    load_collection,
    project_engine,
    shipped_service,
)
from indexer.build import build_index
from indexer.config import IndexerSettings
from search_api.search import SearchRequest, SearchService

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
CORPUS = REPO / "corpus"
QUERIES = REPO / "tests" / "relevance" / "queries.json"
# Cutoff of every rank metric: one page of results.
K = 10
# MAP reads this deep into each ranking.
MAP_DEPTH = 100

Kind = Literal["known-item", "topic"]


# --- metrics --------------------------------------------------------------------------------


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain, ranks counted from 1: gain / log2(rank + 1)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], gains: Mapping[str, float], k: int = K) -> float:
    """DCG of the first ``k`` results over the best DCG the judgements allow (0 if none)."""
    best = dcg(sorted((g for g in gains.values() if g > 0), reverse=True)[:k])
    if best == 0:
        return 0.0
    return dcg([gains.get(doc_id, 0) for doc_id in ranked[:k]]) / best


def average_precision(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """Precision at each relevant result's rank, summed, over all relevant documents (retrieved
    or not), so a ranking that misses relevant documents is marked down."""
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for rank, doc_id in enumerate(ranked, start=1):
        if doc_id in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str], k: int = K) -> float:
    """1 / rank of the first relevant result within the first ``k``; 0 if there is none."""
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def success_at_1(ranked: Sequence[str], relevant: Collection[str]) -> float:
    return 1.0 if ranked and ranked[0] in relevant else 0.0


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


# --- Cranfield ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineFigures:
    engine: str
    ndcg_at_10: float
    map_at_100: float
    zero_results: int


def measure_engine(name: str, search: SearchFn, cranfield: Cranfield) -> EngineFigures:
    """Each question's ranking read ``MAP_DEPTH`` deep; nDCG@10 scores its first ``K``."""
    ndcgs, precisions, zero = [], [], 0
    for number, question in cranfield.questions.items():
        gains = cranfield.gains.get(number, {})
        ranked = search(question, MAP_DEPTH)
        zero += not ranked
        ndcgs.append(ndcg_at_k(ranked, gains))
        precisions.append(average_precision(ranked, gains.keys()))
    return EngineFigures(
        engine=name,
        ndcg_at_10=mean(ndcgs),
        map_at_100=mean(precisions),
        zero_results=zero,
    )


def median_ms(search: SearchFn, cranfield: Cranfield) -> float:
    """Median time to answer a first page of ``K`` results, as a visitor would ask for it."""
    times = []
    for question in cranfield.questions.values():
        started = time.perf_counter()
        search(question, K)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def print_cranfield(folder: Path) -> None:
    if not (folder / "cranqrel").is_file():
        print(f"Cranfield skipped: {folder} is absent (the shared benchmark data)\n")
        return
    cranfield = load_collection(folder)
    with (
        tempfile.TemporaryDirectory(prefix="blmk-cranfield-") as workdir,
        closing(Fts5Reference(cranfield.abstracts)) as reference,
    ):
        engines = {
            "blmk-search": project_engine(cranfield.abstracts, Path(workdir)),
            "SQLite FTS5 porter bm25()": reference.search,
        }
        rows = [
            (measure_engine(name, search, cranfield), median_ms(search, cranfield))
            for name, search in engines.items()
        ]
    print(
        f"Cranfield: {len(cranfield.abstracts)} abstracts, {len(cranfield.questions)} questions "
        f"from {folder}\nnDCG@{K}: gains 4/3/2/1 for codes 1-4. MAP: over the top {MAP_DEPTH} "
        f"retrieved, codes 1-4 relevant. ms/query: median for a first page of {K}.\n"
    )
    print(f"{'engine':26} {'nDCG@10':>8} {'MAP@100':>8} {'zero results':>12} {'ms/query':>9}")
    for figures, ms in rows:
        print(
            f"{figures.engine:26} {figures.ndcg_at_10:8.3f} {figures.map_at_100:8.3f} "
            f"{figures.zero_results:12d} {ms:9.2f}"
        )
    ours, reference_figures = (figures for figures, _ in rows)
    print(
        f"{'blmk-search / reference':26} "
        f"{_ratio(ours.ndcg_at_10, reference_figures.ndcg_at_10):>8} "
        f"{_ratio(ours.map_at_100, reference_figures.map_at_100):>8}\n"
    )


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "-"


# --- the sample site's judged queries -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JudgedQuery:
    query: str
    kind: Kind
    # Document id (its path in corpus/) to grade: 3 highly relevant, 2 relevant, 1 partly.
    relevant: dict[str, int]


@dataclass(frozen=True, slots=True)
class Miss:
    """A known-item query whose page was not ranked first."""

    query: str
    wanted: str
    # Rank of the first judged page within the first page of results; None if not there.
    rank: int | None
    total: int

    @property
    def where(self) -> str:
        if not self.total:
            return "no results"
        return f"rank {self.rank}" if self.rank else f"not in top {K}"


@dataclass(frozen=True, slots=True)
class SampleFigures:
    known_items: int
    topics: int
    mrr_at_10: float
    success_at_1: float
    ndcg_at_10: float
    zero_results: tuple[str, ...]
    misses: tuple[Miss, ...]


def load_judged_queries(path: Path = QUERIES) -> list[JudgedQuery]:
    return [
        JudgedQuery(query=item["query"], kind=item["kind"], relevant=dict(item["relevant"]))
        for item in json.loads(path.read_text(encoding="utf-8"))
    ]


def measure_sample(service: SearchService, queries: Sequence[JudgedQuery]) -> SampleFigures:
    """Every query searched exactly as typed, first page of ``K``."""
    reciprocal, successes, ndcgs = [], [], []
    zero: list[str] = []
    misses: list[Miss] = []
    for judged in queries:
        response = service.search(SearchRequest(q=judged.query, per_page=K))
        ranked = [hit["id"] for hit in response["results"]]
        if response["total"] == 0:
            zero.append(judged.query)
        if judged.kind == "topic":
            ndcgs.append(ndcg_at_k(ranked, judged.relevant))
            continue
        rr = reciprocal_rank(ranked, judged.relevant)
        reciprocal.append(rr)
        successes.append(success_at_1(ranked, judged.relevant))
        if rr < 1:
            wanted = max(judged.relevant, key=judged.relevant.__getitem__)
            rank = round(1 / rr) if rr else None
            misses.append(Miss(judged.query, wanted, rank, response["total"]))
    return SampleFigures(
        known_items=len(reciprocal),
        topics=len(ndcgs),
        mrr_at_10=mean(reciprocal),
        success_at_1=mean(successes),
        ndcg_at_10=mean(ndcgs),
        zero_results=tuple(zero),
        misses=tuple(misses),
    )


def print_sample(queries: Sequence[JudgedQuery]) -> None:
    with tempfile.TemporaryDirectory(prefix="blmk-sample-") as workdir:
        build_index(IndexerSettings(corpus_dir=CORPUS, index_dir=Path(workdir)))
        figures = measure_sample(shipped_service(Path(workdir)), queries)
    print(
        f"Sample site: {len(queries)} judged queries from {QUERIES.relative_to(REPO)} "
        f"({figures.known_items} known-item, {figures.topics} topic)\n"
    )
    print(f"{'known-item MRR@10':22} {figures.mrr_at_10:6.3f}   (target: at least 0.90)")
    print(f"{'known-item success@1':22} {figures.success_at_1:6.3f}")
    print(f"{'topic nDCG@10':22} {figures.ndcg_at_10:6.3f}")
    print(f"{'zero results':22} {len(figures.zero_results):6d}   (target: none)\n")
    if figures.zero_results:
        print("Queries with no results:")
        for query in figures.zero_results:
            print(f"  {query!r}")
        print()
    if figures.misses:
        print(f"Known items not ranked first ({len(figures.misses)}):")
        for miss in figures.misses:
            print(f"  {miss.query!r:38} {miss.where:14} {miss.wanted}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    print_cranfield(args.data / "cranfield")
    print_sample(load_judged_queries())
    return 0


if __name__ == "__main__":
    sys.exit(main())
