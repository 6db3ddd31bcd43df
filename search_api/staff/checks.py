"""Running staff's quality checks, and the record of the last runs.

A check is a search that must find a document in its first places (``editorial/checks.py``).
They run before every change that could move results is published: a publish or restore of
the editorial rules (with the rules about to be published, on the version being served), and
an index build (with the live rules, on the new version before it is published). A failing
check holds the change; an admin may publish rules anyway, with a reason that is audited, and
``blmk-index --force`` skips the checks.

The indexer cannot import this package, so builds get their checks as a ``Verifier``
(``QualityChecks.verifier``): ``IndexJobs`` is given one for the admin API's jobs, and
``blmk-index`` loads one through the ``blmk_search.verifiers`` entry point
(``search_api/verifier.py``).

The last run, and the last one that failed, are kept in ``<state_dir>/checks/last-run.json``
for the admin page; every server process and the command line write it, under a lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from indexer import ChecksFailed, FileLock, Verifier, utc_stamp, write_atomically
from search_api.editorial.checks import MAX_TOP, Check, parse_checks
from search_api.editorial.rules import EditorialRules
from search_api.engine import SearchRequest, SearchService
from search_api.engine.ranking import RankingSettings

# The places looked through for a check's document: deeper than any check may ask.
DEPTH = MAX_TOP
# A build's checks are searched with this time budget, not a visitor's.
UNHURRIED_SECONDS = 60.0
CHECKS_FOLDER = "checks"
LAST_RUN = "last-run.json"


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    place: int | None  # 1 for first; None: not in the first ``DEPTH``
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return self.check.to_json() | {"place": self.place, "passed": self.passed}

    def describe(self) -> str:
        """The result in a sentence, for an error message or the command line."""
        check = self.check
        where = f"now {_ordinal(self.place)}" if self.place else f"not in the first {DEPTH}"
        return f"{check.query!r} should find {check.document} in its top {check.top}; it is {where}"


@dataclass(frozen=True, slots=True)
class CheckRun:
    """One run of every check, as the admin page shows it."""

    ran_at: str
    trigger: str  # what ran it: "rules.publish", "rules.restore", "index.update", "manual" ...
    results: tuple[CheckResult, ...]
    version: str | None  # the index version searched
    passed: bool
    forced_by: str | None = None  # the admin who published although it failed
    reason: str | None = None  # and why

    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def failure_message(self) -> str:
        failed = self.failures()
        listed = "; ".join(result.describe() for result in failed)
        return f"{len(failed)} of {len(self.results)} quality checks failed: {listed}"

    def forced(self, by: str, reason: str) -> CheckRun:
        return replace(self, forced_by=by, reason=reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "ran_at": self.ran_at,
            "trigger": self.trigger,
            "version": self.version,
            "passed": self.passed,
            "forced_by": self.forced_by,
            "reason": self.reason,
            "results": [result.to_json() for result in self.results],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckRun:
        results = tuple(
            CheckResult(
                Check(item["query"], item["document"], item["top"]), item["place"], item["passed"]
            )
            for item in data["results"]
        )
        return cls(
            ran_at=data["ran_at"],
            trigger=data["trigger"],
            results=results,
            version=data.get("version"),
            passed=data["passed"],
            forced_by=data.get("forced_by"),
            reason=data.get("reason"),
        )


def run_checks(
    service: SearchService, checks: Iterable[Check], rules: EditorialRules | None = None
) -> list[CheckResult]:
    """Each check searched as a visitor would search it, with ``rules`` (None: the live files).
    An answer cut short by the time budget (ranked without the proximity bonus) is asked for
    again, now that the index is warm: a check must not fail on a slow first search."""
    results = []
    for check in checks:
        request = SearchRequest(q=check.query, per_page=DEPTH)
        answer = service.search(request, rules=rules)
        if answer["partial"]:
            answer = service.search(request, rules=rules)
        found = [hit["id"] for hit in answer["results"]]
        place = found.index(check.document) + 1 if check.document in found else None
        results.append(CheckResult(check, place, place is not None and place <= check.top))
    return results


def checks_on_version(
    version_dir: Path,
    checks: Iterable[Check],
    rule_files: Mapping[str, Path | None],
    ranking: RankingSettings | None = None,
) -> list[CheckResult]:
    """The checks run on a version folder that need not be published yet (a build's new one),
    with the live rule files named by ``RULE_FILES`` name."""
    service = SearchService.for_version(
        version_dir,
        synonyms_file=rule_files.get("synonyms"),
        best_bets_file=rule_files.get("best_bets"),
        hidden_file=rule_files.get("hidden"),
        suggest_stoplist_file=rule_files.get("stoplist"),
        ranking=ranking,
        budget_seconds=UNHURRIED_SECONDS,  # nobody is waiting on each search
    )
    with closing(service):
        return run_checks(service, checks)


class CheckRecord:
    """The last run and the last failing run, in ``<state_dir>/checks/last-run.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / CHECKS_FOLDER
        self.path = self.folder / LAST_RUN

    def record(self, run: CheckRun) -> None:
        with FileLock(self.folder / ".lock"):
            failing = run if not run.passed else self._read().get("last_failing")
            saved = {"last_run": run.to_json(), "last_failing": _as_json(failing)}
            write_atomically(self.path, json.dumps(saved, indent=2))

    def last_run(self) -> CheckRun | None:
        return _run_of(self._read().get("last_run"))

    def last_failing(self) -> CheckRun | None:
        return _run_of(self._read().get("last_failing"))

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


class QualityChecks:
    """The checks file as it is now, the live rules to check builds with, and the record."""

    def __init__(
        self,
        checks_file: Path | None,
        rule_files: Mapping[str, Path | None],
        state_dir: Path,
        ranking: RankingSettings | None = None,
    ) -> None:
        self.checks_file = checks_file
        self.rule_files = dict(rule_files)
        self.record = CheckRecord(state_dir)
        self.ranking = ranking

    def checks(self) -> tuple[Check, ...]:
        """The checks as the file says now (none when it is switched off or absent); a
        ValueError naming the file and the check when it cannot be read."""
        if self.checks_file is None:
            return ()
        try:
            text = self.checks_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{self.checks_file}: cannot be read: {error}") from error
        try:
            return parse_checks(text)
        except ValueError as error:
            raise ValueError(f"{self.checks_file}: {error}") from error

    def run(
        self, service: SearchService, trigger: str, rules: EditorialRules | None = None
    ) -> CheckRun:
        """Every check on the version ``service`` answers from now (not recorded: a run that
        is forced through is recorded with who forced it). With ``rules`` (rules about to be
        published), their checks are run with them, as the checks file is part of a publish;
        without, the checks file as it is now, with the live rules."""
        version = service.current().name
        checks = rules.checks if rules is not None else self.checks()
        results = tuple(run_checks(service, checks, rules))
        return CheckRun(
            ran_at=utc_stamp(),
            trigger=trigger,
            results=results,
            version=version,
            passed=all(result.passed for result in results),
        )

    def verifier(self, trigger: str) -> Verifier | None:
        """What a build calls on its new version: the checks run there, recorded, and
        ``ChecksFailed`` when one fails. None when there are no checks. The file is read
        now, so a mistake in it stops the build before it starts (ValueError)."""
        checks = self.checks()
        if not checks:
            return None

        def verify(version_dir: Path) -> None:
            results = tuple(checks_on_version(version_dir, checks, self.rule_files, self.ranking))
            run = CheckRun(
                ran_at=utc_stamp(),
                trigger=trigger,
                results=results,
                version=version_dir.name,
                passed=all(result.passed for result in results),
            )
            self.record.record(run)
            if not run.passed:
                raise ChecksFailed(
                    f"{run.failure_message()}; nothing published (fix the pages or the checks,"
                    " or publish anyway with blmk-index --force)"
                )

        return verify


def _as_json(run: CheckRun | dict[str, Any] | None) -> dict[str, Any] | None:
    return run.to_json() if isinstance(run, CheckRun) else run


def _run_of(data: Any) -> CheckRun | None:
    if not isinstance(data, dict):
        return None
    try:
        return CheckRun.from_json(data)
    except (KeyError, TypeError):  # a record from another release: shown as none
        return None


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{_SUFFIXES.get(number % 10, 'th')}"


_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}
