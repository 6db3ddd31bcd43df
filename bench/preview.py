"""What a preview of the editors' draft costs against a normal search.

    python -m bench.preview [--passes 5]

The sample corpus is built into a temporary index; the sample site's judged queries are run
as the public search runs them (the live rule files; the response cache off, so every search
is computed) and as the console's preview runs them: the live answer and the draft's answer,
the draft being the shipped rules plus one synonym line. Prints, per way, the median and 95th
percentile of one request in milliseconds (median over passes), and the ratio of a preview to
a search.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.load import percentile
from indexer.build import build_index
from indexer.config import IndexerSettings
from search_api.editorial.rules import EditorialRules, RuleTexts
from search_api.engine.service import SearchRequest, SearchService

REPO = Path(__file__).resolve().parent.parent
QUERIES = [q["query"] for q in json.loads((REPO / "tests/relevance/queries.json").read_text())]
RULE_FILES = {
    "synonyms": REPO / "config/synonyms.txt",
    "best_bets": REPO / "config/best-bets.toml",
    "hidden": REPO / "config/hidden.toml",
    "stoplist": REPO / "config/suggest-stoplist.txt",
}


def timed(run: Callable[[str], object], passes: int) -> tuple[float, float]:
    """Median over passes of each pass's p50 and p95, in ms, for one request per query."""
    p50s, p95s = [], []
    for _ in range(passes):
        seconds = []
        for query in QUERIES:
            started = time.perf_counter()
            run(query)
            seconds.append(time.perf_counter() - started)
        p50s.append(percentile(seconds, 0.50) * 1000)
        p95s.append(percentile(seconds, 0.95) * 1000)
    return statistics.median(p50s), statistics.median(p95s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        index = Path(folder) / "index"
        build_index(IndexerSettings(corpus_dir=REPO / "corpus", index_dir=index))
        service = SearchService(
            index,
            synonyms_file=RULE_FILES["synonyms"],
            best_bets_file=RULE_FILES["best_bets"],
            hidden_file=RULE_FILES["hidden"],
            suggest_stoplist_file=RULE_FILES["stoplist"],
            cache_responses=False,
        )
        texts = {name: path.read_text(encoding="utf-8") for name, path in RULE_FILES.items()}
        texts["synonyms"] += "\nquokka => green plan\n"
        draft = EditorialRules.parse(RuleTexts.from_dict(texts))

        def search(query: str) -> object:
            return service.search(SearchRequest(q=query))

        def preview(query: str) -> object:
            request = SearchRequest(q=query)
            return service.search(request), service.search(request, rules=draft)

        timed(search, 1)  # warm: the version opened, its arrays read
        search_p50, search_p95 = timed(search, args.passes)
        preview_p50, preview_p95 = timed(preview, args.passes)
    print(f"{len(QUERIES)} queries, median of {args.passes} passes, ms per request")
    print(f"{'search':10} p50 {search_p50:7.2f}  p95 {search_p95:7.2f}")
    print(f"{'preview':10} p50 {preview_p50:7.2f}  p95 {preview_p95:7.2f}")
    ratios = preview_p50 / search_p50, preview_p95 / search_p95
    print(f"preview / search: p50 {ratios[0]:.2f}x  p95 {ratios[1]:.2f}x")


if __name__ == "__main__":
    main()
