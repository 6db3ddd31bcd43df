"""PDF extraction: page texts and metadata from real PDFs, each failure reported by code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.build import Skipped, extract_all
from indexer.config import IndexerSettings
from indexer.errors import CorruptFile, UnsupportedFile
from indexer.extract import extract_file
from tests.conftest import CORPUS, shared_data

SETTINGS = IndexerSettings()
DRAFT_PLAN = CORPUS / "documents" / "draft-green-plan-2025.pdf"


def test_corpus_pdf_pages_and_metadata() -> None:
    doc = extract_file(DRAFT_PLAN, SETTINGS, CORPUS)
    assert doc.type == "document"
    assert doc.title.startswith("Draft BLMK ICS Green Plan")
    assert doc.date is not None and doc.date.isoformat() == "2025-03-12"
    assert [page.number for page in doc.pages] == list(range(1, len(doc.pages) + 1))
    assert len(doc.pages) >= 10
    assert all(page.text for page in doc.pages)
    assert doc.summary  # from the PDF's subject


def test_case_study_facets_come_from_its_folders() -> None:
    path = next((CORPUS / "case-studies" / "national" / "care-alternatives").glob("*.pdf"))
    doc = extract_file(path, SETTINGS, CORPUS)
    assert (doc.type, doc.scope, doc.topics) == ("case-study", "national", ["Care alternatives"])


def test_truncated_pdf_is_reported_as_corrupt(tmp_path: Path) -> None:
    truncated = tmp_path / "upload.pdf"
    truncated.write_bytes(DRAFT_PLAN.read_bytes()[:2000])
    with pytest.raises(CorruptFile):
        extract_file(truncated, SETTINGS, tmp_path)


def test_html_saved_with_a_pdf_name_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "report.pdf"
    fake.write_text("<html><body>Not a PDF</body></html>")
    with pytest.raises(UnsupportedFile, match="not a PDF"):
        extract_file(fake, SETTINGS, tmp_path)


def test_every_shared_sample_pdf_is_read_or_reported() -> None:
    samples = shared_data("pdf-samples")
    described = json.loads((samples / "files.json").read_text())
    files = sorted(samples.rglob("*.pdf"))
    outcomes = {item.path: item for item in extract_all(files, SETTINGS, samples)}
    assert len(outcomes) == len(files) >= 25
    encrypted = [entry["path"] for entry in described["data"] if entry["encrypted"]]
    assert encrypted, "files.json lists the password-protected sample"
    for path in encrypted:
        outcome = outcomes[path]
        assert isinstance(outcome, Skipped) and outcome.code == "encrypted", path
    indexed = [o for o in outcomes.values() if not isinstance(o, Skipped)]
    assert len(indexed) >= 20
