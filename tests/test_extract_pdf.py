"""PDF extraction: page texts and metadata from real PDFs, each failure reported by code."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from indexer.build import Skipped, extract_all
from indexer.config import IndexerSettings
from indexer.document import PAGE_BREAK, Document
from indexer.errors import (
    CorruptFile,
    EncryptedFile,
    TooLargeFile,
    UnsupportedFile,
)
from indexer.extract import extract_file
from indexer.extract.pdf import NO_TEXT_LAYER
from tests.conftest import CORPUS, blank_pdf, decompression_bomb, shared_data

SETTINGS = IndexerSettings()
DRAFT_PLAN = CORPUS / "documents" / "draft-green-plan-2025.pdf"
INHALERS = (
    CORPUS / "case-studies/local/care-alternatives/lower-carbon-inhalers-bedford-gp-practices.pdf"
)
GEOTOPO = "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf"


def test_corpus_pdf_pages_and_metadata() -> None:
    doc = extract_file(DRAFT_PLAN, SETTINGS, CORPUS)
    assert doc.type == "document"
    assert doc.title.startswith("Draft BLMK ICS Green Plan")
    assert doc.date is not None and doc.date.isoformat() == "2025-03-12"
    assert doc.author == "BLMK Integrated Care Board"
    assert [page.number for page in doc.pages] == list(range(1, 17))
    assert doc.body.split(PAGE_BREAK) == [page.text for page in doc.pages]
    assert doc.summary  # from the PDF's subject
    assert doc.notes == []


def test_running_headers_and_footers_are_dropped_and_the_text_kept() -> None:
    doc = extract_file(INHALERS, SETTINGS, CORPUS)
    title = "Switching to lower-carbon asthma inhalers in Bedford GP practices"
    assert len(doc.pages) == 9
    for page in doc.pages:
        assert "Page " not in page.text and "Medicines Optimisation Team  |" not in page.text
        assert not page.text.startswith(title)
    assert doc.pages[1].text.startswith("Background\nAsthma is one of the most common")
    assert doc.pages[8].text.endswith("without talking to a healthcare\nprofessional first.")
    assert doc.body.count(title) == 0  # its title is in the title field, searched 3x


def test_case_study_facets_come_from_its_folders() -> None:
    path = next((CORPUS / "case-studies" / "national" / "care-alternatives").glob("*.pdf"))
    doc = extract_file(path, SETTINGS, CORPUS)
    assert (doc.type, doc.scope, doc.topics) == ("case-study", "national", ["Care alternatives"])


def test_truncated_pdf_is_reported_as_corrupt(tmp_path: Path) -> None:
    truncated = tmp_path / "upload.pdf"
    truncated.write_bytes(DRAFT_PLAN.read_bytes()[:2000])
    with pytest.raises(CorruptFile, match="damaged"):
        extract_file(truncated, SETTINGS, tmp_path)


def test_html_saved_with_a_pdf_name_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "report.pdf"
    fake.write_text("<html><body>Not a PDF</body></html>")
    with pytest.raises(UnsupportedFile, match="not a PDF"):
        extract_file(fake, SETTINGS, tmp_path)


def test_a_pdf_over_the_page_limit_is_too_large() -> None:
    with pytest.raises(TooLargeFile, match="16 pages is over the 15-page limit") as caught:
        extract_file(DRAFT_PLAN, IndexerSettings(max_pdf_pages=15), CORPUS)
    assert caught.value.code == "too-large"


def test_a_page_past_the_inflation_limit_is_noted_and_the_rest_indexed(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(decompression_bomb(100_000_000, after=DRAFT_PLAN.read_bytes()))
    doc = extract_file(path, SETTINGS, tmp_path)
    assert len(doc.pages) == 17 and doc.pages[16].text == ""
    assert sum(bool(page.text) for page in doc.pages[:16]) >= 15
    assert doc.notes == [
        "unreadable pages: page 17 not read, as its content expands past the reader's size "
        "limit (a decompression bomb?)"
    ]


def test_a_pdf_without_a_text_layer_is_indexed_by_its_metadata_and_flagged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scanned_board-minutes.pdf"
    path.write_bytes(blank_pdf(3))
    doc = extract_file(path, SETTINGS, tmp_path)
    assert doc.title == "Scanned board minutes"  # from the file name
    assert len(doc.pages) == 3 and all(page.text == "" for page in doc.pages)
    assert doc.notes == [NO_TEXT_LAYER]
    path.write_bytes(blank_pdf(1, title="Board minutes, June 2025"))
    assert extract_file(path, SETTINGS, tmp_path).title == "Board minutes, June 2025"


@pytest.mark.parametrize(
    ("declared", "expected"), [("D:20240305120000Z", "2024-03-05"), ("D:19700101000000Z", None)]
)
def test_a_placeholder_creation_date_is_no_date(
    tmp_path: Path, declared: str, expected: str | None
) -> None:
    """The Unix epoch, as PDF writers put it when they know no date, dates nothing."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Board minutes", "/CreationDate": declared})
    path = tmp_path / "minutes.pdf"
    with path.open("wb") as out:
        writer.write(out)
    found = extract_file(path, SETTINGS, tmp_path).date
    assert (found.isoformat() if found else None) == expected


def test_a_meaningless_title_gives_way_to_the_first_heading(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(INHALERS))
    writer.add_metadata({"/Title": "Microsoft Word - draft3.docx"})
    path = tmp_path / "report.pdf"
    with path.open("wb") as out:
        writer.write(out)
    assert (
        extract_file(path, SETTINGS, tmp_path).title
        == "Switching to lower-carbon asthma inhalers in"
    )


def test_a_pdf_over_the_time_limit_is_too_slow_and_workers_carry_on() -> None:
    """A limit far below what reading takes (tens of milliseconds here) stops the worker."""
    settings = IndexerSettings(file_timeout_seconds=0.001, extract_workers=1)
    outcomes = list(extract_all([DRAFT_PLAN, DRAFT_PLAN], settings, CORPUS))
    assert [getattr(o, "code", None) for o in outcomes] == ["too-slow", "too-slow"]
    assert "took longer than the 0.001 s limit" in outcomes[0].message
    relaxed = IndexerSettings(extract_workers=1)
    assert isinstance(next(extract_all([DRAFT_PLAN], relaxed, CORPUS)), Document)


def test_damaged_pdfs_are_indexed_or_reported_never_a_crash(tmp_path: Path) -> None:
    """Truncated uploads and flipped bytes, as a build meets them (workers, time limit)."""
    source = (CORPUS / "case-studies/national/working-in-partnership").glob("*.pdf")
    original = next(source).read_bytes()
    rng = random.Random(2026)
    files = []
    for number in range(40):
        data = bytearray(original[: rng.randrange(10, len(original))] if number < 15 else original)
        for _ in range(0 if number < 15 else rng.choice([1, 5, 50])):
            data[rng.randrange(len(data))] = rng.randrange(256)
        files.append(tmp_path / f"upload-{number:02}.pdf")
        files[-1].write_bytes(bytes(data))
    outcomes = list(extract_all(files, IndexerSettings(file_timeout_seconds=20), tmp_path))
    codes = {"unsupported", "unreadable", "too-large", "corrupt", "encrypted", "empty", "too-slow"}
    assert len(outcomes) == 40
    assert all(isinstance(o, Document) or o.code in codes for o in outcomes)
    assert any(isinstance(o, Document) for o in outcomes)
    assert any(getattr(o, "code", None) == "corrupt" for o in outcomes)


# --- the shared sample PDFs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples() -> Path:
    return shared_data("pdf-samples")


@pytest.fixture(scope="module")
def outcomes(samples: Path) -> dict[str, Document | Skipped]:
    files = sorted(samples.rglob("*.pdf"))
    return {relative(item): item for item in extract_all(files, SETTINGS, samples)}


def relative(item: Document | Skipped) -> str:
    return item.path


@pytest.fixture(scope="module")
def described(samples: Path) -> dict[str, dict]:
    listing = json.loads((samples / "files.json").read_text())["data"]
    return {entry["path"]: entry for entry in listing}


def indexed(outcomes: dict[str, Document | Skipped]) -> Iterator[Document]:
    return (o for o in outcomes.values() if isinstance(o, Document))


@pytest.mark.slow
def test_every_shared_sample_is_read_or_reported(
    samples: Path, outcomes: dict[str, Document | Skipped]
) -> None:
    assert len(outcomes) == len(list(samples.rglob("*.pdf"))) == 31
    skipped = {path: o.code for path, o in outcomes.items() if isinstance(o, Skipped)}
    assert skipped == {
        "005-libreoffice-writer-password/libreoffice-writer-password.pdf": "encrypted",
        # Its catalog names a page tree (object 172) that is not in the file: the order of its
        # pages cannot be known, and qpdf, pdf.js and MuPDF refuse it too.
        "017-unreadable-meta-data/unreadablemetadata.pdf": "corrupt",
    }


@pytest.mark.slow
def test_the_password_protected_sample_is_reported_as_encrypted(
    outcomes: dict[str, Document | Skipped], described: dict[str, dict]
) -> None:
    encrypted = [path for path, entry in described.items() if entry["encrypted"]]
    assert encrypted
    for path in encrypted:
        outcome = outcomes[path]
        assert isinstance(outcome, Skipped) and outcome.code == "encrypted", path
        assert "needs a password" in outcome.message


@pytest.mark.slow
def test_page_counts_match_the_listing(
    outcomes: dict[str, Document | Skipped], described: dict[str, dict]
) -> None:
    documents = list(indexed(outcomes))
    assert len(documents) == 29
    for doc in documents:
        assert len(doc.pages) == described[doc.path]["pages"], doc.path
        assert [p.number for p in doc.pages] == list(range(1, len(doc.pages) + 1))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "number", "words", "only_there"),
    [
        (GEOTOPO, 1, ["Geometrie und Topologie", "Auflage"], False),  # "Auﬂage": ligature
        (GEOTOPO, 2, ["Vorwort", "Übungsaufgaben", "Oberfläche"], False),  # hyphen rejoined
        (GEOTOPO, 10, ["hermitescher"], True),
        (GEOTOPO, 30, ["Zusammenhangskomponenten"], False),  # "Zusammen-" "hangskomponenten"
        (GEOTOPO, 50, ["assoziativ"], True),
        (GEOTOPO, 100, ["selbstadjungiert"], True),
        ("026-latex-multicolumn/multicolumn.pdf", 1, ["Two-Column Document", "Abstract"], True),
        ("026-latex-multicolumn/multicolumn.pdf", 3, ["Copenhagen Danish", "Helsinki"], True),
        ("006-pdflatex-outline/pdflatex-outline.pdf", 1, ["Contents", "9 Baz 4"], True),
        ("006-pdflatex-outline/pdflatex-outline.pdf", 2, ["1 Foo\nHello, here is some"], True),
        ("015-arabic/habibi-rotated.pdf", 4, ["حَبيبي habibi"], False),
        ("021-pdfa/crazyones-pdfa.pdf", 1, ["The Crazy Ones", "The misfits."], True),
    ],
    ids=lambda value: str(value)[:24],
)
def test_words_are_on_the_right_page(
    outcomes: dict[str, Document | Skipped],
    path: str,
    number: int,
    words: list[str],
    only_there: bool,
) -> None:
    doc = outcomes[path]
    assert isinstance(doc, Document)
    for word in words:
        assert word in doc.pages[number - 1].text, (word, number)
        elsewhere = [p.number for p in doc.pages if p.number != number and word in p.text]
        assert not (only_there and elsewhere), (word, elsewhere)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("007-imagemagick-images/imagemagick-lzw.pdf", "imagemagick-lzw"),  # document info
        ("019-grayscale-image/grayscale-image.pdf", "Grayscale image"),  # file name
        ("023-cmyk-image/cmyk-image.pdf", "Cmyk image"),
    ],
)
def test_image_only_samples_are_indexed_and_flagged(
    outcomes: dict[str, Document | Skipped], path: str, title: str
) -> None:
    doc = outcomes[path]
    assert isinstance(doc, Document)
    assert doc.title == title
    assert doc.notes == [NO_TEXT_LAYER]
    assert all(page.text == "" for page in doc.pages)


@pytest.mark.slow
def test_samples_with_text_are_not_flagged(outcomes: dict[str, Document | Skipped]) -> None:
    flagged = {doc.path for doc in indexed(outcomes) if doc.notes}
    assert flagged == {
        "007-imagemagick-images/imagemagick-ASCII85Decode.pdf",
        "007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf",
        "007-imagemagick-images/imagemagick-lzw.pdf",
        "019-grayscale-image/grayscale-image.pdf",
        "023-cmyk-image/cmyk-image.pdf",
    }


@pytest.mark.slow
def test_metadata_from_document_info_and_xmp(outcomes: dict[str, Document | Skipped]) -> None:
    geotopo = outcomes[GEOTOPO]
    assert (geotopo.title, geotopo.author) == ("Geometrie und Topologie", "Martin Thoma")
    assert geotopo.date is not None and geotopo.date.isoformat() == "2016-12-31"
    xmp = outcomes["020-xmp/output_with_metadata_pymupdf.pdf"]
    assert (xmp.title, xmp.author, xmp.summary) == (
        "Sample PDF with XMP Metadata",
        "John Doe",
        "This is a text",
    )
    assert outcomes["012-libreoffice-form/libreoffice-form.pdf"].language == "en-US"


def test_a_large_real_pdf_over_a_tiny_time_limit_is_too_slow(samples: Path) -> None:
    """GeoTopo (117 pages) takes seconds to read; the limit is a tenth of a second."""
    settings = IndexerSettings(file_timeout_seconds=0.1, extract_workers=1)
    files = [samples / GEOTOPO, samples / "001-trivial" / "minimal-document.pdf"]
    slow, quick = extract_all(files, settings, samples)
    assert isinstance(slow, Skipped) and slow.code == "too-slow"
    assert isinstance(quick, Document) and quick.pages[0].text.startswith("Lorem ipsum")


def encrypted_copy(source: Path, target: Path, algorithm: str, user_password: str) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(
        user_password=user_password,
        owner_password="board-only",
        algorithm=algorithm,
        permissions_flag=0,  # no printing, copying or editing without the owner password
    )
    with target.open("wb") as out:
        writer.write(out)
    return target


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_a_pdf_restricted_only_by_an_owner_password_is_indexed(
    tmp_path: Path, algorithm: str
) -> None:
    """Published reports often are; AES needs pypdf's crypto extra (the cryptography package)."""
    path = encrypted_copy(DRAFT_PLAN, tmp_path / "plan.pdf", algorithm, user_password="")
    assert PdfReader(path).is_encrypted
    doc = extract_file(path, SETTINGS, tmp_path)
    plain = extract_file(DRAFT_PLAN, SETTINGS, CORPUS)
    assert [p.text for p in doc.pages] == [p.text for p in plain.pages]
    assert doc.title == plain.title


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_a_pdf_that_needs_a_password_to_open_is_encrypted(tmp_path: Path, algorithm: str) -> None:
    path = encrypted_copy(DRAFT_PLAN, tmp_path / "plan.pdf", algorithm, user_password="staff")
    with pytest.raises(EncryptedFile, match="needs a password to open"):
        extract_file(path, SETTINGS, tmp_path)


def test_the_corpus_sidecar_gives_the_board_paper_its_title_and_topics() -> None:
    doc = extract_file(
        CORPUS / "documents" / "board-paper-green-plan-refresh.pdf", SETTINGS, CORPUS
    )
    assert doc.title == "Refreshing the BLMK Green Plan: ICB board paper, January 2025"
    assert doc.topics == ["Green Plan and sustainability", "Governance"]
    assert doc.date is not None and doc.date.isoformat() == "2025-01-08"  # from the PDF
    assert doc.notes == []
