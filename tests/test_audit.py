"""The audit log: entries kept whole and in order across files and writers, read back newest
first, and written by ``blmk-index`` for every change it makes to the index."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import Actor, AuditLog, command_line_actor
from indexer.audit import AUDIT_FOLDER, OUTCOMES
from indexer.cli import main as blmk_index
from indexer.lock import BuildLock
from indexer.store import IndexStore
from tests.conftest import BIN, REPO, html_page, write_corpus

EDITOR = Actor("sam.jones@example.nhs.uk", "editor")
PUBLISHER = Actor("priya", "publisher")
ENTRY_KEYS = {"time", "account", "role", "action", "target", "outcome", "reason", "details"}


def log_files(state: Path) -> list[Path]:
    return sorted((state / AUDIT_FOLDER).glob("*.jsonl"))


def raw_lines(state: Path) -> list[str]:
    return [line for path in log_files(state) for line in path.read_text().splitlines()]


def test_an_entry_is_one_json_line_of_the_documented_fields(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    written = log.record(
        EDITOR, "document.delete", "news/flu.html", details={"trash": "20261202T0315Z-3fa9c1"}
    )
    assert set(written) == ENTRY_KEYS
    assert written["account"] == EDITOR.account and written["role"] == "editor"
    assert (written["action"], written["target"]) == ("document.delete", "news/flu.html")
    assert (written["outcome"], written["reason"]) == ("done", None)
    assert written["details"] == {"trash": "20261202T0315Z-3fa9c1"}
    assert written["time"].startswith("20")
    [line] = (tmp_path / "audit" / "audit.jsonl").read_text().splitlines()
    assert json.loads(line) == written
    assert list(log.entries()) == [written]


def test_refusals_keep_their_reason_and_details_default_to_empty(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    refused = log.record(PUBLISHER, "trash.restore", "x", "refused", reason="a document is there")
    assert (refused["outcome"], refused["reason"], refused["details"]) == (
        "refused",
        "a document is there",
        {},
    )


def test_an_unknown_outcome_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    with pytest.raises(ValueError, match="done, refused, failed"):
        log.record(EDITOR, "document.upload", "a.html", outcome="maybe")
    assert OUTCOMES == ("done", "refused", "failed")
    assert list(log.entries()) == []


def test_details_json_cannot_hold_are_written_as_text(tmp_path: Path) -> None:
    written = AuditLog(tmp_path).record(EDITOR, "index.update", "x", details={"path": tmp_path})
    assert written["details"] == {"path": str(tmp_path)}


def test_the_command_line_actor_is_the_login_on_the_server() -> None:
    actor = command_line_actor()
    assert actor.role == "server" and actor.account.endswith(" (command line)")


def test_entries_come_newest_first_across_rotated_files_and_none_is_lost(
    tmp_path: Path,
) -> None:
    log = AuditLog(tmp_path, rotate_bytes=2_000)
    for number in range(200):
        log.record(EDITOR, "document.upload", f"news/{number}.html", details={"n": number})
    files = log_files(tmp_path)
    assert len(files) > 5
    assert all(path.stat().st_size <= 2_000 for path in files)
    rotated = [path.name for path in files if path.name != "audit.jsonl"]
    assert len(set(rotated)) == len(rotated) == len(files) - 1
    assert [entry["details"]["n"] for entry in log.entries()] == list(range(199, -1, -1))


def test_rotation_keeps_order_when_the_clock_was_set_back(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, rotate_bytes=300)
    future = tmp_path / "audit" / "audit-29991231T235959999999Z.jsonl"
    future.parent.mkdir(parents=True)
    future.write_text(json.dumps({"action": "oldest"}) + "\n")
    for number in range(6):
        log.record(EDITOR, "document.upload", f"{number}.html")
    actions = [entry["action"] for entry in log.entries()]
    assert actions == ["document.upload"] * 6 + ["oldest"]


def test_a_line_too_long_for_one_file_still_gets_a_file_of_its_own(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, rotate_bytes=100)
    log.record(EDITOR, "document.upload", "a.html", details={"note": "x" * 500})
    log.record(EDITOR, "document.upload", "b.html", details={"note": "y" * 500})
    assert len(log_files(tmp_path)) == 2
    assert [entry["target"] for entry in log.entries()] == ["b.html", "a.html"]


def test_long_files_are_read_backwards_whole(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)  # one file of more than a read chunk
    for number in range(600):
        log.record(EDITOR, "document.upload", "a.html", details={"n": number, "pad": "p" * 150})
    assert (tmp_path / "audit" / "audit.jsonl").stat().st_size > 64 * 1024
    assert [entry["details"]["n"] for entry in log.entries()] == list(range(599, -1, -1))


@pytest.fixture
def mixed(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path, rotate_bytes=600)
    log.record(EDITOR, "document.upload", "a.html")
    log.record(PUBLISHER, "document.delete", "a.html")
    log.record(EDITOR, "documents.export", "all")  # another group, despite the shared start
    log.record(PUBLISHER, "trash.restore", "a.html")
    log.record(EDITOR, "document.replace", "b.html")
    log.record(PUBLISHER, "sign_in", "priya")
    return log


@pytest.mark.parametrize(
    ("account", "action", "expected"),
    [
        (None, None, ["sign_in", "replace", "restore", "export", "delete", "upload"]),
        (EDITOR.account, None, ["replace", "export", "upload"]),
        (None, "document", ["replace", "delete", "upload"]),
        (None, "document.delete", ["delete"]),
        (None, "sign_in", ["sign_in"]),
        (None, "doc", []),
        (PUBLISHER.account, "document", ["delete"]),
        ("nobody", None, []),
    ],
    ids=[
        "everything",
        "one account",
        "a group",
        "one action",
        "an action without a group",
        "not a prefix of a word",
        "account and group",
        "an unknown account",
    ],
)
def test_entries_are_filtered_by_account_and_action(
    mixed: AuditLog, account: str | None, action: str | None, expected: list[str]
) -> None:
    found = mixed.entries(account=account, action=action)
    assert [entry["action"].rsplit(".", 1)[-1] for entry in found] == expected


def test_pages_count_what_the_filters_leave(mixed: AuditLog) -> None:
    first = mixed.page(1, per_page=4)
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 4, 6, 2)
    assert [entry["action"] for entry in first["entries"]] == [
        "sign_in",
        "document.replace",
        "trash.restore",
        "documents.export",
    ]
    second = mixed.page(2, per_page=4)
    assert [entry["action"] for entry in second["entries"]] == [
        "document.delete",
        "document.upload",
    ]
    assert mixed.page(3, per_page=4)["entries"] == []
    filtered = mixed.page(1, per_page=2, action="document")
    assert (filtered["total"], filtered["pages"], len(filtered["entries"])) == (3, 2, 2)
    assert mixed.page(1, per_page=3)["pages"] == 2  # exactly full pages


def test_an_empty_log_is_one_empty_page(tmp_path: Path) -> None:
    empty = AuditLog(tmp_path / "never-written").page()
    assert empty == {"entries": [], "page": 1, "per_page": 50, "total": 0, "pages": 1}
    assert not (tmp_path / "never-written").exists()  # reading creates nothing


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (1, 0), (-1, 5)])
def test_pages_start_at_one(tmp_path: Path, page: int, per_page: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        AuditLog(tmp_path).page(page, per_page)


def test_a_line_torn_by_a_power_cut_is_skipped_and_the_next_entry_kept(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.record(EDITOR, "document.upload", "a.html")
    log.record(EDITOR, "document.upload", "b.html")
    current = tmp_path / "audit" / "audit.jsonl"
    with current.open("ab") as out:  # half a line and no newline: the write never finished
        out.write(b'{"time": "2026-12-02T03:15:00+00:00", "account": "sa')
    assert [entry["target"] for entry in log.entries()] == ["b.html", "a.html"]
    log.record(EDITOR, "document.upload", "c.html")  # starts a line of its own
    assert [entry["target"] for entry in log.entries()] == ["c.html", "b.html", "a.html"]
    with current.open("ab") as out:  # garbage, an undecodable line and a JSON non-object
        out.write(b"\xff\xfe not text\n[1, 2]\n\n")
    log.record(EDITOR, "document.upload", "d.html")
    assert [entry["target"] for entry in log.entries()] == ["d.html", "c.html", "b.html", "a.html"]


WRITER = """
import sys
from pathlib import Path
from indexer import Actor, AuditLog

state, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
log = AuditLog(state, rotate_bytes=4096)
actor = Actor(f"writer-{worker}", "editor")
for number in range(count):
    log.record(actor, "document.upload", f"{worker}/{number}.html", details={"n": number})
"""


def test_concurrent_writers_lose_no_line_and_tear_none(tmp_path: Path) -> None:
    writers, count = 4, 100
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(worker), str(count)], cwd=REPO
        )
        for worker in range(writers)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    lines = raw_lines(tmp_path)
    assert len(lines) == writers * count
    parsed = [json.loads(line) for line in lines]  # every line whole
    assert len(log_files(tmp_path)) > 3  # rotation happened while they wrote
    entries = list(AuditLog(tmp_path).entries())
    assert sorted(map(json.dumps, entries)) == sorted(map(json.dumps, parsed))
    for worker in range(writers):
        mine = [e["details"]["n"] for e in entries if e["account"] == f"writer-{worker}"]
        assert mine == list(range(count - 1, -1, -1))  # each writer's own order kept


def test_log_files_are_readable_by_owner_and_group_only(tmp_path: Path) -> None:
    previous = os.umask(0o077)  # a umask stricter than the log's own mode
    try:
        log = AuditLog(tmp_path, rotate_bytes=300)
        for number in range(5):
            log.record(EDITOR, "document.upload", f"{number}.html")
    finally:
        os.umask(previous)
    files = log_files(tmp_path)
    assert len(files) > 1
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o640}


# blmk-index writes the log for every change it makes to the index.


def article(topic: str) -> str:
    return html_page(
        f"{topic.title()} news",
        f"<p>This article is about {topic}. " + "It has several sentences of text. " * 6 + "</p>",
    )


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    corpus = write_corpus(
        tmp_path / "corpus", {f"news/{word}.html": article(word) for word in ("flu", "parking")}
    )
    return {"corpus": corpus, "index": tmp_path / "index", "state": tmp_path / "state"}


def run(command: str, site: dict[str, Path], *extra: str) -> int:
    places = ["--index", str(site["index"]), "--state", str(site["state"])]
    if command in ("build", "update"):
        places += ["--corpus", str(site["corpus"])]
    return blmk_index([command, *places, *extra])


def test_build_update_and_rollback_are_recorded(site: dict[str, Path]) -> None:
    log = AuditLog(site["state"])
    me = command_line_actor()
    target = str(site["index"].resolve())

    assert run("build", site) == 0
    [built] = log.entries()
    assert (built["action"], built["outcome"], built["reason"]) == ("index.rebuild", "done", None)
    assert (built["account"], built["role"], built["target"]) == (me.account, "server", target)
    first = IndexStore(site["index"]).current()
    assert first is not None
    assert built["details"]["version"] == first.name
    assert (built["details"]["indexed"], built["details"]["added"]) == (2, 2)

    (site["corpus"] / "news" / "flu.html").write_text(article("measles"))
    (site["corpus"] / "news" / "parking.html").unlink()
    (site["corpus"] / "news" / "clinics.html").write_text(article("clinics"))
    assert run("update", site) == 0
    updated = next(log.entries())
    second = IndexStore(site["index"]).current()
    assert second is not None and second != first
    assert (updated["action"], updated["outcome"]) == ("index.update", "done")
    details = updated["details"]
    assert (details["version"], details["published"]) == (second.name, True)
    counts = [details[key] for key in ("added", "changed", "removed", "skipped")]
    assert counts == [1, 1, 1, 0]

    assert run("rollback", site) == 0
    rolled = next(log.entries())
    assert (rolled["action"], rolled["outcome"]) == ("index.rollback", "done")
    assert rolled["details"] == {"from": second.name, "to": first.name}

    assert run("rollback", site) == 1
    refused = next(log.entries())
    assert (refused["action"], refused["outcome"]) == ("index.rollback", "refused")
    assert "no earlier published version" in refused["reason"]
    assert [entry["action"] for entry in log.entries()] == [
        "index.rollback",
        "index.rollback",
        "index.update",
        "index.rebuild",
    ]


def test_an_update_with_nothing_to_do_is_recorded_as_publishing_nothing(
    site: dict[str, Path],
) -> None:
    assert run("build", site) == 0
    assert run("update", site) == 0
    nothing = next(AuditLog(site["state"]).entries())
    assert (nothing["action"], nothing["outcome"]) == ("index.update", "done")
    assert nothing["details"]["published"] is False
    assert nothing["details"]["unchanged"] == 2


def test_a_failed_build_is_recorded_with_its_reason(site: dict[str, Path]) -> None:
    for page in (site["corpus"] / "news").iterdir():
        page.write_text("")  # nothing left that can be indexed
    assert run("build", site) == 1
    [failed] = AuditLog(site["state"]).entries()
    assert (failed["action"], failed["outcome"]) == ("index.rebuild", "failed")
    assert "nothing published" in failed["reason"]


def test_a_build_refused_while_another_runs_is_recorded(site: dict[str, Path]) -> None:
    with BuildLock(site["index"]):
        assert run("update", site) == 2
    [refused] = AuditLog(site["state"]).entries()
    assert (refused["action"], refused["outcome"]) == ("index.update", "refused")
    assert "another build" in refused["reason"]


def test_status_and_extract_record_nothing(site: dict[str, Path]) -> None:
    assert blmk_index(["status", "--index", str(site["index"])]) == 0
    assert blmk_index(["extract", str(site["corpus"] / "news" / "flu.html")]) == 0
    assert not site["state"].exists()


def test_a_log_that_cannot_be_written_is_a_warning_not_a_failure(
    site: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    site["state"].write_text("a file where the state folder should be")
    assert run("build", site) == 0
    assert IndexStore(site["index"]).current() is not None
    warning = capsys.readouterr().err
    assert "warning: the audit log" in warning
    assert str(site["state"] / "audit" / "audit.jsonl") in warning


def test_the_state_option_overrides_the_environment(tmp_path: Path) -> None:
    environment = os.environ | {"BLMK_STATE_DIR": str(tmp_path / "from-environment")}
    state = tmp_path / "from-option"
    done = subprocess.run(
        [BIN / "blmk-index", "rollback", "--index", tmp_path / "index", "--state", state],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / "from-environment").exists()
    [refused] = AuditLog(state).entries()
    assert (refused["action"], refused["outcome"]) == ("index.rollback", "refused")
