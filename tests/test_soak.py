"""The soak benchmark (bench/soak.py) runs for real, briefly: a generated site of 30 pages,
nine seconds of load with full builds every three. Only that the harness ran and reported is
checked: timings on a shared machine say nothing here, so no latency figure is asserted.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest

from bench.soak import HOSTILE, main, request_mix
from bench.synthetic import query_sets

pytestmark = pytest.mark.slow


def test_a_short_soak_sends_requests_rebuilds_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--minutes", "0.15", "--rate", "20", "--pages", "30", "--rebuild-every", "3"]
    assert main([*argv, "--interval", "3", "--work", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for title in ("Per 3 s", "Totals", "Server memory (VmRSS)", "Targets"):
        assert f"\n{title}" in out, title
    totals = re.search(r"^\| all +\| ([\d,]+) +\| ([\d,]+) +\| ([\d,]+) +\|", out, re.MULTILINE)
    assert totals, out
    sent, skipped, completed = (int(n.replace(",", "")) for n in totals.groups())
    assert sent + skipped == 180  # 20 a second for 9 s, every one due sent or skipped
    assert completed > 0
    rebuilds = re.search(r"^Full builds \((\d+) during the load", out, re.MULTILINE)
    assert rebuilds and int(rebuilds[1]) >= 1, out
    assert re.search(r"^\| 1 +\| 0:0\d +\| [\d.]+ +\| 30 +\| v-", out, re.MULTILINE), out
    # The site kept for next time, the server's output; the index and the site's copy gone.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sites", "soak-server.log"]


def test_the_mix_is_mostly_searches_then_suggestions_then_hostile_requests() -> None:
    drawn = list(islice(request_mix(query_sets()), 4000))
    assert drawn == list(islice(request_mix(query_sets()), 4000))  # the same every run
    shares = Counter(kind for kind, _ in drawn)
    assert 0.55 < shares["search"] / 4000 < 0.65
    assert 0.21 < shares["suggest"] / 4000 < 0.29
    assert 0.12 < shares["hostile"] / 4000 < 0.18
    assert {path for kind, path in drawn if kind == "hostile"} <= set(HOSTILE)
    assert all(path.startswith("/suggest?q=") for kind, path in drawn if kind == "suggest")
