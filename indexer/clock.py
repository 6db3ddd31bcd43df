"""Wall-clock time as this project records it: UTC, written ISO 8601 to the second.

Every timestamp a person or another program reads (a build's ``built_at``, an index job's
``queued_at``, the build lock's holder) is made here, so they all compare and sort alike.
Durations are measured with ``time.perf_counter`` or ``time.monotonic`` instead, which never
jump when the system clock is set.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC (an aware datetime)."""
    return datetime.now(UTC)


def utc_stamp(moment: datetime | None = None) -> str:
    """``moment`` (now by default) as ``2025-11-19T10:15:00+00:00``: UTC, whole seconds."""
    return (moment or utc_now()).astimezone(UTC).isoformat(timespec="seconds")
