"""What has been kept long enough is purged, and each purge is in the audit log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from indexer import AuditLog, utc_now
from search_api.staff.history import DocumentHistory
from search_api.staff.retention import RETENTION, Retention, purge_expired
from tests.conftest import html_page


def history_with_old_things(tmp_path: Path) -> DocumentHistory:
    history = DocumentHistory(tmp_path / "corpus", tmp_path / "state", keep_days=30)
    (tmp_path / "corpus" / "news").mkdir(parents=True)
    history.write("news/a.html", html_page("A", "<p>first</p>").encode(), by="sam")
    history.write("news/a.html", html_page("A", "<p>second</p>").encode(), by="sam")
    history.write("news/b.html", html_page("B", "<p>gone</p>").encode(), by="sam")
    history.delete("news/b.html", by="sam")
    return history


def test_a_purge_removes_what_is_older_than_the_keep_days_and_audits_it(tmp_path: Path) -> None:
    history = history_with_old_things(tmp_path)
    audit = AuditLog(tmp_path / "state")
    assert purge_expired(history, audit, now=utc_now() + timedelta(days=29)) == 0
    assert history.trash() and history.revisions("news/a.html")

    assert purge_expired(history, audit, now=utc_now() + timedelta(days=31)) == 2
    assert history.trash() == [] and history.revisions("news/a.html") == []
    entries = list(audit.entries())
    assert {(e["action"], e["target"]) for e in entries} == {
        ("trash.purge", "news/b.html"),
        ("revision.purge", "news/a.html"),
    }
    assert {e["account"] for e in entries} == {RETENTION.account}


def test_the_retention_thread_purges_at_start(tmp_path: Path) -> None:
    history = history_with_old_things(tmp_path)
    history.keep_days = 0
    audit = AuditLog(tmp_path / "state")
    retention = Retention(history, audit, every_seconds=3600)
    retention.start()
    retention.stop()
    assert retention._thread is not None
    retention._thread.join(timeout=10)
    assert history.trash() == []
    assert len(list(audit.entries(action="trash"))) == 1
