"""Ranking quality on three collections, each beside a reference BM25 in the same run.

    python -m bench.relevance [--data DIR] [--no-ablation] [--sweep]

The reference is SQLite FTS5 (porter stemming, ``bm25()`` with the title weighted 2, the
query's words OR-ed) over each collection's clean text.

1. Sample site (``corpus/``, always present): the judged queries of
   ``tests/relevance/queries.json``. MRR@10 and success@1 for the "find this one page"
   queries, nDCG@10 for topic queries, the queries that find nothing, and every known item
   not ranked first.
2. nhs-pages (``nhs-pages/`` and ``article-extraction/`` in the shared data): real NHS pages
   rendered into two CMS templates with the 88 real news pages as distractors
   (``bench/nhs_pages.py``), built by ``blmk-index build`` without a site profile, served by
   ``blmk-serve`` and queried over HTTP. Odd-numbered queries are the ones parameters were
   tuned on, even-numbered ones are held out: both halves are printed.
3. Cranfield (``cranfield/``): nDCG@10 with graded gains and MAP over the top 100.

Then an ablation table: each component of the ranking (``search_api.engine.ranking``) switched off
(or, when off by default, on) in turn, with its effect on every collection. Collections whose
data is absent are skipped with a message. ``--sweep`` adds each parameter varied around
its default, on the figures it may be chosen by (not the held-out half).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from bench import nhs_pages
from bench.cranfield import (
    Cranfield,
    Fts5Reference,
    SearchFn,
    build_project_index,
    load_collection,
    project_search,
    shipped_service,
)
from indexer.build import build_index
from indexer.config import IndexerSettings
from search_api.engine.ranking import RankingSettings, RecencySettings
from search_api.engine.service import SearchRequest, SearchService

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
CORPUS = REPO / "corpus"
QUERIES = REPO / "tests" / "relevance" / "queries.json"
REFERENCE = "SQLite FTS5 porter bm25()"
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


def print_cranfield(cranfield: Cranfield, index_dir: Path) -> None:
    with closing(Fts5Reference(cranfield.abstracts)) as reference:
        engines = {
            "blmk-search": project_search(shipped_service(index_dir)),
            REFERENCE: reference.search,
        }
        rows = [
            (measure_engine(name, search, cranfield), median_ms(search, cranfield))
            for name, search in engines.items()
        ]
    print(
        f"## Cranfield: {len(cranfield.abstracts)} abstracts, {len(cranfield.questions)} "
        f"questions\nnDCG@{K}: gains 4/3/2/1 for codes 1-4. MAP: over the top {MAP_DEPTH} "
        f"retrieved, codes 1-4 relevant. ms/query: median for a first page of {K}.\n"
    )
    print(f"{'engine':28} {'nDCG@10':>8} {'MAP@100':>8} {'zero results':>12} {'ms/query':>9}")
    for figures, ms in rows:
        print(
            f"{figures.engine:28} {figures.ndcg_at_10:8.3f} {figures.map_at_100:8.3f} "
            f"{figures.zero_results:12d} {ms:9.2f}"
        )
    ours, reference_figures = (figures for figures, _ in rows)
    print(
        f"{'blmk-search / reference':28} "
        f"{_ratio(ours.ndcg_at_10, reference_figures.ndcg_at_10):>8} "
        f"{_ratio(ours.map_at_100, reference_figures.map_at_100):>8}\n"
    )


def cranfield_ndcg(cranfield: Cranfield, index_dir: Path, ranking: RankingSettings) -> float:
    """nDCG@10 alone (the first page of each question): for the ablation table."""
    search = project_search(shipped_service(index_dir, ranking))
    return mean(
        [
            ndcg_at_k(search(question, K), cranfield.gains.get(number, {}))
            for number, question in cranfield.questions.items()
        ]
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


# Ranked document ids for a typed query (a first page of ``K``), and how many it matched.
Ranker = Callable[[str], tuple[list[str], int]]


def service_ranker(service: SearchService) -> Ranker:
    def rank(query: str) -> tuple[list[str], int]:
        response = service.search(SearchRequest(q=query, per_page=K))
        return [hit["id"] for hit in response["results"]], response["total"]

    return rank


def reference_ranker(reference: Fts5Reference) -> Ranker:
    def rank(query: str) -> tuple[list[str], int]:
        ranked = reference.search(query, MAP_DEPTH)
        return ranked[:K], len(ranked)

    return rank


def measure_sample(
    service: SearchService | Ranker, queries: Sequence[JudgedQuery]
) -> SampleFigures:
    """Every query searched exactly as typed, first page of ``K``."""
    rank = service_ranker(service) if isinstance(service, SearchService) else service
    reciprocal, successes, ndcgs = [], [], []
    zero: list[str] = []
    misses: list[Miss] = []
    for judged in queries:
        ranked, total = rank(judged.query)
        if total == 0:
            zero.append(judged.query)
        if judged.kind == "topic":
            ndcgs.append(ndcg_at_k(ranked, judged.relevant))
            continue
        rr = reciprocal_rank(ranked, judged.relevant)
        reciprocal.append(rr)
        successes.append(success_at_1(ranked, judged.relevant))
        if rr < 1:
            wanted = max(judged.relevant, key=judged.relevant.__getitem__)
            rank_of = round(1 / rr) if rr else None
            misses.append(Miss(judged.query, wanted, rank_of, total))
    return SampleFigures(
        known_items=len(reciprocal),
        topics=len(ndcgs),
        mrr_at_10=mean(reciprocal),
        success_at_1=mean(successes),
        ndcg_at_10=mean(ndcgs),
        zero_results=tuple(zero),
        misses=tuple(misses),
    )


@dataclass(frozen=True, slots=True)
class IndexedText:
    """A document's clean text as the project extracted it, for the reference engine."""

    doc_id: str
    title: str
    text: str


def indexed_texts(service: SearchService) -> list[IndexedText]:
    """Every indexed document's title and body, as the reference reads the sample site."""
    version = service.current()
    with version.lock:
        return [
            IndexedText(doc_id=fields["id"], title=fields.get("title", ""), text=fields["body"])
            for fields in version.searcher.all_stored_fields()
        ]


def build_sample(index_dir: Path) -> None:
    build_index(IndexerSettings(corpus_dir=CORPUS, index_dir=index_dir))


def print_sample(queries: Sequence[JudgedQuery], index_dir: Path) -> None:
    service = shipped_service(index_dir)
    figures = measure_sample(service, queries)
    with closing(Fts5Reference(indexed_texts(service))) as reference:
        theirs = measure_sample(reference_ranker(reference), queries)
    print(
        f"## Sample site: {len(queries)} judged queries from {QUERIES.relative_to(REPO)} "
        f"({figures.known_items} known-item, {figures.topics} topic)\n"
    )
    print(f"{'':24} {'blmk-search':>11} {'reference':>10}")
    for label, ours, other in (
        ("known-item MRR@10", figures.mrr_at_10, theirs.mrr_at_10),
        ("known-item success@1", figures.success_at_1, theirs.success_at_1),
        ("topic nDCG@10", figures.ndcg_at_10, theirs.ndcg_at_10),
    ):
        print(f"{label:24} {ours:11.3f} {other:10.3f}")
    print(
        f"{'zero results':24} {len(figures.zero_results):11d} {len(theirs.zero_results):10d}\n"
        f"(targets: MRR@10 at least 0.90, no query without results)\n"
    )
    if figures.zero_results:
        print("Queries with no results:")
        for query in figures.zero_results:
            print(f"  {query!r}")
        print()
    if figures.misses:
        print(f"Known items not ranked first ({len(figures.misses)}):")
        for miss in figures.misses:
            print(f"  {miss.query!r:38} {miss.where:14} {miss.wanted}")
        print()


# --- nhs-pages: real pages through the whole pipeline ---------------------------------------


@dataclass(frozen=True, slots=True)
class HalfFigures:
    """One half of the nhs-pages queries, scored as its README says."""

    known_items: int
    topics: int
    mrr_at_10: float
    success_at_1: float
    ndcg_at_10: float
    # Each topic query's nDCG@10, in query order (for the interval around the ratio).
    topic_ndcgs: tuple[float, ...] = ()


HALVES = {"odd": "odd (tuned on)", "even": "even (held out)"}


def measure_nhs(
    rank: Callable[[str], list[str]], queries: Sequence[nhs_pages.JudgedQuery]
) -> dict[str, HalfFigures]:
    """Known items by MRR@10 and success@1, topics by nDCG@10 with binary gains; per half."""
    figures = {}
    for half in HALVES:
        reciprocal, successes, ndcgs = [], [], []
        for judged in (q for q in queries if q.half == half):
            ranked = rank(judged.query)[:K]
            if judged.kind == "topic":
                ndcgs.append(ndcg_at_k(ranked, dict.fromkeys(judged.relevant, 1)))
            else:
                reciprocal.append(reciprocal_rank(ranked, judged.relevant))
                successes.append(success_at_1(ranked, judged.relevant))
        figures[half] = HalfFigures(
            known_items=len(reciprocal),
            topics=len(ndcgs),
            mrr_at_10=mean(reciprocal),
            success_at_1=mean(successes),
            ndcg_at_10=mean(ndcgs),
            topic_ndcgs=tuple(ndcgs),
        )
    return figures


def bootstrap_ratio_interval(
    ours: Sequence[float], theirs: Sequence[float], rounds: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """The 95% interval of mean(ours) / mean(theirs) over the same queries resampled with
    replacement (a paired bootstrap): how far a half's ratio could move on other queries of
    the same kind. Eighteen queries make it wide."""
    a, b = np.asarray(ours, float), np.asarray(theirs, float)
    picks = np.random.default_rng(seed).integers(0, len(a), (rounds, len(a)))
    ratios = a[picks].mean(axis=1) / np.maximum(b[picks].mean(axis=1), 1e-12)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True, slots=True)
class NhsSite:
    """The rendered site, built into an index; each indexed id's page id."""

    index_dir: Path
    page_ids: dict[str, str]
    collection: nhs_pages.Collection


def build_nhs_site(collection: nhs_pages.Collection, workdir: Path) -> NhsSite:
    """Writes the site and builds it with ``blmk-index build`` as a new site's staff would:
    no site profile and no quality checks yet (the shipped ones are the sample site's), the
    command line of the installed package; its audit entry goes to the work folder."""
    corpus, index_dir = workdir / "site", workdir / "index"
    page_ids = nhs_pages.write_site(collection, corpus)
    subprocess.run(
        [_script("blmk-index"), "build", "--corpus", str(corpus), "--index", str(index_dir)],
        env=os.environ
        | {"BLMK_SITE_PROFILE": "", "BLMK_CHECKS": "", "BLMK_STATE_DIR": str(workdir / "state")},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return NhsSite(index_dir=index_dir, page_ids=page_ids, collection=collection)


def _script(name: str) -> str:
    """A console script of this environment (beside its Python)."""
    return str(Path(sys.executable).parent / name)


@contextmanager
def served(index_dir: Path) -> Iterator[str]:
    """``blmk-serve`` on a free loopback port, with the shipped synonyms and best bets."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [_script("blmk-serve"), "--index", str(index_dir), "--port", str(port)],
        cwd=REPO,
        # Searches only: no query counts into the checkout's var/, no admin API.
        env=os.environ
        | {"BLMK_ANALYTICS_FILE": "", "BLMK_HOST": "127.0.0.1", "BLMK_ADMIN_API": "off"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("blmk-serve did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def http_ranker(base: str, page_ids: Mapping[str, str]) -> Callable[[str], list[str]]:
    def rank(query: str) -> list[str]:
        address = f"{base}/search?" + urllib.parse.urlencode({"q": query, "per_page": K})
        with urllib.request.urlopen(address, timeout=30) as response:
            results = json.load(response)["results"]
        return [page_ids.get(hit["id"], hit["id"]) for hit in results]

    return rank


def nhs_ranker(site: NhsSite, ranking: RankingSettings | None = None) -> Callable[[str], list[str]]:
    """The same service in this process (for the ablation: no server per variant)."""
    rank = service_ranker(shipped_service(site.index_dir, ranking))
    return lambda query: [site.page_ids.get(doc_id, doc_id) for doc_id in rank(query)[0]]


def print_nhs(site: NhsSite) -> dict[str, HalfFigures]:
    collection = site.collection
    with served(site.index_dir) as base:
        ours = measure_nhs(http_ranker(base, site.page_ids), collection.queries)
    in_process = measure_nhs(nhs_ranker(site), collection.queries)
    with closing(Fts5Reference(collection.everything)) as reference:
        theirs = measure_nhs(lambda q: reference.search(q, K), collection.queries)
    print(
        f"## nhs-pages: {len(collection.pages)} real NHS pages in "
        f"{len(nhs_pages.TEMPLATES)} templates + {len(collection.distractors)} real news pages, "
        f"built by blmk-index (no site profile), queried over HTTP\n"
        "The reference reads the same pages' clean text. Targets per half: MRR@10 and "
        "success@1 at least the reference's, nDCG@10 at least 1.05 x.\n"
    )
    print(f"{'half':18} {'engine':28} {'MRR@10':>7} {'success@1':>9} {'nDCG@10':>8}")
    for half, label in HALVES.items():
        for engine, figures in (("blmk-search", ours), (REFERENCE, theirs)):
            f = figures[half]
            print(
                f"{label:18} {engine:28} {f.mrr_at_10:7.3f} {f.success_at_1:9.3f} "
                f"{f.ndcg_at_10:8.3f}"
            )
        a, b = ours[half], theirs[half]
        print(
            f"{'':18} {'blmk-search / reference':28} {_ratio(a.mrr_at_10, b.mrr_at_10):>7} "
            f"{_ratio(a.success_at_1, b.success_at_1):>9} {_ratio(a.ndcg_at_10, b.ndcg_at_10):>8}"
        )
        if a.topic_ndcgs:
            low, high = bootstrap_ratio_interval(a.topic_ndcgs, b.topic_ndcgs)
            wins = sum(x > y + 1e-9 for x, y in zip(a.topic_ndcgs, b.topic_ndcgs, strict=True))
            losses = sum(x < y - 1e-9 for x, y in zip(a.topic_ndcgs, b.topic_ndcgs, strict=True))
            print(
                f"{'':18} nDCG@10 ratio, 95% interval over its {a.topics} topic queries "
                f"(paired bootstrap): {low:.2f} to {high:.2f}; {wins} better, {losses} worse, "
                f"{a.topics - wins - losses} the same"
            )
    if in_process != ours:
        print("note: the same service in this process ranked differently from the server")
    print()
    return ours


# --- ablation -------------------------------------------------------------------------------


def _all_fields_equal(ranking: RankingSettings) -> RankingSettings:
    return replace(ranking, field_weights=dict.fromkeys(ranking.field_weights, 1.0))


def _toggle_proximity(ranking: RankingSettings) -> RankingSettings:
    return replace(ranking, proximity_boost=0.0 if ranking.proximity_boost else 0.5)


def _toggle_coverage(ranking: RankingSettings) -> RankingSettings:
    return replace(ranking, coverage_exponent=0.0 if ranking.coverage_exponent else 2.0)


# Each component and the settings without it (or with it, for those off by default).
ABLATIONS: dict[str, Callable[[RankingSettings], RankingSettings]] = {
    "coverage as a tier (all words first)": lambda r: replace(r, coverage_exponent=50.0),
    "coverage factor (exponent 0 <-> 2)": _toggle_coverage,
    "proximity bonus (0.5 <-> 0)": _toggle_proximity,
    "synonyms": lambda r: replace(r, synonym_weight=0.0),
    "synonyms counted as typed": lambda r: replace(r, synonym_weight=1.0),
    "synonym entry's words all required": lambda r: replace(r, partial_entry_weight=0.0),
    "spelling correction": lambda r: replace(r, correction_weight=0.0),
    "prefix expansion": lambda r: replace(r, expansion_weight=0.0),
    "recency (0 <-> 0.15)": lambda r: replace(
        r, recency=RecencySettings(weight=0.0 if r.recency.weight else 0.15)
    ),
    "field weights (all 1)": _all_fields_equal,
}


def print_ablation(
    nhs: NhsSite | None, cranfield: tuple[Cranfield, Path] | None, sample: Path
) -> None:
    queries = load_judged_queries()
    header = f"{'':38} {'odd MRR':>7} {'odd nDCG':>8} {'even MRR':>8} {'even nDCG':>9}"
    print("## Ablation: each component switched off (or on) in turn, in this process\n")
    print(f"{header} {'Cranfield':>9} {'sample MRR':>10} {'sample nDCG':>11}")
    for name, change in {"defaults": lambda r: r, **ABLATIONS}.items():
        ranking = change(RankingSettings())
        cells = []
        if nhs is not None:
            halves = measure_nhs(nhs_ranker(nhs, ranking), nhs.collection.queries)
            for half in HALVES:
                cells += [f"{halves[half].mrr_at_10:.3f}", f"{halves[half].ndcg_at_10:.3f}"]
        else:
            cells += ["-"] * 4
        cells.append(f"{cranfield_ndcg(*cranfield, ranking):.3f}" if cranfield else "-")
        sample_figures = measure_sample(shipped_service(sample, ranking), queries)
        cells += [f"{sample_figures.mrr_at_10:.3f}", f"{sample_figures.ndcg_at_10:.3f}"]
        widths = (7, 8, 8, 9, 9, 10, 11)
        print(f"{name:38} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    print()


def _fields(ranking: RankingSettings, table: str, name: str, value: float) -> RankingSettings:
    values = dict(getattr(ranking, table)) | {name: value}
    return replace(ranking, **{table: values})


# One parameter at a time around the defaults: what chose each default (--sweep).
SWEEP: dict[str, tuple[tuple[float, ...], Callable[[RankingSettings, float], RankingSettings]]] = {
    "k1": ((1.2, 2.0, 3.0, 4.5), lambda r, v: replace(r, k1=v)),
    "body b": ((0.75, 0.9, 1.0), lambda r, v: _fields(r, "field_b", "body", v)),
    "title weight": ((1.5, 3.0, 5.0, 8.0), lambda r, v: _fields(r, "field_weights", "title", v)),
    "summary weight": ((0.5, 1.5, 3.0), lambda r, v: _fields(r, "field_weights", "summary", v)),
    "synonym weight": ((0.3, 0.5, 0.7, 1.0), lambda r, v: replace(r, synonym_weight=v)),
    "correction weight": ((0.5, 0.8, 1.0), lambda r, v: replace(r, correction_weight=v)),
    "partial entry weight": (
        (0.0, 0.3, 0.5, 0.7),
        lambda r, v: replace(r, partial_entry_weight=v),
    ),
    "proximity boost": ((0.0, 0.5, 1.0, 2.0), lambda r, v: replace(r, proximity_boost=v)),
    "coverage exponent": ((0.0, 0.5, 1.0, 2.0), lambda r, v: replace(r, coverage_exponent=v)),
}


def print_sweep(
    nhs: NhsSite | None, cranfield: tuple[Cranfield, Path] | None, sample: Path
) -> None:
    """The figures parameters were chosen on: the odd half of nhs-pages, Cranfield and the
    sample site. The held-out even half is not shown here, so it cannot steer a choice."""
    queries = load_judged_queries()
    print("## Sweep: one parameter at a time around the defaults (even half not shown)\n")
    print(
        f"{'parameter':20} {'value':>6} {'odd MRR':>7} {'odd s@1':>7} {'odd nDCG':>8} "
        f"{'Cranfield':>9} {'sample MRR':>10} {'sample nDCG':>11}"
    )
    for name, (values, change) in SWEEP.items():
        for value in values:
            ranking = change(RankingSettings(), value)
            cells = ["-"] * 3
            if nhs is not None:
                odd = measure_nhs(nhs_ranker(nhs, ranking), nhs.collection.queries)["odd"]
                cells = [f"{odd.mrr_at_10:.3f}", f"{odd.success_at_1:.3f}", f"{odd.ndcg_at_10:.3f}"]
            cells.append(f"{cranfield_ndcg(*cranfield, ranking):.3f}" if cranfield else "-")
            figures = measure_sample(shipped_service(sample, ranking), queries)
            cells += [f"{figures.mrr_at_10:.3f}", f"{figures.ndcg_at_10:.3f}"]
            widths = (7, 7, 8, 9, 10, 11)
            print(
                f"{name:20} {value:6g} "
                + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
            )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument(
        "--no-ablation", action="store_true", help="skip the table of components switched off"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="also vary each parameter around its default"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="blmk-relevance-") as workdir:
        work = Path(workdir)
        build_sample(work / "sample")
        print_sample(load_judged_queries(), work / "sample")
        nhs = None
        if nhs_pages.available(args.data):
            nhs = build_nhs_site(nhs_pages.load_collection(args.data), work / "nhs")
            print_nhs(nhs)
        else:
            print(f"nhs-pages skipped: {args.data / 'nhs-pages'} is absent (the shared data)\n")
        cranfield = None
        if (args.data / "cranfield" / "cranqrel").is_file():
            collection = load_collection(args.data / "cranfield")
            build_project_index(collection.abstracts, work / "cranfield")
            cranfield = (collection, work / "cranfield")
            print_cranfield(*cranfield)
        else:
            print(f"Cranfield skipped: {args.data / 'cranfield'} is absent (the shared data)\n")
        if not args.no_ablation:
            print_ablation(nhs, cranfield, work / "sample")
        if args.sweep:
            print_sweep(nhs, cranfield, work / "sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
