"""Quality checks: the file, the runs on the sample site, and the changes they hold: a publish
of the rules (over real servers), a ``blmk-index update`` and an admin API index job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer.build import BuildReport, build_index
from indexer.config import IndexerSettings
from indexer.errors import ChecksFailed
from indexer.store import IndexStore
from search_api.editorial.checks import Check, parse_checks
from search_api.editorial.rules import EditorialRules, RuleTexts
from search_api.engine.service import SearchService
from search_api.staff.checks import (
    CheckRecord,
    CheckResult,
    CheckRun,
    QualityChecks,
    run_checks,
)
from search_api.verifier import verifier_for
from tests.conftest import BIN, CORPUS, REPO, get_json, html_page, serve
from tests.test_admin_api import wait_for
from tests.test_staff_api import new_account

CHECKED_QUERY = "docs appointments evenings"
CHECKED_PAGE = "news/2019-03-25-luton-gp-practices-extend-evening-weekend-appointments.html"
CHECK = f'[[check]]\nquery = "{CHECKED_QUERY}"\ndocument = "{CHECKED_PAGE}"\n'
RULE_FILES = {
    "BLMK_SYNONYMS": "synonyms.txt",
    "BLMK_BEST_BETS": "best-bets.toml",
    "BLMK_HIDDEN": "hidden.toml",
    "BLMK_SUGGEST_STOPLIST": "suggest-stoplist.txt",
}
HIDE_CHECKED = f'\n[[hide]]\ndocuments = ["{CHECKED_PAGE}"]\n'
UNRELATED_PAGE = html_page(
    "Car park resurfacing at Capability House",
    "<p>" + "The car park will be resurfaced over the summer, bay by bay. " * 8 + "</p>",
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[check]]\ndocument = "a.html"\n', "check 1: 'query'"),
        ('[[check]]\nquery = "  "\ndocument = "a.html"\n', "check 1: 'query'"),
        (CHECK + '[[check]]\nquery = "x"\n', "check 2: 'document'"),
        (CHECK + "top = 0\n", "check 1: 'top' must be a whole number from 1 to 50"),
        (CHECK + 'top = "3"\n', "check 1: 'top'"),
        (CHECK + "top = 51\n", "check 1: 'top'"),
        (CHECK + "top = true\n", "check 1: 'top'"),
        (CHECK + 'documents = ["b.html"]\n', "check 1: unknown key 'documents'"),
        ('check = "x"\n', "'check' must be a list of [[check]] tables"),
        ("[[check]\n", "Expected"),  # not TOML at all
    ],
    ids=[
        "no-query",
        "blank-query",
        "no-document",
        "top-zero",
        "top-text",
        "top-too-deep",
        "top-boolean",
        "unknown-key",
        "not-tables",
        "not-toml",
    ],
)
def test_a_checks_file_with_a_mistake_is_refused_naming_the_check(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_checks(text)


def test_a_check_is_read_with_its_default_depth() -> None:
    assert parse_checks(CHECK + '[[check]]\nquery = " b "\ndocument = "x.pdf"\ntop = 10\n') == (
        Check(CHECKED_QUERY, CHECKED_PAGE, 3),
        Check("b", "x.pdf", 10),
    )
    assert parse_checks("# nothing yet\n") == ()


def test_run_checks_finds_each_document_s_place(service: SearchService) -> None:
    checks = [
        Check(CHECKED_QUERY, CHECKED_PAGE, 1),
        Check("green plan", "pages/green-plan.html", 1),
        Check("green plan", CHECKED_PAGE, 3),  # not found by that search at all
    ]
    found = run_checks(service, checks)
    assert [(result.place, result.passed) for result in found] == [
        (1, True),
        (1, True),
        (None, False),
    ]
    assert found[2].describe() == (
        f"'green plan' should find {CHECKED_PAGE} in its top 3; it is not in the first 50"
    )
    # With rules of its own (a draft hiding the page), the same check fails.
    hidden = EditorialRules.parse(RuleTexts(hidden=HIDE_CHECKED))
    assert run_checks(service, checks[:1], hidden)[0].place is None
    assert run_checks(service, checks[:1])[0].passed  # the live rules are untouched


def test_a_result_says_where_the_document_went() -> None:
    check = Check(CHECKED_QUERY, CHECKED_PAGE)
    described = [CheckResult(check, place, False).describe() for place in (7, 11, 22, 23)]
    assert [text.rsplit(" ", 1)[-1] for text in described] == ["7th", "11th", "22nd", "23rd"]


def test_the_shipped_checks_all_pass_on_the_sample_site(service: SearchService) -> None:
    checks = QualityChecks(REPO / "config" / "checks.toml", service.rule_files, Path("unused"))
    run = checks.run(service, "test")
    assert len(run.results) >= 50
    assert run.passed, run.failure_message()


def test_blmk_index_s_verifier_searches_with_the_service_s_rule_files(
    corpus_settings: IndexerSettings,
    corpus_build: BuildReport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "checks.toml").write_text(CHECK, encoding="utf-8")
    (tmp_path / "hidden.toml").write_text(HIDE_CHECKED, encoding="utf-8")
    settings = IndexerSettings(checks_file=tmp_path / "checks.toml", state_dir=tmp_path / "state")
    version = IndexStore(corpus_settings.index_dir).current()
    monkeypatch.setenv("BLMK_HIDDEN", str(tmp_path / "hidden.toml"))
    verify = verifier_for(settings)
    assert verify is not None
    with pytest.raises(ChecksFailed, match="it is not in the first 50; nothing published"):
        verify(version)
    assert CheckRecord(settings.state_dir).last_failing().version == version.name
    monkeypatch.setenv("BLMK_HIDDEN", "")
    verifier_for(settings)(version)  # the page found again: no error
    assert CheckRecord(settings.state_dir).last_run().passed
    assert verifier_for(IndexerSettings(checks_file=None)) is None
    assert verifier_for(IndexerSettings(checks_file=tmp_path / "absent.toml")) is None


def test_the_record_keeps_the_last_run_and_the_last_failing_one(tmp_path: Path) -> None:
    record = CheckRecord(tmp_path)
    assert record.last_run() is None and record.last_failing() is None
    failed = CheckRun("t1", "manual", (), "v-1", passed=False)
    passed = CheckRun("t2", "manual", (), "v-1", passed=True).forced("ann", "campaign")
    record.record(failed)
    record.record(passed)
    assert record.last_run() == passed and record.last_failing() == failed
    (tmp_path / "checks" / "last-run.json").write_text("{not json")
    assert record.last_run() is None  # a damaged record shows as none, and is replaced
    record.record(failed)
    assert record.last_failing() == failed


# Over real servers and the real command line.


@dataclass
class Site:
    base: str
    root: Path
    corpus: Path
    config: Path
    state: Path
    index: Path
    editor: dict[str, str]
    publisher: dict[str, str]
    admin: dict[str, str]

    def call(
        self, method: str, path: str, body: object = None, who: dict[str, str] | None = None
    ) -> tuple[int, dict]:
        data = b"" if body is None else json.dumps(body).encode()
        headers = (who or self.editor) | {"Content-Type": "application/json"}
        return get_json(f"{self.base}{path}", method, data if method != "GET" else None, headers)

    def env(self) -> dict[str, str]:
        return {
            "BLMK_CHECKS": str(self.config / "checks.toml"),
            "BLMK_STATE_DIR": str(self.state),
        } | {variable: str(self.config / name) for variable, name in RULE_FILES.items()}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server over a copy of the sample corpus, with one check and copies of the rules."""
    root = tmp_path_factory.mktemp("checks")
    corpus, config, state, index = (root / name for name in ("corpus", "config", "state", "index"))
    shutil.copytree(CORPUS, corpus)
    config.mkdir()
    for name in RULE_FILES.values():
        shutil.copy(REPO / "config" / name, config / name)
    (config / "checks.toml").write_text(CHECK, encoding="utf-8")
    build_index(IndexerSettings(corpus_dir=corpus, index_dir=index, state_dir=state))
    accounts = [
        new_account(state, f"{role}.one", role) for role in ("editor", "publisher", "admin")
    ]
    partial = Site("", root, corpus, config, state, index, *accounts)
    env = partial.env() | {"BLMK_REFRESH_SECONDS": "0.2"}
    with serve(["--index", str(index), "--corpus", str(corpus)], env) as base:
        partial.base = base
        yield partial


def draft_hiding_the_checked_page(site: Site, who: dict[str, str]) -> int:
    status, rules = site.call("GET", "/admin/rules", who=who)
    assert status == 200, rules
    base, texts = rules["current"]["number"], rules["current"]["texts"]
    texts = texts | {"hidden": texts["hidden"] + HIDE_CHECKED}
    status, saved = site.call("PUT", "/admin/rules/draft", {"base": base, "texts": texts}, who)
    assert status == 200, saved
    return base


def audit(site: Site, action: str) -> list[dict]:
    status, body = site.call("GET", f"/admin/audit?action={action}&per_page=20")
    assert status == 200, body
    return body["entries"]


@pytest.mark.server
def test_a_publish_that_fails_a_check_is_held_unless_an_admin_forces_it(site: Site) -> None:
    hidden_before = (site.config / "hidden.toml").read_text(encoding="utf-8")
    base = draft_hiding_the_checked_page(site, site.editor)
    status, body = site.call("POST", "/admin/rules/publish", {"base": base})
    assert (status, body["error"]["code"]) == (409, "checks_failed"), body
    assert f"{CHECKED_QUERY!r} should find {CHECKED_PAGE} in its top 3" in body["error"]["message"]
    assert (site.config / "hidden.toml").read_text(encoding="utf-8") == hidden_before
    status, checks = site.call("GET", "/admin/checks")
    assert status == 200 and checks["checks"] == [
        {"query": CHECKED_QUERY, "document": CHECKED_PAGE, "top": 3}
    ]
    assert checks["last_run"]["trigger"] == "rules.publish" and not checks["last_run"]["passed"]
    assert checks["last_run"]["results"][0]["place"] is None
    assert checks["last_failing"] == checks["last_run"]

    forced = {"base": base, "force": True, "reason": "the page is withdrawn"}
    status, body = site.call("POST", "/admin/rules/publish", forced)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "admin" in body["error"]["message"]
    assert (site.config / "hidden.toml").read_text(encoding="utf-8") == hidden_before

    base = draft_hiding_the_checked_page(site, site.admin)
    status, body = site.call(
        "POST", "/admin/rules/publish", {"base": base, "force": True}, site.admin
    )
    assert (status, body["error"]["code"]) == (400, "invalid_parameter")  # no reason given
    status, body = site.call("POST", "/admin/rules/publish", forced | {"base": base}, site.admin)
    assert status == 201, body
    assert CHECKED_PAGE in (site.config / "hidden.toml").read_text(encoding="utf-8")
    entry = audit(site, "rules.publish")[0]
    assert (entry["account"], entry["outcome"]) == ("admin.one", "done")
    assert entry["details"]["forced"] is True
    assert entry["details"]["reason"] == "the page is withdrawn"
    assert CHECKED_PAGE in entry["details"]["failing"][0]
    refused = [e for e in audit(site, "rules.publish") if e["outcome"] == "refused"]
    assert any("checks failed" in e["reason"] for e in refused)
    last = site.call("GET", "/admin/checks")[1]["last_run"]
    assert (last["forced_by"], last["reason"]) == ("admin.one", "the page is withdrawn")

    # Putting the page back passes the checks: the restore needs no force.
    status, body = site.call("POST", f"/admin/rules/revisions/{base}/restore")
    assert status == 201, body
    status, run = site.call("POST", "/admin/checks/run")
    assert status == 200 and run["run"]["passed"] and run["run"]["trigger"] == "manual"
    assert run["run"]["results"][0]["place"] == 1
    assert audit(site, "checks.run")[0]["outcome"] == "done"


def publish_draft(site: Site, change: dict[str, Callable[[str], str]]) -> tuple[int, int, dict]:
    """The current texts with ``change`` applied, saved as the editor's draft and published:
    (the base revision, the status, the answer)."""
    status, rules = site.call("GET", "/admin/rules")
    assert status == 200, rules
    base, texts = rules["current"]["number"], rules["current"]["texts"]
    assert texts["checks"] == (site.config / "checks.toml").read_text(encoding="utf-8")
    texts = texts | {name: text(texts[name]) for name, text in change.items()}
    status, saved = site.call("PUT", "/admin/rules/draft", {"base": base, "texts": texts})
    assert status == 200, saved
    status, body = site.call("POST", "/admin/rules/publish", {"base": base})
    return base, status, body


@pytest.mark.server
def test_a_publish_runs_the_checks_of_the_draft(site: Site) -> None:
    checks_before = (site.config / "checks.toml").read_text(encoding="utf-8")
    failing = f'[[check]]\nquery = "green plan"\ndocument = "{CHECKED_PAGE}"\n'
    base, status, body = publish_draft(site, {"checks": lambda text: text + failing})
    assert (status, body["error"]["code"]) == (409, "checks_failed"), body
    assert (
        f"1 of 2 quality checks failed: 'green plan' should find {CHECKED_PAGE}"
        in (body["error"]["message"])
    )
    assert (site.config / "checks.toml").read_text(encoding="utf-8") == checks_before

    # Hiding the checked page while dropping its check passes: there is no check left.
    base, status, body = publish_draft(
        site, {"hidden": lambda text: text + HIDE_CHECKED, "checks": lambda text: ""}
    )
    assert status == 201, body
    assert f'-document = "{CHECKED_PAGE}"' in body["diff"]["checks"]
    assert (site.config / "checks.toml").read_text(encoding="utf-8") == ""

    # A restore runs the restored revision's checks, which pass with its rules.
    status, body = site.call("POST", f"/admin/rules/revisions/{base}/restore")
    assert status == 201, body
    assert (site.config / "checks.toml").read_text(encoding="utf-8") == checks_before
    assert site.call("GET", "/admin/checks")[1]["last_run"]["trigger"] == "rules.restore"


def cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    command = [BIN / "blmk-index", *args, "--index", str(site.index)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=os.environ | site.env(),
    )


@pytest.mark.server
def test_a_build_that_drops_a_checked_page_is_held(site: Site) -> None:
    """The acceptance test: the checked page no longer matches its search, so neither an
    update from the command line nor one from the admin API publishes, until forced."""
    store = IndexStore(site.index)
    live = store.current().name
    page = site.corpus / CHECKED_PAGE
    original = page.read_bytes()
    page.write_text(UNRELATED_PAGE, encoding="utf-8")
    try:
        # The admin API's job.
        status, body = get_json(f"{site.base}/admin/reindex", "POST", b"", site.publisher)
        assert status == 202, body
        job = wait_for(site.base, body["job"]["id"], site.publisher)
        assert job["state"] == "failed"
        assert f"{CHECKED_QUERY!r} should find {CHECKED_PAGE}" in job["error"]
        assert store.current().name == live
        assert get_json(f"{site.base}/admin/versions", headers=site.editor)[1]["current"] == live
        entry = audit(site, "index.job")[0]
        assert (entry["outcome"], entry["details"]["checks"]) == ("failed", "held")
        last = site.call("GET", "/admin/checks")[1]["last_run"]
        assert last["trigger"] == "index.update" and not last["passed"]

        # The command line.
        held = cli(site, "update", "--corpus", str(site.corpus))
        assert held.returncode == 1, held.stdout + held.stderr
        assert "Quality checks: run before publishing (checks)" in held.stdout
        assert f"held: 1 of 1 quality checks failed: {CHECKED_QUERY!r}" in held.stderr
        assert store.current().name == live
        assert [v.name for v in store.versions()] == [live]  # the held version is gone
        assert store.last_build()["code"] == "checks_failed"
        status = cli(site, "status")
        assert f"* {live}" in status.stdout
        assert "Last build was held by the quality checks" in status.stdout
        entry = audit(site, "index.update")[0]
        assert (entry["outcome"], entry["details"]["checks"]) == ("refused", "held")

        forced = cli(site, "update", "--corpus", str(site.corpus), "--force")
        assert forced.returncode == 0, forced.stderr
        assert "Quality checks: skipped (--force)" in forced.stdout
        assert store.current().name != live
        entry = audit(site, "index.update")[0]
        assert (entry["outcome"], entry["details"]["checks"]) == ("done", "skipped (--force)")
    finally:
        page.write_bytes(original)
    # With the page back, a checked update publishes again.
    done = cli(site, "update", "--corpus", str(site.corpus))
    assert done.returncode == 0, done.stderr
    assert audit(site, "index.update")[0]["details"]["checks"] == "passed"
    assert site.call("GET", "/admin/checks")[1]["last_run"]["passed"]


@pytest.mark.server
def test_a_checks_file_that_cannot_be_read_stops_the_build_before_it_starts(
    site: Site, tmp_path: Path
) -> None:
    broken = tmp_path / "checks.toml"
    broken.write_text('[[check]]\nquery = "x"\n', encoding="utf-8")
    done = subprocess.run(
        [BIN / "blmk-index", "update", "--index", str(tmp_path / "index"), "--corpus", str(CORPUS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ | {"BLMK_CHECKS": str(broken), "BLMK_STATE_DIR": str(tmp_path / "s")},
    )
    assert done.returncode == 2
    assert f"{broken}: check 1: 'document'" in done.stderr
    assert not (tmp_path / "index").exists()
