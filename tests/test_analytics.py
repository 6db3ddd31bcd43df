"""Query analytics for staff: what is counted (once per search, never personal data), what is
shown (the threshold), its bounds and its file; then end to end on a real ``blmk-serve``."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

import falcon.testing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.build import BuildReport
from indexer.config import IndexerSettings
from search_api.engine.service import SearchRequest
from search_api.staff.analytics import (
    MAX_QUERY_CHARS,
    PERSONAL,
    QueryLog,
    is_refinement,
    iso_week,
    query_key,
)
from tests.conftest import get_json, serve

TOKEN = "analytics-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEDNESDAY = date(2026, 11, 25)  # in 2026-W48, which starts on Monday 2026-11-23


class Calendar:
    """The day a ``QueryLog`` counts in, moved by the test."""

    def __init__(self, day: date = WEDNESDAY) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def counts(log: QueryLog, weeks: int = 1, limit: int = 20) -> list[dict]:
    return log.report(weeks, limit)["weeks"]


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("green plan", "green plan"),
        ("  Green \t  PLAN ", "green plan"),
        ("ＧＲＥＥＮ plan", "green plan"),  # full-width letters
        ("Straße", "strasse"),
        ("", None),
        ("   ", None),
        ("*", None),
        ("* ?", None),
        ("mental*", "mental*"),
    ],
    ids=["plain", "spacing", "full-width", "casefold", "empty", "blank", "star", "star-?", "wild"],
)
def test_queries_are_normalised_and_list_everything_is_not_a_query(
    typed: str, key: str | None
) -> None:
    assert query_key(typed) == key


def test_a_long_query_is_cut_to_256_characters() -> None:
    assert query_key("a" * 300) == "a" * MAX_QUERY_CHARS
    assert query_key("word " * 100) == ("word " * 100)[:MAX_QUERY_CHARS].rstrip()


@pytest.mark.parametrize(
    "typed",
    [
        "jane.smith@nhs.net",
        "letter to JANE@example.org",
        "jane@home",
        "485 777 3456",
        "4857773456",
        "nhs number 485-777-3456 results",
        "01234 567890",
        "07700 900123",
        "07700900123",
        "(01234) 567890",
        "+44 7700 900123",
        "0044 7700 900 123",
        "call 0800-123-4567 please",
        "card 4111 1111 1111 1111",
        "４８５７７７３４５６",  # full-width digits
        "a" * 250 + " 07700 900123",  # the number runs past the 256-character cut
    ],
)
def test_personal_data_is_counted_as_removed(typed: str) -> None:
    assert query_key(typed) == PERSONAL


@pytest.mark.parametrize(
    "typed",
    ["covid 19", "nhs 111", "annual report 2023 2024", "2023-24", "lu1 2ab", "gp @ luton", "a&e"],
)
def test_ordinary_numbers_and_signs_are_kept(typed: str) -> None:
    assert query_key(typed) == typed


@given(st.text(max_size=400))
def test_no_counted_query_holds_an_address_or_a_long_number(typed: str) -> None:
    key = query_key(typed)
    if key is None or key == PERSONAL:
        return
    assert 0 < len(key) <= MAX_QUERY_CHARS
    assert not re.search(r"[^\s@]@[^\s@]", key)
    assert not re.search(r"\d{10}", re.sub(r"[ .()\-]", "", key))


def test_searches_are_counted_per_iso_week_newest_first() -> None:
    calendar = Calendar(date(2026, 11, 29))  # Sunday: still 2026-W48
    log = QueryLog(today=calendar)
    for _ in range(2):
        log.record("green plan", found_nothing=False)
    calendar.day = date(2026, 11, 30)  # Monday: 2026-W49
    for _ in range(3):
        log.record("Pharmacy", found_nothing=False)
    weeks = counts(log, weeks=3)
    assert [(w["week"], w["starts"], w["searches"]) for w in weeks] == [
        ("2026-W49", "2026-11-30", 3),
        ("2026-W48", "2026-11-23", 2),
        ("2026-W47", "2026-11-16", 0),
    ]
    assert weeks[0]["top"] == [{"query": "pharmacy", "count": 3}]
    assert weeks[1]["top"] == [{"query": "green plan", "count": 2}]
    assert weeks[2]["top"] == []


def test_iso_weeks_cross_the_new_year() -> None:
    assert iso_week(date(2021, 1, 3)) == "2020-W53"
    assert iso_week(date(2024, 12, 30)) == "2025-W01"


def test_only_queries_searched_often_enough_are_shown() -> None:
    log = QueryLog(min_count=2, today=Calendar())
    for typed, found_nothing in [
        ("green plan", False),
        ("Green Plan", False),
        ("green plan", False),
        ("jane doe", False),  # once: a name, not shown
        ("qwzxqq", True),
        ("qwzxqq", True),
        ("zzyzx", True),  # once
        ("485 777 3456", True),
        ("01234 567890", True),
    ]:
        log.record(typed, found_nothing)
    (week,) = counts(log)
    assert (week["searches"], week["zero_result_searches"]) == (9, 5)
    assert week["top"] == [
        {"query": "green plan", "count": 3},
        {"query": PERSONAL, "count": 2},
        {"query": "qwzxqq", "count": 2},
    ]
    assert week["zero_results"] == [
        {"query": PERSONAL, "count": 2},
        {"query": "qwzxqq", "count": 2},
    ]
    assert log.report(1, 1)["weeks"][0]["top"] == [{"query": "green plan", "count": 3}]
    assert log.report(1, 1)["min_count"] == 2
    assert QueryLog(min_count=4, today=Calendar()).report(1, 5)["min_count"] == 4


def request(q: str, page: int = 1, **filters: tuple[str, ...]) -> SearchRequest:
    return SearchRequest(q=q, page=page, filters=filters)


FOUND = {"total": 12, "partial": False}
NOTHING = {"total": 0, "partial": False}


@pytest.mark.parametrize(
    ("search", "referrer", "counted"),
    [
        (request("green plan"), None, True),
        (request("green plan"), "http://search.example/", True),
        (request("green plan"), "http://search.example/?q=vaccination", True),
        (request("green plan", type=("news",)), "http://search.example/?q=green+plan", False),
        (request("Green  Plan"), "http://search.example/?q=green%20plan&type=news", False),
        (request("green plan", page=2), None, False),
        (request("green plan", page=2), "http://search.example/?q=other", False),
        (request("green plan"), "http://search.example/admin?q=green+plan", True),
        (request("green plan"), "https://www.other.example/", True),
        (request("green plan"), "http://[broken/?q=green+plan", True),
        (request(""), None, False),
    ],
    ids=[
        "typed",
        "from-empty-page",
        "new-words",
        "filter-ticked",
        "respaced",
        "page-2",
        "page-2-new-words",
        "other-path",
        "other-site",
        "bad-referrer",
        "empty",
    ],
)
def test_a_search_counts_once_not_per_refinement(
    search: SearchRequest, referrer: str | None, counted: bool
) -> None:
    log = QueryLog(min_count=1, today=Calendar())
    log.count_search(search, FOUND, referrer)
    assert counts(log)[0]["searches"] == (1 if counted else 0)


def test_is_refinement_compares_normalised_words() -> None:
    assert is_refinement(request("GREEN plan"), "/?q=green++plan&page=2")
    assert not is_refinement(request("green plan"), "/?q=green+plans")


def test_a_partial_answer_with_nothing_is_not_a_zero_result_search() -> None:
    log = QueryLog(min_count=1, today=Calendar())
    log.count_search(request("qwzxqq"), NOTHING, None)
    log.count_search(request("qwzxqq"), {"total": 0, "partial": True}, None)
    (week,) = counts(log)
    assert (week["searches"], week["zero_result_searches"]) == (2, 1)
    assert week["zero_results"] == [{"query": "qwzxqq", "count": 1}]


def test_a_full_week_still_counts_searches_but_keeps_no_new_words() -> None:
    log = QueryLog(min_count=1, max_queries=3, today=Calendar())
    for typed in ("one", "two", "three", "four", "five", "one", "four"):
        log.record(typed, found_nothing=typed == "four")
    (week,) = counts(log)
    assert (week["searches"], week["zero_result_searches"]) == (7, 2)
    assert week["top"] == [
        {"query": "one", "count": 2},
        {"query": "three", "count": 1},
        {"query": "two", "count": 1},
    ]
    assert week["zero_results"] == []


def test_old_weeks_are_forgotten() -> None:
    calendar = Calendar(date(2026, 11, 2))
    log = QueryLog(min_count=1, weeks_kept=2, today=calendar)
    for day in (2, 9, 16):  # three Mondays
        calendar.day = date(2026, 11, day)
        log.record(f"week of the {day}th", found_nothing=False)
    assert [w["week"] for w in counts(log, weeks=52)] == ["2026-W47", "2026-W46"]
    calendar.day = date(2026, 11, 9)  # the clock put back: the forgotten week stays forgotten
    assert counts(log, weeks=1)[0]["searches"] == 1
    calendar.day = date(2026, 11, 2)
    assert counts(log, weeks=1)[0]["searches"] == 0


def test_no_weeks_kept_counts_nothing(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / "analytics.json", weeks_kept=0, today=Calendar())
    log.record("green plan", found_nothing=False)
    log.save()
    assert log.report(4, 20) == {"weeks": [], "min_count": 2}
    assert not (tmp_path / "analytics.json").exists()


def test_counting_is_thread_safe() -> None:
    log = QueryLog(min_count=1, today=Calendar())

    def search() -> None:
        for n in range(500):
            log.record(f"query {n % 7}", found_nothing=n % 2 == 0)

    threads = [threading.Thread(target=search) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (week,) = counts(log)
    assert (week["searches"], week["zero_result_searches"]) == (4000, 2000)
    assert sum(row["count"] for row in week["top"]) == 4000


def test_the_counts_survive_a_restart_and_the_file_holds_counts_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "analytics.json"
    calendar = Calendar()
    log = QueryLog(path, today=calendar)
    log.save()
    assert not path.exists()  # nothing to save yet
    for typed, found_nothing in [("Green plan", False), ("green plan", False), ("qwzxqq", True)]:
        log.record(typed, found_nothing)
    log.record("jane@example.org", found_nothing=True)
    log.save()
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == {
        "format": 1,
        "weeks": {
            "2026-W48": {
                "searches": 4,
                "zero_result_searches": 2,
                "queries": {"green plan": 2, "qwzxqq": 1, PERSONAL: 1},
                "zero_results": {"qwzxqq": 1, PERSONAL: 1},
            }
        },
    }
    # No temporary left; the lock file the server processes share the file through stays.
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "analytics.json",
        "analytics.json.lock",
    ]
    again = QueryLog(path, today=calendar)
    assert again.report(4, 20) == log.report(4, 20)
    again.record("qwzxqq", found_nothing=True)
    assert counts(again)[0]["zero_results"] == [{"query": "qwzxqq", "count": 2}]


def test_server_processes_sharing_the_file_add_their_counts_up(tmp_path: Path) -> None:
    path = tmp_path / "analytics.json"
    calendar = Calendar()
    first, second = QueryLog(path, today=calendar), QueryLog(path, today=calendar)
    first.record("green plan", found_nothing=False)
    second.record("green plan", found_nothing=False)
    second.record("qwzxqq", found_nothing=True)
    first.save()
    second.save()
    first.record("green plan", found_nothing=False)
    first.save()  # and now shows the second's counts too
    week = counts(first)[0]
    assert (week["searches"], week["zero_result_searches"]) == (4, 1)
    assert week["top"][0] == {"query": "green plan", "count": 3}
    assert counts(QueryLog(path, today=calendar))[0]["searches"] == 4


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"format": 2, "weeks": {}}',
        b'{"format": 1, "weeks": {"2026-W99": {}}}',
        b'{"format": 1, "weeks": {"2026-W48": {"searches": -1}}}',
        b'{"format": 1, "weeks": {"2026-W48": {"searches": 1, "zero_result_searches": 0, '
        b'"queries": {"x": "many"}, "zero_results": {}}}}',
        b"[" * 100_000,
        b"",
    ],
    ids=[
        "not-json",
        "not-utf8",
        "list",
        "other-format",
        "no-such-week",
        "negative",
        "not-a-count",
        "deep",
        "empty",
    ],
)
def test_a_damaged_file_is_set_aside_and_counting_starts_afresh(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "analytics.json"
    path.write_bytes(content)
    with caplog.at_level(logging.ERROR, logger="search_api.staff.analytics"):
        log = QueryLog(path, today=Calendar())
    assert "counting starts afresh" in caplog.text
    assert counts(log)[0]["searches"] == 0
    assert (tmp_path / "analytics.json.corrupt").read_bytes() == content
    log.record("green plan", found_nothing=False)
    log.save()
    assert json.loads(path.read_text())["weeks"]["2026-W48"]["searches"] == 1


def test_background_saves_and_a_last_save_at_close(tmp_path: Path) -> None:
    path = tmp_path / "analytics.json"
    log = QueryLog(path, today=Calendar())
    log.start_saving(every=0.05)
    log.record("green plan", found_nothing=False)
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert json.loads(path.read_text())["weeks"]["2026-W48"]["searches"] == 1
    log.record("green plan", found_nothing=False)
    log.close()
    assert json.loads(path.read_text())["weeks"]["2026-W48"]["searches"] == 2


# End to end: a real server with an admin token and a query file.


def search(base: str, route: str, q: str, referrer: str | None = None, **params: str) -> int:
    """A request as a browser or API client sends it; the status."""
    query = urllib.parse.urlencode({"q": q, **params})
    headers = {"Referer": referrer} if referrer else {}
    request = urllib.request.Request(f"{base}{route}?{query}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.server
def test_staff_see_what_was_searched_once_per_search(
    corpus_settings: IndexerSettings, corpus_build: BuildReport, tmp_path: Path
) -> None:
    path = tmp_path / "analytics.json"
    env = {"BLMK_ADMIN_TOKEN": TOKEN, "BLMK_ANALYTICS_FILE": str(path)}
    args = ["--index", str(corpus_settings.index_dir)]
    weeks_possible = {iso_week(date.today())}
    with serve(args, env) as base:
        statuses = [
            search(base, "/search", "green plan"),
            search(base, "/search", "Green  PLAN"),
            search(base, "/search", "green plan", page="2"),  # the same search, next page
            search(base, "/", "green plan"),  # the search page
            search(base, "/", "green plan", f"{base}/?q=green+plan", type="news"),  # a filter
            search(base, "/", "green plan", f"{base}/?q=green+plan&type=news", sort="newest"),
            search(base, "/suggest", "gre"),
            search(base, "/suggest", "green"),
            search(base, "/suggest", "green pl"),
            search(base, "/search", "qwzxqq"),
            search(base, "/", "qwzxqq", f"{base}/?q=green+plan"),  # new words on the page
            search(base, "/search", "485 777 3456"),
            search(base, "/search", "485 777 3456"),
            search(base, "/search", "vaccination", per_page="500"),  # 400: not a search
            search(base, "/search", "vaccination", per_page="500"),
            search(base, "/search", "mental health"),  # once: counted, not listed
            search(base, "/search", ""),  # lists everything: not counted
        ]
        assert statuses == [200] * 13 + [400, 400] + [200, 200]
        assert get_json(f"{base}/search?q=485+777+3456")[1]["total"] == 0  # and a third time

        status, body = get_json(f"{base}/admin/analytics?weeks=2&limit=5", headers=AUTH)
        weeks_possible.add(iso_week(date.today()))
        assert status == 200, body
        assert body["min_count"] == 2 and len(body["weeks"]) == 2
        week = body["weeks"][0]
        assert week["week"] in weeks_possible
        assert (week["searches"], week["zero_result_searches"]) == (9, 5)
        assert week["top"] == [  # ties in the order of their text
            {"query": PERSONAL, "count": 3},
            {"query": "green plan", "count": 3},
            {"query": "qwzxqq", "count": 2},
        ]
        assert week["zero_results"] == [
            {"query": PERSONAL, "count": 3},
            {"query": "qwzxqq", "count": 2},
        ]
        assert body["weeks"][1]["searches"] == 0

        assert get_json(f"{base}/admin/analytics")[0] == 401
        wrong = {"Authorization": "Bearer wrong"}
        assert get_json(f"{base}/admin/analytics", headers=wrong)[0] == 401
        for bad in ("weeks=0", "weeks=53", "limit=0", "limit=101", "weeks=two"):
            status, error = get_json(f"{base}/admin/analytics?{bad}", headers=AUTH)
            assert (status, error["error"]["code"]) == (400, "invalid_parameter"), bad

    saved = path.read_text(encoding="utf-8")  # written when the server stopped
    assert "485" not in saved and "vaccination" not in saved
    with serve(args, env) as base:
        status, again = get_json(f"{base}/admin/analytics?weeks=2&limit=5", headers=AUTH)
    assert status == 200 and again["weeks"][0] == week


def test_no_admin_token_no_analytics_route(client: falcon.testing.TestClient) -> None:
    response = client.simulate_get("/admin/analytics")
    assert (response.status_code, response.json["error"]["code"]) == (404, "not_found")
