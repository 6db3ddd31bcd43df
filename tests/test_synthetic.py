"""The synthetic site generator (bench/synthetic.py): same seed, same bytes; the site's layout;
a real build that indexes every file; queries that find documents.

PDFs need fpdf2 (the dev extra). Without it the same tests run on the HTML pages and check
that the PDFs were left out with a note.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from importlib.util import find_spec
from pathlib import Path

import pytest

from bench.synthetic import NO_FPDF, SiteStats, generate_site, query_sets, ranked_words
from indexer.build import BuildReport, build_index
from indexer.config import IndexerSettings
from search_api.engine.service import SearchRequest, SearchService

pytestmark = pytest.mark.slow

HAVE_FPDF = find_spec("fpdf") is not None
needs_fpdf = pytest.mark.skipif(not HAVE_FPDF, reason="fpdf2 (the dev extra) is not installed")
NEWS_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-[a-z0-9]+(-[a-z0-9]+)*\.html")
PUBLISHED = re.compile(r'"article:published_time" content="(\d{4}-\d{2}-\d{2})T')
PDF_FOLDERS = {
    f"case-studies/{scope}/{theme}"
    for scope in ("local", "national")
    for theme in ("resilient-communities", "care-alternatives", "working-in-partnership")
} | {"documents"}


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SiteStats]:
    out = tmp_path_factory.mktemp("small") / "site"
    return out, generate_site(out, pages=30, pdfs=2, seed=7)


def test_the_same_seed_gives_the_same_bytes(
    small_site: tuple[Path, SiteStats], tmp_path: Path
) -> None:
    first, _ = small_site
    generate_site(tmp_path / "again", pages=30, pdfs=2, seed=7)
    before, after = files(first), files(tmp_path / "again")
    assert sorted(before) == sorted(after)
    assert [name for name in before if before[name] != after[name]] == []


def test_another_seed_gives_another_site(
    small_site: tuple[Path, SiteStats], tmp_path: Path
) -> None:
    generate_site(tmp_path / "other", pages=30, pdfs=0, seed=8)
    first, other = files(small_site[0]), files(tmp_path / "other")
    assert not set(first) & set(other)


def test_the_layout_is_the_sites(small_site: tuple[Path, SiteStats]) -> None:
    out, stats = small_site
    written = files(out)
    news = [name for name in written if name.startswith("news/")]
    pages = [name for name in written if name.startswith("pages/")]
    pdfs = [name for name in written if name.endswith(".pdf")]
    assert (len(news), len(pages)) == (stats.news, stats.pages) == (21, 9)
    assert len(pdfs) == stats.pdfs == (2 if HAVE_FPDF else 0)
    assert stats.notes == (() if HAVE_FPDF else (NO_FPDF,))
    assert len(written) == stats.files
    assert sum(map(len, written.values())) == stats.total_bytes
    for name in news:
        match = NEWS_NAME.fullmatch(name.removeprefix("news/"))
        assert match, name
        day = date.fromisoformat(match[1])
        assert date(2019, 1, 1) <= day <= date(2026, 12, 31)
        assert PUBLISHED.findall(written[name].decode()) == [match[1]]
    assert all(name.count("/") == 1 and name.endswith(".html") for name in pages)
    assert {name.rsplit("/", 1)[0] for name in pdfs} <= PDF_FOLDERS


def test_a_folder_in_use_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_site(tmp_path, pages=1)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteStats, BuildReport, Path]:
    root = tmp_path_factory.mktemp("built")
    stats = generate_site(root / "site", pages=60, pdfs=3)
    settings = IndexerSettings(corpus_dir=root / "site", index_dir=root / "index")
    return stats, build_index(settings), settings.index_dir


def test_every_file_is_indexed(built: tuple[SiteStats, BuildReport, Path]) -> None:
    stats, report, index_dir = built
    assert (report.indexed, report.skipped, report.flagged) == (stats.files, [], [])
    facets = SearchService(index_dir).search(SearchRequest())["facets"]
    types = {f["value"]: f["count"] for f in facets["type"]}
    assert (types.pop("news"), types.pop("page")) == (42, 18)
    assert sum(types.values()) == stats.pdfs
    years = {int(f["value"]) for f in facets["year"]}
    assert years and min(years) >= 2019 and max(years) <= 2026


@needs_fpdf
def test_pdfs_are_read_as_written(built: tuple[SiteStats, BuildReport, Path]) -> None:
    stats, _, index_dir = built
    service = SearchService(index_dir)
    found = service.search(SearchRequest(filters={"type": ("case-study", "document")}))
    assert found["total"] == stats.pdfs
    documents = [service.document(hit["id"]) for hit in found["results"]]
    assert all(doc and 2 <= doc["page_count"] <= 12 and doc["date"] for doc in documents)
    assert sum(doc["page_count"] for doc in documents if doc) == stats.pdf_pages


def test_popular_queries_find_documents(built: tuple[SiteStats, BuildReport, Path]) -> None:
    service = SearchService(built[2])
    commonest = [query for query, _ in Counter(query_sets().popular).most_common(5)]
    totals = {query: service.search(SearchRequest(q=query))["total"] for query in commonest}
    assert all(totals.values()), totals


def test_query_sets_look_like_site_search_traffic() -> None:
    sets = query_sets(3, searches=2000, distinct=300, unseen=400)
    assert sets == query_sets(3, searches=2000, distinct=300, unseen=400)
    counts = Counter(sets.popular)
    assert len(sets.popular) == 2000
    assert 200 <= len(counts) <= 450  # most of the pool of 300, and the odd typing mistake
    assert sum(n for _, n in counts.most_common(10)) > 0.4 * len(sets.popular)
    assert len(sets.unseen) == len(set(sets.unseen)) == 400
    assert not set(sets.unseen) & set(counts)
    known = ranked_words(3).known
    queries = sets.popular + sets.unseen
    assert all(1 <= len(query.split()) <= 3 for query in queries)
    typos = [q for q in queries if any(word not in known for word in q.split())]
    assert 0.02 < len(typos) / len(queries) < 0.09
