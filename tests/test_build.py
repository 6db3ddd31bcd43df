"""Full builds: every file indexed or reported, and the live index never damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from indexer.build import BuildError, BuildReport, build_index
from indexer.config import IndexerSettings
from indexer.store import IndexStore
from search_api.search import SearchRequest, SearchService
from tests.conftest import CORPUS, blank_pdf, html_page, shared_data, write_corpus

ARTICLE = (
    "<p>" + "Community pharmacies across Bedford now offer blood pressure checks. " * 3 + "</p>"
)


def test_the_sample_corpus_builds_completely(corpus_build: BuildReport) -> None:
    expected = len([p for p in CORPUS.rglob("*") if p.suffix in (".html", ".pdf")])
    assert corpus_build.indexed == expected
    assert corpus_build.skipped == []
    assert corpus_build.flagged == []


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "good.html": html_page("Pharmacy checks", ARTICLE),
            "empty.html": "",
            "broken.pdf": b"%PDF-1.7\n1 0 obj garbage",
            "notes.txt": "ignored: not HTML or PDF",
        },
    )
    report = build_index(IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    assert report.indexed == 1
    assert {(s.path, s.code) for s in report.skipped} == {
        ("empty.html", "empty"),
        ("broken.pdf", "corrupt"),
    }


def test_a_failed_build_leaves_the_published_index_alone(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Pharmacy checks", ARTICLE)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = build_index(settings)
    (corpus / "a.html").write_text("")  # now nothing in the corpus can be indexed
    with pytest.raises(BuildError, match="nothing published"):
        build_index(settings)
    store = IndexStore(settings.index_dir)
    assert store.current() is not None and store.current().name == first.version
    assert [v.name for v in store.versions()] == [first.version]
    total = SearchService(settings.index_dir).search(SearchRequest(q="pharmacy"))["total"]
    assert total == 1


def test_any_folder_layout_is_indexed_with_types_from_the_files(tmp_path: Path) -> None:
    dated = '<meta property="article:published_time" content="2024-02-01">'
    corpus = write_corpus(
        tmp_path / "uploads",
        {
            "misc/story.html": html_page("Pharmacy story", ARTICLE, dated),
            "misc/about.html": html_page("About the pharmacy service", ARTICLE),
            "report.pdf": (
                CORPUS / "documents" / "board-paper-green-plan-refresh.pdf"
            ).read_bytes(),
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert build_index(settings).indexed == 3
    service = SearchService(settings.index_dir)
    facets = service.search(SearchRequest())["facets"]
    assert {f["value"]: f["count"] for f in facets["type"]} == {"news": 1, "page": 1, "document": 1}


def test_old_versions_are_pruned(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"a.html": html_page("Pharmacy checks", ARTICLE)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index", keep_versions=2)
    versions = [build_index(settings).version for _ in range(4)]
    assert [v.name for v in IndexStore(settings.index_dir).versions()] == versions[-2:]


def test_a_build_over_real_pdfs_reports_each_failure_and_publishes(tmp_path: Path) -> None:
    samples = shared_data("pdf-samples")
    corpus = tmp_path / "corpus"
    shutil.copytree(samples, corpus / "documents", ignore=shutil.ignore_patterns("*.json"))
    report_pdf = (CORPUS / "documents" / "draft-green-plan-2025.pdf").read_bytes()
    write_corpus(
        corpus,
        {
            "documents/truncated-upload.pdf": report_pdf[: len(report_pdf) // 2],
            "documents/corrupt.pdf": b"%PDF-1.4\n" + bytes(range(256)) * 40,
        },
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = build_index(settings)
    assert report.indexed == 29
    assert {(s.path, s.code) for s in report.skipped} == {
        ("documents/005-libreoffice-writer-password/libreoffice-writer-password.pdf", "encrypted"),
        ("documents/017-unreadable-meta-data/unreadablemetadata.pdf", "corrupt"),
        ("documents/truncated-upload.pdf", "corrupt"),
        ("documents/corrupt.pdf", "corrupt"),
    }
    assert all(s.message for s in report.skipped)
    assert len(report.flagged) == 5
    assert all(f.notes[0].startswith("no text layer") for f in report.flagged)
    info = IndexStore(settings.index_dir).build_info(settings.index_dir / report.version)
    assert info["indexed"] == 29 and len(info["skipped"]) == 4
    assert {f["path"] for f in info["flagged"]} == {f.path for f in report.flagged}
    service = SearchService(settings.index_dir)
    found = service.search(SearchRequest(q="Zusammenhangskomponente"))["results"]
    assert [hit["id"] for hit in found] == [
        "documents/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf"
    ]
    scanned = service.document("documents/019-grayscale-image/grayscale-image.pdf")
    assert scanned is not None and scanned["title"] == "Grayscale image"
    assert scanned["page_count"] == 1


def test_page_count_counts_pages_without_text(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"documents/scan.pdf": blank_pdf(4)})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    report = build_index(settings)
    assert report.indexed == 1 and [f.path for f in report.flagged] == ["documents/scan.pdf"]
    stored = SearchService(settings.index_dir).document("documents/scan.pdf")
    assert stored is not None and stored["page_count"] == 4
    build_json = json.loads((settings.index_dir / report.version / "build.json").read_text())
    assert build_json["flagged"] == [
        {"path": "documents/scan.pdf", "notes": report.flagged[0].notes}
    ]
