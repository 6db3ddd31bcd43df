"""Deleted documents and old revisions are kept ``BLMK_KEEP_DAYS`` days, then purged.

A background thread in each server process purges at start and then every hour; the purge
holds the staff lock, so processes sharing a state folder never purge the same thing twice,
and what one removes is audited once, under the retention's own name.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from indexer import Actor, AuditLog
from search_api.staff.history import DocumentHistory

log = logging.getLogger(__name__)

RETENTION = Actor("retention (BLMK_KEEP_DAYS)", "server")
PURGE_EVERY_SECONDS = 3600.0


def purge_expired(history: DocumentHistory, audit: AuditLog, now: datetime | None = None) -> int:
    """Purges what has been kept long enough and audits each thing removed; how many."""
    purged = history.purge(now)
    for item in purged:
        audit.record(
            RETENTION,
            f"{item['kind']}.purge",
            item["document"],
            details={"id": item["id"], "kept_since": item["at"]},
        )
    return len(purged)


class Retention:
    """Runs ``purge_expired`` now and then every ``every_seconds`` until stopped."""

    def __init__(
        self,
        history: DocumentHistory,
        audit: AuditLog,
        every_seconds: float = PURGE_EVERY_SECONDS,
    ) -> None:
        self.history = history
        self.audit = audit
        self.every_seconds = every_seconds
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while True:
            try:
                purge_expired(self.history, self.audit)
            except Exception:  # logged; the next round tries again
                log.exception("purging the trash and old revisions failed")
            if self._stopped.wait(self.every_seconds):
                return
