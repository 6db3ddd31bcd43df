"""Quality gate: ranking may never get worse than the figures recorded here, on the judged
queries of the sample site, on the real NHS pages of ``nhs-pages`` (rendered, built and
searched through the whole pipeline) and on Cranfield (``python -m bench.relevance`` prints
them all, beside the reference BM25)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from bench import nhs_pages
from bench.cranfield import (
    Abstract,
    Fts5Reference,
    load_collection,
    lowercase_words_only,
    project_engine,
    read_gains,
    read_records,
)
from bench.relevance import (
    HalfFigures,
    NhsSite,
    SampleFigures,
    average_precision,
    bootstrap_ratio_interval,
    load_judged_queries,
    measure_engine,
    measure_nhs,
    measure_sample,
    ndcg_at_k,
    nhs_ranker,
    reciprocal_rank,
    success_at_1,
)
from indexer.build import build_index
from indexer.config import IndexerSettings
from search_api.engine.service import SearchService
from tests.conftest import CORPUS, SHARED_DATA, shared_data

pytestmark = pytest.mark.slow

# Floors: the figures measured on 2026-12-02 less a small margin (the ranking is deterministic,
# so one query ranked worse fails). Raise them whenever ranking improves, so the gain is kept;
# never lower them to let a change through.
# Sample site, measured: known-item MRR@10 0.919, success@1 0.864; topic nDCG@10 0.890; no
# query without results (targets: MRR@10 >= 0.90, none without results).
SAMPLE_FLOORS = {"mrr_at_10": 0.915, "success_at_1": 0.86, "ndcg_at_10": 0.885}
# nhs-pages, measured per half (odd: tuned on; even: held out): MRR@10 0.874 / 0.953,
# success@1 0.812 / 0.938, nDCG@10 0.876 / 0.806; the SQLite FTS5 reference
# scores MRR@10 0.847 / 0.914, success@1 0.781 / 0.875, nDCG@10 0.802 / 0.789.
NHS_FLOORS = {
    "odd": {"mrr_at_10": 0.87, "success_at_1": 0.81, "ndcg_at_10": 0.873},
    "even": {"mrr_at_10": 0.95, "success_at_1": 0.935, "ndcg_at_10": 0.803},
}
# Cranfield, measured: nDCG@10 0.384, MAP@100 0.316, no question without results; the SQLite
# FTS5 reference scores 0.362 and 0.295 in the same run (target: 1.05 x its nDCG@10).
CRANFIELD_FLOORS = {"ndcg_at_10": 0.382, "map_at_100": 0.314}
CRANFIELD_MOST_ZERO_RESULTS = 0

# Judged queries allowed to find nothing: none. Every judged query must find something.
KNOWN_ZERO_RESULTS: frozenset[str] = frozenset()


# --- the metrics, on hand-computed examples ------------------------------------------------


def test_ndcg_discounts_by_log2_of_rank_plus_one() -> None:
    gains = {"a": 3, "b": 2, "c": 1}
    # Ranked x, a, b: DCG = 0/1 + 3/log2(3) + 2/log2(4) = 1.8928 + 1 = 2.8928.
    # Best order a, b, c: 3/1 + 2/log2(3) + 1/log2(4) = 3 + 1.2619 + 0.5 = 4.7619.
    assert ndcg_at_k(["x", "a", "b"], gains) == pytest.approx(2.8928 / 4.7619, abs=1e-4)
    assert ndcg_at_k(["a", "b", "c", "x"], gains) == 1.0
    assert ndcg_at_k([], gains) == 0.0
    assert ndcg_at_k(["a"], {}) == 0.0


def test_ndcg_looks_at_the_first_k_only() -> None:
    ranked = [f"x{i}" for i in range(10)] + ["a"]
    assert ndcg_at_k(ranked, {"a": 3}) == 0.0
    # Twelve equally relevant documents: ten of them on the first page is the best possible.
    gains = {f"d{i}": 1 for i in range(12)}
    assert ndcg_at_k([f"d{i}" for i in range(10)], gains, k=10) == 1.0
    # k=2, ranked a, x: 3 / (3 + 2/log2(3)) = 3 / 4.2619.
    assert ndcg_at_k(["a", "x"], {"a": 3, "b": 2}, k=2) == pytest.approx(0.7039, abs=1e-4)


def test_average_precision_counts_relevant_documents_never_retrieved() -> None:
    # a at rank 1 (precision 1), b at rank 3 (precision 2/3), c never: (1 + 2/3) / 3 = 5/9.
    assert average_precision(["a", "x", "b", "y"], {"a", "b", "c"}) == pytest.approx(5 / 9)
    assert average_precision(["a", "b"], {"a", "b"}) == 1.0
    assert average_precision(["x", "a"], {"a"}) == 0.5
    assert average_precision([], {"a"}) == 0.0
    assert average_precision(["a"], set()) == 0.0


def test_reciprocal_rank_and_success_at_1() -> None:
    assert reciprocal_rank(["x", "y", "a"], {"a", "b"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["b", "a"], {"a", "b"}) == 1.0
    assert reciprocal_rank([f"x{i}" for i in range(10)] + ["a"], {"a"}) == 0.0
    assert reciprocal_rank(["x", "a"], {"a"}, k=1) == 0.0
    assert success_at_1(["a", "x"], {"a"}) == 1.0
    assert success_at_1(["x", "a"], {"a"}) == 0.0
    assert success_at_1([], {"a"}) == 0.0


def test_the_ratio_interval_brackets_the_ratio_and_narrows_with_agreement() -> None:
    assert bootstrap_ratio_interval([0.5] * 18, [0.5] * 18) == pytest.approx((1.0, 1.0))
    mixed_ours, mixed_theirs = [1.0, 0.2, 0.9, 0.4] * 5, [0.6, 0.5, 0.6, 0.5] * 5
    low, high = bootstrap_ratio_interval(mixed_ours, mixed_theirs)
    assert low < sum(mixed_ours) / sum(mixed_theirs) < high
    steady_low, steady_high = bootstrap_ratio_interval([0.9] * 20, [0.6] * 19 + [0.7])
    assert high - low > steady_high - steady_low
    assert steady_low > 1.0


# --- Cranfield files and the two engines, on a few hand-made abstracts ---------------------


def test_cranfield_files_are_read_by_record_and_judgements_become_gains(tmp_path: Path) -> None:
    (tmp_path / "docs").write_text(
        ".I 1\n.T\nwing in a\nslipstream .\n.A\nbrenckman,m.\n.W\nlift of a wing\n.I 2\n.T\n.W\n",
        encoding="ascii",
    )
    assert read_records(tmp_path / "docs") == [
        {"I": "1", "T": "wing in a slipstream .", "A": "brenckman,m.", "W": "lift of a wing"},
        {"I": "2", "T": "", "W": ""},
    ]
    (tmp_path / "qrels").write_text("1 184 2 \r\n1 29 1\n1 486 -1\n2 12 4\n", encoding="ascii")
    assert read_gains(tmp_path / "qrels") == {1: {"cran-184": 3, "cran-29": 4}, 2: {"cran-12": 1}}


def test_questions_are_searched_as_plain_words() -> None:
    question = 'what is (heat-transfer) "flow"? a* OR NOT b/c .'
    assert lowercase_words_only(question) == "what is heat transfer flow a or not b c"


ABSTRACTS = [
    Abstract(
        number=1, title="wing in a slipstream", text="lift increase of a wing in a slipstream"
    ),
    Abstract(number=2, title="shear flow", text="simple shear flow past a flat plate"),
    Abstract(number=3, title="heat transfer", text="heat transfer in a hypersonic boundary layer"),
]


def test_both_engines_answer_from_the_same_abstracts(tmp_path: Path) -> None:
    ours = project_engine(ABSTRACTS, tmp_path)
    with closing(Fts5Reference(ABSTRACTS)) as reference:
        for search in (ours, reference.search):
            assert search("slipstream (wing)?", 10) == ["cran-1"]
            assert search("heat-transfer", 10)[:1] == ["cran-3"]
            assert search("?", 10) == []


# --- the judged queries ---------------------------------------------------------------------


def test_the_judged_queries_are_well_formed() -> None:
    queries = load_judged_queries()
    assert len(queries) >= 60
    assert len({q.query for q in queries}) == len(queries), "a query is judged twice"
    known = [q for q in queries if q.kind == "known-item"]
    assert {q.kind for q in queries} == {"known-item", "topic"}
    assert 0.6 <= len(known) / len(queries) <= 0.75, "about two thirds find one page"
    missing = {doc_id for q in queries for doc_id in q.relevant if not (CORPUS / doc_id).is_file()}
    assert missing == set()
    assert [q.query for q in queries if not 1 <= len(q.query.split()) <= 5] == []
    assert [q.query for q in queries if not set(q.relevant.values()) <= {1, 2, 3}] == []
    # A known item is one page (grade 3), with at most a few equally good ones (grade 2).
    grades = {q.query: sorted(q.relevant.values()) for q in known}
    assert {query: g for query, g in grades.items() if g != [2] * (len(g) - 1) + [3]} == {}


@pytest.fixture(scope="module")
def sample_figures(service: SearchService) -> SampleFigures:
    return measure_sample(service, load_judged_queries())


def test_sample_site_ranking_stays_above_its_floors(sample_figures: SampleFigures) -> None:
    measured = {
        "mrr_at_10": sample_figures.mrr_at_10,
        "success_at_1": sample_figures.success_at_1,
        "ndcg_at_10": sample_figures.ndcg_at_10,
    }
    below = {
        name: round(value, 3) for name, value in measured.items() if value < SAMPLE_FLOORS[name]
    }
    assert below == {}


def test_no_query_finds_nothing_but_the_known_ones(sample_figures: SampleFigures) -> None:
    assert set(sample_figures.zero_results) - KNOWN_ZERO_RESULTS == set()
    judged = {q.query for q in load_judged_queries()}
    assert KNOWN_ZERO_RESULTS - judged == set(), "KNOWN_ZERO_RESULTS names a query not judged"


# --- Cranfield ------------------------------------------------------------------------------


def test_cranfield_ranking_stays_above_its_floors(tmp_path: Path) -> None:
    cranfield = load_collection(shared_data("cranfield"))
    assert (len(cranfield.abstracts), len(cranfield.questions)) == (1400, 225)
    search = project_engine(cranfield.abstracts, tmp_path)
    figures = measure_engine("blmk-search", search, cranfield)
    measured = {"ndcg_at_10": figures.ndcg_at_10, "map_at_100": figures.map_at_100}
    below = {
        name: round(value, 3) for name, value in measured.items() if value < CRANFIELD_FLOORS[name]
    }
    assert below == {}
    assert figures.zero_results <= CRANFIELD_MOST_ZERO_RESULTS


# --- nhs-pages --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nhs_site(tmp_path_factory: pytest.TempPathFactory) -> NhsSite:
    """The rendered NHS pages and distractors, built as an unfamiliar site (no profile)."""
    shared_data("nhs-pages")
    shared_data("article-extraction")
    collection = nhs_pages.load_collection(SHARED_DATA)
    work = tmp_path_factory.mktemp("nhs-pages")
    page_ids = nhs_pages.write_site(collection, work / "site")
    settings = IndexerSettings(
        corpus_dir=work / "site", index_dir=work / "index", site_profile=None
    )
    build_index(settings)
    return NhsSite(index_dir=settings.index_dir, page_ids=page_ids, collection=collection)


@pytest.fixture(scope="module")
def nhs_figures(nhs_site: NhsSite) -> dict[str, HalfFigures]:
    return measure_nhs(nhs_ranker(nhs_site), nhs_site.collection.queries)


@pytest.mark.parametrize("half", ["odd", "even"])
def test_nhs_pages_ranking_stays_above_its_floors(
    nhs_figures: dict[str, HalfFigures], half: str
) -> None:
    figures = nhs_figures[half]
    assert (figures.known_items, figures.topics) == (32, 18)
    measured = {
        "mrr_at_10": figures.mrr_at_10,
        "success_at_1": figures.success_at_1,
        "ndcg_at_10": figures.ndcg_at_10,
    }
    floors = NHS_FLOORS[half]
    below = {name: round(value, 3) for name, value in measured.items() if value < floors[name]}
    assert below == {}
