"""Staff-side index management: incremental updates, one build at a time, checks before
publishing, status and rollback, and builds killed half way."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.build import BuildError, build_index, update_index
from indexer.config import IndexerSettings
from indexer.lock import BuildInProgress, BuildLock
from indexer.store import IndexStore
from indexer.vocabulary import WordCounts
from search_api.engine.service import SearchRequest, SearchService
from tests.conftest import CORPUS, html_page, shared_data, write_corpus

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent


def article(topic: str) -> str:
    return html_page(
        f"{topic.title()} news",
        f"<p>This article is about {topic}. " + "It has several sentences of text. " * 6 + "</p>",
    )


@pytest.fixture
def small(tmp_path: Path) -> IndexerSettings:
    corpus = write_corpus(
        tmp_path / "corpus", {f"news/{word}.html": article(word) for word in ("flu", "parking")}
    )
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    return settings


def total(settings: IndexerSettings, q: str) -> int:
    return SearchService(settings.index_dir).search(SearchRequest(q=q))["total"]


def test_an_update_reads_only_what_changed(small: IndexerSettings) -> None:
    corpus = small.corpus_dir
    nothing = update_index(small)
    assert (nothing.read, nothing.unchanged) == (0, 2)
    assert nothing.version == IndexStore(small.index_dir).current().name  # nothing published

    os.utime(corpus / "news" / "flu.html")  # touched, same content
    touched = update_index(small)
    assert (touched.read, touched.changed, touched.unchanged) == (1, 0, 2)

    (corpus / "news" / "flu.html").write_text(article("measles"))
    (corpus / "news" / "pharmacy.html").write_text(article("pharmacy"))
    (corpus / "news" / "parking.html").unlink()
    report = update_index(small)
    assert report.mode == "update"
    assert (report.read, report.added, report.changed, report.removed) == (2, 1, 1, 1)
    assert report.indexed == 2
    assert (total(small, "measles"), total(small, "flu"), total(small, "parking")) == (1, 0, 0)
    assert total(small, "pharmacy") == 1


def test_an_update_reports_skipped_files_and_carries_them_over(small: IndexerSettings) -> None:
    (small.corpus_dir / "news" / "empty.html").write_text("")
    first = update_index(small)
    assert [(s.path, s.code) for s in first.skipped] == [("news/empty.html", "empty")]
    os.utime(small.corpus_dir / "news" / "flu.html")
    second = update_index(small)
    assert second.read == 1 and [s.path for s in second.skipped] == ["news/empty.html"]


def test_a_changed_sidecar_makes_its_pdf_change(tmp_path: Path) -> None:
    pdf = CORPUS / "documents" / "draft-green-plan-2025.pdf"
    corpus = write_corpus(tmp_path / "corpus", {"documents/plan.pdf": pdf.read_bytes()})
    settings = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    (corpus / "documents" / "plan.pdf.json").write_text('{"title": "Zebrafinch plan"}')
    report = update_index(settings)
    assert (report.read, report.changed) == (1, 1)
    assert total(settings, "zebrafinch") == 1


def test_an_update_rebuilds_fully_when_reading_rules_changed(small: IndexerSettings) -> None:
    small.site_profile = None  # a different site profile changes what pages become
    report = update_index(small)
    assert report.mode == "full" and report.read == 2


def test_a_second_build_is_refused_while_one_runs(small: IndexerSettings) -> None:
    with BuildLock(small.index_dir):
        with pytest.raises(BuildInProgress, match=f"process {os.getpid()}"):
            update_index(small)
        done = subprocess.run(
            [BIN / "blmk-index", "build", "--corpus", small.corpus_dir, "--index", small.index_dir],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2
        assert "another build" in done.stderr and "is running" in done.stderr
    assert update_index(small).unchanged == 2  # the lock is free again


def test_a_shrinking_index_is_not_published_unless_forced(small: IndexerSettings) -> None:
    (small.corpus_dir / "news" / "parking.html").unlink()
    for name in ("a", "b", "c"):
        (small.corpus_dir / "news" / f"{name}.html").write_text(article(name * 5))
    build_index(small)  # 4 documents published
    for name in ("a", "b", "c"):
        (small.corpus_dir / "news" / f"{name}.html").unlink()
    with pytest.raises(BuildError, match="would hold 1 documents where the published one holds 4"):
        update_index(small)
    assert total(small, "aaaaa") == 1
    assert update_index(small, force=True).indexed == 1
    assert total(small, "aaaaa") == 0


def test_status_and_rollback(small: IndexerSettings) -> None:
    store = IndexStore(small.index_dir)
    first = store.current().name
    (small.corpus_dir / "news" / "flu.html").write_text(article("measles"))
    second = update_index(small).version

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [BIN / "blmk-index", *args, "--index", small.index_dir]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    status = cli("status")
    assert f"* {second}" in status.stdout and f"  {first}" in status.stdout
    assert cli("rollback").returncode == 0
    assert store.current().name == first
    assert total(small, "flu") == 1 and total(small, "measles") == 0
    nothing = cli("rollback")
    assert nothing.returncode == 1 and "no earlier published version" in nothing.stderr


def test_a_build_killed_half_way_leaves_the_published_index_serving(tmp_path: Path) -> None:
    samples = shared_data("pdf-samples")
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for number in range(3):  # a few seconds of reading, so the kill lands mid-build
        shutil.copy(
            samples / "009-pdflatex-geotopo" / "GeoTopo-komprimiert.pdf",
            corpus / "documents" / f"geotopo-{number}.pdf",
        )
    settings = IndexerSettings(corpus_dir=CORPUS, index_dir=tmp_path / "index")
    published = build_index(settings).version
    store = IndexStore(settings.index_dir)

    build = subprocess.Popen(
        [BIN / "blmk-index", "build", "--corpus", corpus, "--index", settings.index_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so the kill reaches its PDF workers too
    )
    deadline = time.monotonic() + 60
    while len(store.versions()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    assert build.poll() is None, "the build ended before it could be killed"
    os.killpg(build.pid, signal.SIGKILL)
    build.wait(timeout=30)

    assert store.current().name == published
    assert len(store.versions()) == 2  # the killed build's half-written version
    assert total(settings, "green plan") > 0
    settings.corpus_dir = corpus
    after = build_index(settings)
    assert after.indexed == 68 + 3
    assert [v.name for v in store.versions()] == [published, after.version]  # debris removed


def test_the_spelling_vocabulary_after_updates_is_what_a_full_build_counts(
    small: IndexerSettings, tmp_path: Path
) -> None:
    corpus = small.corpus_dir
    (corpus / "news" / "flu.html").write_text(article("measles"))  # changed
    (corpus / "news" / "parking.html").unlink()  # gone
    (corpus / "news" / "pharmacy.html").write_text(article("pharmacy"))  # added
    update_index(small)
    (corpus / "news" / "pharmacy.html").write_text(article("pharmacies"))  # changed again

    rebuilt = IndexerSettings(corpus_dir=corpus, index_dir=tmp_path / "rebuilt")
    update_index(small)
    build_index(rebuilt)
    updated = WordCounts.load(IndexStore(small.index_dir).current())
    full = WordCounts.load(IndexStore(rebuilt.index_dir).current())
    assert updated is not None and full is not None
    assert updated.counts == full.counts
    assert updated.counts["measles"] == 1 and updated.counts["news"] == 2
    assert "parking" not in updated.counts and "flu" not in updated.counts
    assert "pharmacy" not in updated.counts and updated.counts["pharmacies"] == 1
