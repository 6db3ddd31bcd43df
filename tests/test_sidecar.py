"""Sidecar files (``report.pdf.json``): staff corrections win, mistakes are notes, not failures."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from indexer.build import build_index, source_files
from indexer.config import IndexerSettings
from indexer.extract import extract_file
from tests.conftest import CORPUS

SETTINGS = IndexerSettings()
STUDY = "case-studies/local/care-alternatives/lower-carbon-inhalers-bedford-gp-practices.pdf"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus" / STUDY
    target.parent.mkdir(parents=True)
    shutil.copyfile(CORPUS / STUDY, target)
    return tmp_path / "corpus"


def write_sidecar(corpus: Path, content: str | dict) -> None:
    text = content if isinstance(content, str) else json.dumps(content)
    (corpus / f"{STUDY}.json").write_text(text, encoding="utf-8")


def test_a_sidecar_overrides_the_pdf_and_its_folder(corpus: Path) -> None:
    plain = extract_file(corpus / STUDY, SETTINGS, corpus)
    write_sidecar(
        corpus,
        {
            "title": "Lower-carbon inhalers: Bedford GP practices",
            "summary": "How Bedford practices cut inhaler emissions.",
            "date": "2023-11-01",
            "topics": ["Medicines", "Green Plan and sustainability"],
            "scope": "national",
        },
    )
    doc = extract_file(corpus / STUDY, SETTINGS, corpus)
    assert doc.title == "Lower-carbon inhalers: Bedford GP practices"
    assert doc.summary == "How Bedford practices cut inhaler emissions."
    assert doc.date == date(2023, 11, 1)
    assert doc.topics == ["Medicines", "Green Plan and sustainability"]
    assert doc.scope == "national"
    assert doc.notes == []
    assert doc.body == plain.body and doc.author == plain.author
    assert doc.content_hash != plain.content_hash  # the sidecar's bytes count
    write_sidecar(corpus, {"title": "Lower-carbon inhalers: Bedford GP practices"})
    assert extract_file(corpus / STUDY, SETTINGS, corpus).content_hash != doc.content_hash


def test_the_content_hash_is_of_the_files_bytes_then_its_sidecars(corpus: Path) -> None:
    """Pinned: the manifests of published versions hold these hashes, and an update compares
    the new ones with them."""
    data = (corpus / STUDY).read_bytes()
    assert extract_file(corpus / STUDY, SETTINGS, corpus).content_hash == (
        hashlib.sha256(data).hexdigest()
    )
    write_sidecar(corpus, {"date": "2023-11-01"})
    sidecar = (corpus / f"{STUDY}.json").read_bytes()
    assert extract_file(corpus / STUDY, SETTINGS, corpus).content_hash == (
        hashlib.sha256(data + b"\0sidecar\0" + sidecar).hexdigest()
    )


def test_keys_left_out_keep_what_the_pdf_says(corpus: Path) -> None:
    write_sidecar(corpus, {"date": "2023-11-01"})
    doc = extract_file(corpus / STUDY, SETTINGS, corpus)
    assert doc.title.startswith("Switching to lower-carbon asthma inhalers")
    assert doc.topics == ["Care alternatives"] and doc.scope == "local"
    assert doc.date == date(2023, 11, 1)


@pytest.mark.parametrize(
    ("content", "note"),
    [
        (b'{"title": "Unclosed', "sidecar ignored: invalid JSON in {name} (line 1, column 11"),
        (b"[1, 2]", "sidecar ignored: {name} must hold one JSON object"),
        (b"\xff\xfe\x00garbage", "sidecar ignored: {name} is not UTF-8 text"),
    ],
    ids=["invalid-json", "not-an-object", "not-utf-8"],
)
def test_an_unusable_sidecar_is_a_note_and_the_pdf_is_indexed(
    corpus: Path, content: bytes, note: str
) -> None:
    (corpus / f"{STUDY}.json").write_bytes(content)
    doc = extract_file(corpus / STUDY, SETTINGS, corpus)
    assert doc.title.startswith("Switching to lower-carbon asthma inhalers")
    assert len(doc.notes) == 1
    assert doc.notes[0].startswith(note.format(name=Path(STUDY).name + ".json"))


def test_unknown_keys_and_wrong_types_are_notes_and_the_rest_applies(corpus: Path) -> None:
    write_sidecar(
        corpus,
        {
            "title": "Inhalers in Bedford",
            "date": "12/03/2025",
            "topics": "Medicines",
            "scope": "regional",
            "owner": "comms team",
        },
    )
    doc = extract_file(corpus / STUDY, SETTINGS, corpus)
    assert doc.title == "Inhalers in Bedford"
    assert (doc.date, doc.topics, doc.scope) == (date(2023, 10, 12), ["Care alternatives"], "local")
    assert [note.split(" in ")[0] for note in doc.notes] == [
        "sidecar: 'date'",
        "sidecar: 'topics'",
        "sidecar: 'scope'",
        "sidecar: unknown key 'owner'",
    ]
    assert 'must be a date written YYYY-MM-DD, not "12/03/2025"' in doc.notes[0]


def test_sidecars_are_not_sources_and_their_notes_reach_the_build_summary(
    corpus: Path, tmp_path: Path
) -> None:
    write_sidecar(corpus, "{not json")
    assert [p.name for p in source_files(corpus)] == [Path(STUDY).name]
    report = build_index(IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    assert report.indexed == 1 and report.skipped == []
    assert [f.path for f in report.flagged] == [STUDY]
    assert report.flagged[0].notes[0].startswith("sidecar ignored: invalid JSON")
