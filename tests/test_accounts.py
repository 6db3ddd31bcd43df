"""Staff accounts (``search_api.staff.accounts``) and ``blmk-admin``, on real state folders."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from indexer import AuditLog
from search_api.admin import main
from search_api.errors import AccountExists, AccountNotFound
from search_api.staff.accounts import (
    ACCOUNTS_FILE,
    BREAK_GLASS,
    ROLES,
    USED_FILE,
    Accounts,
    role_allows,
)
from tests.conftest import BIN

# What secrets.token_urlsafe(32) gives: 32 bytes, base64url without padding, 43 characters.
TOKEN = re.compile(r"blmk_[A-Za-z0-9_-]{43}")


def admin(state: Path, *args: str) -> list[str]:
    """``blmk-admin`` run in this process against ``state``, as the list of its argv."""
    return ["--state", str(state), *args]


def run_admin(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def added(capsys: pytest.CaptureFixture[str], state: Path, name: str, role: str) -> str:
    """The token ``accounts add`` printed, alone on its last line."""
    status, out, err = run_admin(capsys, *admin(state, "accounts", "add", name, "--role", role))
    assert status == 0, err
    return out.splitlines()[-1]


def state_files(state: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in state.rglob("*") if path.is_file()}


def audit_entries(state: Path) -> list[dict[str, Any]]:
    """Oldest first, as they were written."""
    return list(reversed(list(AuditLog(state).entries())))


# Tokens and the files that hold the accounts


def test_add_prints_the_token_alone_on_the_last_line_and_keeps_only_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_admin(
        capsys, *admin(tmp_path, "accounts", "add", "ada@example.nhs.uk", "--role", "editor")
    )
    assert status == 0, err
    lines = out.splitlines()
    token = lines[-1]
    assert len(lines) >= 2
    assert TOKEN.fullmatch(token), token
    assert token not in "\n".join(lines[:-1])
    assert err == ""

    for path, data in state_files(tmp_path).items():
        assert token.encode() not in data, f"{path} holds the token"
        assert token.removeprefix("blmk_").encode() not in data, f"{path} holds the token"

    accounts_file = tmp_path / ACCOUNTS_FILE
    assert stat.S_IMODE(accounts_file.stat().st_mode) == 0o600
    document = json.loads(accounts_file.read_text(encoding="utf-8"))
    [stored] = document["accounts"]
    assert stored == {
        "name": "ada@example.nhs.uk",
        "role": "editor",
        "created": stored["created"],
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
    }
    account = Accounts(tmp_path).authenticate(token)
    assert account is not None
    assert (account.name, account.role, account.created) == (
        "ada@example.nhs.uk",
        "editor",
        stored["created"],
    )


def test_tokens_are_new_random_each_time(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    tokens = {accounts.add(f"person{n}", "editor") for n in range(20)}
    tokens.add(accounts.rotate("person0"))
    assert len(tokens) == 21
    assert all(TOKEN.fullmatch(token) for token in tokens)
    # 43 base64url characters of secrets.token_urlsafe(32): 256 bits. Spread over the alphabet.
    assert len(set("".join(t.removeprefix("blmk_") for t in tokens))) > 50


def test_a_private_file_stays_private_after_changes(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    accounts.add("ada", "editor")
    (tmp_path / ACCOUNTS_FILE).chmod(0o644)  # an operator's slip
    accounts.add("bob", "admin")
    assert stat.S_IMODE((tmp_path / ACCOUNTS_FILE).stat().st_mode) == 0o600


# Listing


def test_list_shows_name_role_created_and_last_used_and_never_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = added(capsys, tmp_path, "ada", "publisher")
    bob = added(capsys, tmp_path, "bob@example.org", "admin")
    assert Accounts(tmp_path).authenticate(ada) is not None

    status, out, err = run_admin(capsys, *admin(tmp_path, "accounts", "list"))
    assert status == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "ROLE", "CREATED", "LAST", "USED"]
    assert [row.split()[:2] for row in rows] == [["ada", "publisher"], ["bob@example.org", "admin"]]
    listed = {a.name: a for a in Accounts(tmp_path).list()}
    assert listed["ada"].last_used is not None
    assert rows[0].split()[2:] == [listed["ada"].created, listed["ada"].last_used]
    assert rows[1].split()[2:] == [listed["bob@example.org"].created, "never"]
    assert ada not in out and bob not in out
    assert hashlib.sha256(ada.encode()).hexdigest() not in out


def test_list_with_no_accounts_says_how_to_add_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_admin(capsys, *admin(tmp_path, "accounts", "list"))
    assert status == 0
    assert "accounts add" in out
    assert Accounts(tmp_path).list() == []


def test_accounts_are_listed_by_name_and_their_json_holds_no_hash(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    for name in ("carol", "Ada", "bob"):
        accounts.add(name, "editor")
    listed = accounts.list()
    assert [a.name for a in listed] == ["Ada", "bob", "carol"]
    assert listed[0].to_json() == {
        "name": "Ada",
        "role": "editor",
        "created": listed[0].created,
        "last_used": None,
    }


# Revoking and rotating


def test_revoke_stops_the_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = added(capsys, tmp_path, "ada", "editor")
    keep = added(capsys, tmp_path, "bob", "editor")
    assert Accounts(tmp_path).authenticate(token) is not None

    status, out, err = run_admin(capsys, *admin(tmp_path, "accounts", "revoke", "ada"))
    assert (status, err) == (0, "")
    assert "Revoked ada" in out
    assert Accounts(tmp_path).authenticate(token) is None
    assert [a.name for a in Accounts(tmp_path).list()] == ["bob"]
    assert Accounts(tmp_path).authenticate(keep) is not None


def test_revoke_in_this_process_takes_effect_at_once(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path, refresh_seconds=3600)
    token = accounts.add("ada", "editor")
    assert accounts.authenticate(token) is not None
    revoked = accounts.revoke("ada")
    assert (revoked.name, revoked.role) == ("ada", "editor")
    assert revoked.last_used is not None
    assert accounts.authenticate(token) is None


def test_rotate_gives_a_new_token_and_stops_the_old_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = added(capsys, tmp_path, "ada", "publisher")
    accounts = Accounts(tmp_path, refresh_seconds=0)
    assert accounts.authenticate(old) is not None

    status, out, err = run_admin(capsys, *admin(tmp_path, "accounts", "rotate", "ada"))
    assert (status, err) == (0, "")
    new = out.splitlines()[-1]
    assert TOKEN.fullmatch(new) and new != old
    assert accounts.authenticate(old) is None
    account = accounts.authenticate(new)
    assert account is not None
    assert (account.name, account.role) == ("ada", "publisher")
    for path, data in state_files(tmp_path).items():
        assert new.encode() not in data and old.encode() not in data, path


def test_rotate_in_this_process_takes_effect_at_once(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path, refresh_seconds=3600)
    old = accounts.add("ada", "admin")
    assert accounts.authenticate(old) is not None
    new = accounts.rotate("ada")
    assert accounts.authenticate(old) is None
    assert accounts.authenticate(new) is not None


# Other server processes


def test_another_process_sees_a_revoke_at_once_with_no_refresh_interval(tmp_path: Path) -> None:
    server = Accounts(tmp_path, refresh_seconds=0)
    token = Accounts(tmp_path).add("ada", "editor")
    assert server.authenticate(token) is not None
    done = subprocess.run(
        [BIN / "blmk-admin", "accounts", "revoke", "ada", "--state", tmp_path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert server.authenticate(token) is None


def test_another_process_sees_a_revoke_within_its_refresh_interval(tmp_path: Path) -> None:
    interval = 1.0
    server = Accounts(tmp_path, refresh_seconds=interval)
    token = Accounts(tmp_path).add("ada", "editor")
    assert server.authenticate(token) is not None
    looked = time.monotonic()
    Accounts(tmp_path).revoke("ada")
    still = server.authenticate(token)
    if time.monotonic() - looked < interval * 0.8:  # a slow machine may be past it already
        assert still is not None, "the file was re-read before the interval was up"
    time.sleep(interval)
    assert server.authenticate(token) is None


def test_another_process_sees_a_new_account_and_a_rotation(tmp_path: Path) -> None:
    server = Accounts(tmp_path, refresh_seconds=0)
    assert server.authenticate("blmk_" + "x" * 43) is None  # loads the (missing) file
    staff = Accounts(tmp_path)
    token = staff.add("ada", "editor")
    assert server.authenticate(token) is not None
    # A rotation leaves the file the same size (and maybe the same mtime): still a change.
    new = staff.rotate("ada")
    assert server.authenticate(token) is None
    assert server.authenticate(new) is not None


# Break-glass, roles, wrong tokens


def test_the_break_glass_token_signs_in_as_an_admin(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path, break_glass_token="a long break-glass secret")
    account = accounts.authenticate("a long break-glass secret")
    assert account is not None
    assert (account.name, account.role) == (BREAK_GLASS, "admin")
    assert accounts.authenticate("a long break-glass secre") is None
    assert accounts.list() == []  # it is not an account
    assert not (tmp_path / ACCOUNTS_FILE).exists()
    assert Accounts(tmp_path).authenticate("a long break-glass secret") is None


@pytest.mark.parametrize(
    "token",
    ["", " ", "blmk_", "Bearer x", "\udcff\ud800", "é" * 100, "blmk_" + "A" * 43],
    ids=["empty", "space", "prefix", "words", "surrogates", "accents", "well-formed"],
)
def test_a_wrong_token_signs_in_as_nobody(tmp_path: Path, token: str) -> None:
    accounts = Accounts(tmp_path, break_glass_token="break-glass", refresh_seconds=0)
    accounts.add("ada", "admin")
    assert accounts.authenticate(token) is None


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        ("editor", "editor", True),
        ("editor", "publisher", False),
        ("editor", "admin", False),
        ("publisher", "editor", True),
        ("publisher", "publisher", True),
        ("publisher", "admin", False),
        ("admin", "editor", True),
        ("admin", "publisher", True),
        ("admin", "admin", True),
        ("server", "editor", False),
        ("", "editor", False),
    ],
    ids=lambda value: str(value),
)
def test_each_role_can_do_what_the_one_before_can(role: str, needed: str, allowed: bool) -> None:
    assert role_allows(role, needed) is allowed


def test_role_allows_refuses_to_guess_what_an_unknown_need_means() -> None:
    with pytest.raises(ValueError, match="editor, publisher, admin"):
        role_allows("admin", "owner")
    assert ROLES == ("editor", "publisher", "admin")


# Names, roles and refusals


@pytest.mark.parametrize(
    "name",
    ["a", "ada.lovelace@nhs.net", "A_B-c.9", "x" * 64],
    ids=["one letter", "email", "punctuation", "64 characters"],
)
def test_good_names(tmp_path: Path, name: str) -> None:
    token = Accounts(tmp_path).add(name, "editor")
    account = Accounts(tmp_path).authenticate(token)
    assert account is not None and account.name == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 65, "ada lovelace", "ada/../bob", "ada\n", "zoë", "ada;rm", "ada:admin"],
    ids=["empty", "65 characters", "space", "slash", "newline", "accent", "semicolon", "colon"],
)
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="1 to 64 letters, digits"):
        Accounts(tmp_path).add(name, "editor")
    assert not (tmp_path / ACCOUNTS_FILE).exists()


def test_an_unknown_role_is_refused_naming_the_roles(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'owner'.*editor, publisher, admin"):
        Accounts(tmp_path).add("ada", "owner")


def test_duplicates_and_unknown_names_are_refused(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path)
    token = accounts.add("ada", "editor")
    with pytest.raises(AccountExists, match="ada"):
        accounts.add("ada", "admin")
    with pytest.raises(AccountNotFound, match="bob"):
        accounts.revoke("bob")
    with pytest.raises(AccountNotFound, match="bob"):
        accounts.rotate("bob")
    account = accounts.authenticate(token)
    assert account is not None and account.role == "editor"  # the duplicate changed nothing


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["accounts", "add", "ada lovelace", "--role", "editor"], 2, "bad account name"),
        (["accounts", "add", "bob", "--role", "owner"], 2, "unknown role 'owner'"),
        (["accounts", "add", "ada", "--role", "admin"], 1, "an account named 'ada' exists"),
        (["accounts", "revoke", "bob"], 1, "no account is named 'bob'"),
        (["accounts", "rotate", "bob"], 1, "no account is named 'bob'"),
        (["accounts", "add", "bob"], 2, "--role"),
        (["accounts", "remove", "ada"], 2, "invalid choice"),
        ([], 2, "required"),
    ],
    ids=[
        "bad name",
        "bad role",
        "duplicate",
        "revoke unknown",
        "rotate unknown",
        "no role",
        "no such command",
        "no command",
    ],
)
def test_refusals_and_mistakes_exit_with_their_status_and_say_why(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    status: int,
    message: str,
) -> None:
    token = added(capsys, tmp_path, "ada", "editor")
    before = (tmp_path / ACCOUNTS_FILE).read_bytes()
    answered, out, err = run_admin(capsys, *admin(tmp_path, *argv))
    assert answered == status
    assert message in err
    assert token not in out + err
    assert (tmp_path / ACCOUNTS_FILE).read_bytes() == before
    if status == 2 and argv[:2] == ["accounts", "add"] and "--role" in argv:
        assert err.startswith("blmk-admin: ")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["accounts", "add", "--help"]) == 0
    assert "--role" in capsys.readouterr().out


def test_state_may_be_given_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["--state", str(first), "accounts", "add", "ada", "--role", "editor"]) == 0
    assert main(["accounts", "add", "bob", "--role", "editor", "--state", str(second)]) == 0
    capsys.readouterr()
    assert [a.name for a in Accounts(first).list()] == ["ada"]
    assert [a.name for a in Accounts(second).list()] == ["bob"]


# A damaged accounts file


def test_a_damaged_accounts_file_is_never_written_over_and_lets_nobody_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = added(capsys, tmp_path, "ada", "admin")
    accounts_file = tmp_path / ACCOUNTS_FILE
    damaged = accounts_file.read_bytes()[:-20]
    accounts_file.write_bytes(damaged)

    status, _, err = run_admin(
        capsys, *admin(tmp_path, "accounts", "add", "bob", "--role", "editor")
    )
    assert status == 1
    assert "cannot be read" in err and str(accounts_file) in err
    assert accounts_file.read_bytes() == damaged
    server = Accounts(tmp_path, break_glass_token="break-glass", refresh_seconds=0)
    assert server.authenticate(token) is None
    account = server.authenticate("break-glass")
    assert account is not None and account.name == BREAK_GLASS


def test_a_damaged_accounts_file_is_reported_once_per_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    accounts = Accounts(tmp_path, refresh_seconds=0)
    token = accounts.add("ada", "editor")
    (tmp_path / ACCOUNTS_FILE).write_text("{", encoding="utf-8")
    for _ in range(3):
        assert accounts.authenticate(token) is None
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "no staff account can sign in" in caplog.records[0].getMessage()


# Last use


def test_the_last_use_is_recorded_at_most_once_a_minute(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path, refresh_seconds=0)
    token = accounts.add("ada", "editor")
    accounts.add("bob", "editor")
    assert all(a.last_used is None for a in accounts.list())

    account = accounts.authenticate(token)
    assert account is not None and account.last_used is not None
    used_file = tmp_path / USED_FILE
    assert json.loads(used_file.read_text(encoding="utf-8")) == {"ada": account.last_used}
    assert stat.S_IMODE(used_file.stat().st_mode) == 0o600
    listed = {a.name: a.last_used for a in Accounts(tmp_path).list()}
    assert listed == {"ada": account.last_used, "bob": None}

    written = os.stat(used_file)
    for _ in range(5):
        assert accounts.authenticate(token) is not None
    again = os.stat(used_file)
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


def test_the_last_use_is_merged_across_processes_and_forgotten_with_the_account(
    tmp_path: Path,
) -> None:
    staff = Accounts(tmp_path)
    ada, bob = staff.add("ada", "editor"), staff.add("bob", "editor")
    assert Accounts(tmp_path).authenticate(ada) is not None
    assert Accounts(tmp_path).authenticate(bob) is not None  # another process, another account
    assert set(json.loads((tmp_path / USED_FILE).read_text(encoding="utf-8"))) == {"ada", "bob"}

    staff.revoke("ada")
    staff.add("ada", "admin")  # someone new under the old name has not signed in yet
    listed = {a.name: a.last_used for a in staff.list()}
    assert listed["ada"] is None and listed["bob"] is not None


# The audit log


def test_every_change_and_refusal_is_audited_without_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = added(capsys, tmp_path, "ada", "publisher")
    assert main(admin(tmp_path, "accounts", "add", "ada", "--role", "admin")) == 1
    assert main(admin(tmp_path, "accounts", "rotate", "ada")) == 0
    second = capsys.readouterr().out.splitlines()[-1]
    assert main(admin(tmp_path, "accounts", "revoke", "ada")) == 0
    assert main(admin(tmp_path, "accounts", "revoke", "ada")) == 1
    assert main(admin(tmp_path, "accounts", "list")) == 0  # looking changes nothing
    assert main(admin(tmp_path, "accounts", "add", "bad name", "--role", "editor")) == 2
    capsys.readouterr()

    entries = audit_entries(tmp_path)
    assert [(e["action"], e["target"], e["outcome"]) for e in entries] == [
        ("account.add", "ada", "done"),
        ("account.add", "ada", "refused"),
        ("account.rotate", "ada", "done"),
        ("account.revoke", "ada", "done"),
        ("account.revoke", "ada", "refused"),
    ]
    assert entries[0]["details"] == {"role": "publisher"}
    assert entries[0]["reason"] is None
    assert entries[1]["details"] == {"role": "admin"}
    assert "exists already" in entries[1]["reason"]
    assert entries[3]["details"] == {"role": "publisher"}
    assert "no account is named 'ada'" in entries[4]["reason"]
    for entry in entries:
        assert entry["account"].endswith(" (command line)")
        assert entry["role"] == "server"
    for path, data in state_files(tmp_path).items():
        for token in (first, second):
            assert token.encode() not in data, f"{path} holds a token"


# The installed command


def test_the_installed_command_reads_the_state_folder_from_the_environment(
    tmp_path: Path,
) -> None:
    env = os.environ | {"BLMK_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [BIN / "blmk-admin", "accounts", "add", "ada@example.org", "--role", "admin"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.splitlines()[-1]
    assert TOKEN.fullmatch(token)
    account = Accounts(tmp_path / "state").authenticate(token)
    assert account is not None and (account.name, account.role) == ("ada@example.org", "admin")

    listed = subprocess.run(
        [BIN / "blmk-admin", "accounts", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    assert "ada@example.org" in listed.stdout and token not in listed.stdout


def test_a_bad_blmk_variable_exits_2_naming_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [BIN / "blmk-admin", "accounts", "list", "--state", tmp_path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ | {"BLMK_AUDIT_ROTATE_MB": "lots"},
    )
    assert done.returncode == 2
    assert done.stderr.startswith("blmk-admin: ")
    assert "BLMK_AUDIT_ROTATE_MB" in done.stderr
    assert not list(tmp_path.iterdir())
