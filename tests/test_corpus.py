"""The sample corpus is what the project promises: its size, spread and generated files."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from tests.conftest import CORPUS, REPO

SOURCE = REPO / "corpus-src"


def test_news_articles_span_2019_to_2026() -> None:
    news = sorted((CORPUS / "news").glob("*.html"))
    assert len(news) >= 40
    assert {int(p.name[:4]) for p in news} == set(range(2019, 2027))


def test_standing_pages() -> None:
    assert len(list((CORPUS / "pages").glob("*.html"))) >= 8


def test_case_studies_fill_every_scope_and_theme_with_2_to_12_pages() -> None:
    studies = sorted((CORPUS / "case-studies").rglob("*.pdf"))
    assert len(studies) >= 12
    folders = {p.parent.relative_to(CORPUS / "case-studies").as_posix() for p in studies}
    assert folders == {
        f"{scope}/{theme}"
        for scope in ("local", "national")
        for theme in ("resilient-communities", "care-alternatives", "working-in-partnership")
    }
    for study in studies:
        assert 2 <= len(PdfReader(study).pages) <= 12, study.name


def test_documents() -> None:
    assert len(list((CORPUS / "documents").glob("*.pdf"))) >= 4


def _generated_name(source: Path) -> str:
    relative = source.relative_to(SOURCE)
    suffix = ".html" if relative.parts[0] in ("news", "pages") else ".pdf"
    return relative.with_suffix(suffix).as_posix()


def test_every_source_has_its_generated_file_and_nothing_else_is_there() -> None:
    expected = {_generated_name(p) for p in SOURCE.rglob("*.txt")}
    generated = {
        p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.suffix in (".html", ".pdf")
    }
    assert generated == expected


def test_corpus_stays_small() -> None:
    assert sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()) < 5 * 1024 * 1024


def test_sidecars_are_copied_beside_their_pdfs_unchanged() -> None:
    sources = sorted(SOURCE.rglob("*.pdf.json"))
    assert sources, "the corpus shows a sidecar in use"
    for source in sources:
        copy = CORPUS / source.relative_to(SOURCE)
        assert copy.read_bytes() == source.read_bytes()
        assert copy.with_suffix("").is_file(), f"{copy.name} sits beside no PDF"
