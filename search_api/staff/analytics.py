"""What people search for, counted for staff: per ISO week, the most searched queries and the
ones that found nothing (``GET /admin/analytics``, and the admin page's "What people search
for").

A search is counted once, not once per keystroke or click: only ``/search`` and the search
page ``/`` count (``/suggest``, asked at each pause in typing, never does); only an answered
request (a 400 has no answer), for page 1, with words (empty or ``*`` lists everything); and not
a refinement from the search page, i.e. a request whose ``Referer`` is a search page (path
``/``) showing the same words: ticking a filter, sorting, paging, going back, or submitting
the same words again.

Kept, per week: how many searches, how many found nothing, and two counters keyed by the
normalised query. Nothing else: no address, user agent, time finer than the ISO week, or
anything that ties two searches to one person. A query that looks like it holds an email
address or a long number (phone number, NHS number) is counted as ``PERSONAL`` instead of its
words; a query is shown only once it has been searched ``min_count`` times in the week (it is
kept until then, so that it can get there).

Bounded: at most ``weeks_kept`` weeks (older ones are forgotten), and at most
``max_queries`` different queries a week; once a week's table is full a new query still counts
in the week's totals but its words are not kept (the queries already counted keep counting).
The counts are saved to a JSON file, written whole to a temporary file and renamed over the
old one, every few seconds when something changed and once more at exit.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from indexer import FileLock, write_atomically
from search_api.engine import SearchRequest

PERSONAL = "[personal data removed]"
MAX_QUERY_CHARS = 256
MAX_QUERIES_PER_WEEK = 5_000
DEFAULT_WEEKS_KEPT = 26
DEFAULT_MIN_COUNT = 2
SAVE_SECONDS = 5.0
FILE_FORMAT = 1
# Characters only: a query made of these lists everything (as ``query.QueryReader`` reads it).
LISTS_EVERYTHING = "*? "
# Something@something: an email address, whole or partly typed.
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
# Ten or more digits written as one number, with spaces, hyphens, dots or brackets between
# them: phone numbers (01234 567890, +44 7700 900123, (01234) 567890), NHS numbers
# (485 777 3456, 4857773456), card and account numbers.
_LONG_NUMBER = re.compile(r"\d(?:[ .()\-]*\d){9,}")
_WEEK = re.compile(r"\d{4}-W\d{2}")
log = logging.getLogger(__name__)


def fold_spacing_and_case(typed: str) -> str:
    """One spelling per query, so "Green  Plan" and "green plan" count together."""
    return " ".join(unicodedata.normalize("NFKC", typed).split()).casefold()


def looks_personal(text: str) -> bool:
    return bool(_EMAIL.search(text) or _LONG_NUMBER.search(text))


def query_key(typed: str) -> str | None:
    """What a search is counted under; None for one that lists everything (not a search for
    anything). Checked for personal data before it is cut to length, so a number cut in half
    cannot slip through."""
    text = fold_spacing_and_case(typed)
    if not text.strip(LISTS_EVERYTHING):
        return None
    if looks_personal(text):
        return PERSONAL
    return text[:MAX_QUERY_CHARS].rstrip()


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(label: str) -> date:
    """The Monday of a week written ``YYYY-Www``."""
    if not _WEEK.fullmatch(label):
        raise ValueError(f"{label[:20]!r} is not a week written YYYY-Www")
    year, week = label.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def is_refinement(request: SearchRequest, referrer: str | None) -> bool:
    """Whether the request was made from a search page already showing the same words (a
    filter, sort or page change, back, or the same words again): the same search, not a new
    one. Only compared, never kept."""
    if not referrer:
        return False
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return False
    if parts.path not in ("", "/"):
        return False
    shown = parse_qs(parts.query).get("q", [""])[0]
    return fold_spacing_and_case(shown) == fold_spacing_and_case(request.q)


@dataclass(slots=True)
class WeekCounts:
    searches: int = 0
    zero_result_searches: int = 0
    queries: Counter[str] = field(default_factory=Counter)
    # A subset of ``queries``' keys: a query is counted here only if it is counted there.
    zero_results: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, found_nothing: bool, max_queries: int) -> None:
        self.searches += 1
        self.zero_result_searches += found_nothing
        if text in self.queries or len(self.queries) < max_queries:
            self.queries[text] += 1
            if found_nothing:
                self.zero_results[text] += 1

    def merged(self, other: WeekCounts, max_queries: int) -> WeekCounts:
        """These counts and ``other``'s together (another process's, say); queries beyond
        ``max_queries`` are left out as ``add`` leaves them out."""
        both = WeekCounts(
            searches=self.searches + other.searches,
            zero_result_searches=self.zero_result_searches + other.zero_result_searches,
            queries=Counter(self.queries),
            zero_results=Counter(self.zero_results),
        )
        for text, count in other.queries.items():
            if text in both.queries or len(both.queries) < max_queries:
                both.queries[text] += count
                if other.zero_results.get(text):
                    both.zero_results[text] += other.zero_results[text]
        return both

    def to_json(self) -> dict[str, Any]:
        return {
            "searches": self.searches,
            "zero_result_searches": self.zero_result_searches,
            "queries": dict(self.queries),
            "zero_results": dict(self.zero_results),
        }

    @classmethod
    def from_json(cls, data: Any) -> WeekCounts:
        if not isinstance(data, dict):
            raise ValueError(f"a week is {type(data).__name__}, not an object")
        return cls(
            searches=_count(data["searches"]),
            zero_result_searches=_count(data["zero_result_searches"]),
            queries=_counter(data["queries"]),
            zero_results=_counter(data["zero_results"]),
        )


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def _counter(value: Any) -> Counter[str]:
    if not isinstance(value, dict):
        raise ValueError("counts by query are not an object")
    return Counter({str(query): _count(count) for query, count in value.items()})


def load_weeks(path: Path) -> dict[str, WeekCounts]:
    """The counts saved at ``path`` (none before the first save). A file that cannot be read
    as counts is logged and moved aside to ``<name>.corrupt``, and counting starts afresh:
    losing the counts must never stop the search service from starting."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:  # unreadable, not damaged: left where it is
        log.error("query analytics: cannot read %s (%s); counting starts afresh", path, error)
        return {}
    except ValueError as error:
        return _start_afresh(path, error)
    try:
        return _parse_weeks(json.loads(text))
    except (ValueError, KeyError, RecursionError) as error:
        return _start_afresh(path, error)


def _parse_weeks(data: Any) -> dict[str, WeekCounts]:
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        raise ValueError(f"not a query analytics file of format {FILE_FORMAT}")
    if not isinstance(data.get("weeks"), dict):
        raise ValueError("no weeks")
    weeks = {}
    for label, counts in data["weeks"].items():
        week_start(label)  # a real week, or ValueError
        weeks[label] = WeekCounts.from_json(counts)
    return weeks


def _start_afresh(path: Path, error: Exception) -> dict[str, WeekCounts]:
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)
        kept = f"the file is kept as {aside.name}"
    except OSError:
        kept = "the file could not be moved aside and will be overwritten"
    log.error(
        "query analytics: %s is damaged (%s: %s); counting starts afresh, %s",
        path,
        type(error).__name__,
        str(error)[:200],
        kept,
    )
    return {}


class QueryLog:
    """The weekly counts, shared by every request thread; saved to ``path`` when one is given
    (``None``: kept in memory only, lost at restart). ``weeks_kept`` 0 counts nothing."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        min_count: int = DEFAULT_MIN_COUNT,
        weeks_kept: int = DEFAULT_WEEKS_KEPT,
        max_queries: int = MAX_QUERIES_PER_WEEK,
        today: Callable[[], date] = date.today,
    ) -> None:
        if min_count < 1 or weeks_kept < 0 or max_queries < 1:
            raise ValueError("min_count and max_queries must be 1 or more, weeks_kept 0 or more")
        self.path = path
        self.min_count = min_count
        self.weeks_kept = weeks_kept
        self.max_queries = max_queries
        self.today = today
        self._weeks = load_weeks(path) if path else {}
        self._forget_old_weeks()
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        # Counted since the last save: what a save adds to the file, which other server
        # processes sharing it add their own counts to as well.
        self._pending: dict[str, WeekCounts] = {}
        self._stop = threading.Event()
        self._saver: threading.Thread | None = None

    def count_search(
        self, request: SearchRequest, answer: dict[str, Any], referrer: str | None
    ) -> None:
        """Counts an answered search if it is a new one (see the module docstring). A partial
        answer (over its time budget) counts as a search but never as one that found
        nothing, so a slow moment cannot put a query on the zero-result list staff act on."""
        if request.page != 1 or is_refinement(request, referrer):
            return
        self.record(request.q, found_nothing=answer["total"] == 0 and not answer["partial"])

    def record(self, typed: str, found_nothing: bool) -> None:
        text = query_key(typed)
        if text is None or not self.weeks_kept:
            return
        week = iso_week(self.today())
        with self._lock:
            counts = self._weeks.get(week)
            if counts is None:
                counts = self._weeks[week] = WeekCounts()
                self._forget_old_weeks()
            counts.add(text, found_nothing, self.max_queries)
            self._pending.setdefault(week, WeekCounts()).add(text, found_nothing, self.max_queries)

    def _forget_old_weeks(self) -> None:
        for label in sorted(self._weeks)[: max(0, len(self._weeks) - self.weeks_kept)]:
            del self._weeks[label]

    def report(self, weeks: int, limit: int) -> dict[str, Any]:
        """The last ``weeks`` calendar weeks (at most those kept), this one first, each with
        its ``limit`` most searched queries and zero-result queries searched at least
        ``min_count`` times; weeks without searches are listed with none."""
        today = self.today()
        labels = [iso_week(today - timedelta(weeks=n)) for n in range(min(weeks, self.weeks_kept))]
        with self._lock:
            found = {label: self._weeks.get(label) or WeekCounts() for label in labels}
            rows = [self._week_report(label, counts, limit) for label, counts in found.items()]
        return {"weeks": rows, "min_count": self.min_count}

    def _week_report(self, label: str, counts: WeekCounts, limit: int) -> dict[str, Any]:
        return {
            "week": label,
            "starts": week_start(label).isoformat(),
            "searches": counts.searches,
            "zero_result_searches": counts.zero_result_searches,
            "top": self._shown(counts.queries, limit),
            "zero_results": self._shown(counts.zero_results, limit),
        }

    def _shown(self, counter: Counter[str], limit: int) -> list[dict[str, Any]]:
        often = [(query, n) for query, n in counter.items() if n >= self.min_count]
        often.sort(key=lambda item: (-item[1], item[0]))
        return [{"query": query, "count": n} for query, n in often[:limit]]

    def save(self) -> None:
        """Adds what was counted since the last save to the file, under a lock, so that
        several server processes sharing it each add their own counts; the counts shown here
        then become the file's, everyone's. A failed write is logged and tried again at the
        next save (counting goes on)."""
        if self.path is None:
            return
        with self._save_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return
            try:
                with FileLock(self.path.with_name(self.path.name + ".lock")):
                    weeks = load_weeks(self.path) if self.path.exists() else {}
                    for label, counts in pending.items():
                        weeks[label] = (weeks.get(label) or WeekCounts()).merged(
                            counts, self.max_queries
                        )
                    data = {
                        "format": FILE_FORMAT,
                        "weeks": {label: counts.to_json() for label, counts in weeks.items()},
                    }
                    write_atomically(
                        self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                    )
            except OSError:
                log.exception("query analytics: cannot write %s; will try again", self.path)
                with self._lock:
                    for label, counts in pending.items():
                        self._pending[label] = counts.merged(
                            self._pending.get(label) or WeekCounts(), self.max_queries
                        )
                return
            with self._lock:  # the file's counts, with what was counted while it was written
                for label, counts in self._pending.items():
                    weeks[label] = (weeks.get(label) or WeekCounts()).merged(
                        counts, self.max_queries
                    )
                self._weeks = weeks
                self._forget_old_weeks()

    def start_saving(self, every: float = SAVE_SECONDS) -> None:
        """Saves in a background thread every ``every`` seconds, until ``close``."""
        if self.path is None or self._saver is not None:
            return
        self._saver = threading.Thread(
            target=self._save_every, args=(every,), name="query-log-saver", daemon=True
        )
        self._saver.start()

    def _save_every(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self.save()

    def close(self) -> None:
        """Stops the background saves and saves what is left."""
        self._stop.set()
        if self._saver is not None:
            self._saver.join()
        self.save()
