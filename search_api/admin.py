"""``blmk-admin``: manage the staff accounts on the server, from the command line.

blmk-admin accounts add NAME --role ROLE [--state DIR]
blmk-admin accounts list [--state DIR]
blmk-admin accounts revoke NAME [--state DIR]
blmk-admin accounts rotate NAME [--state DIR]

``add`` and ``rotate`` print the new token alone on the last line, so that a script can take
it with ``tail -n 1``; it is shown this once and kept nowhere. Every change, and every change
refused, is appended to the audit log under the login of whoever ran the command.

Exit status: 0 done; 1 refused (no such account, a name taken already, the accounts file
damaged, the state folder not writable); 2 the command line or a ``BLMK_`` variable is wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from indexer import AuditLog, command_line_actor
from search_api.errors import AccountExists, AccountNotFound
from search_api.http.settings import Settings
from search_api.staff.accounts import ROLES, Account, Accounts, AccountsFileDamaged

PROGRAM = "blmk-admin"
# The columns of ``accounts list``: never a token or its hash.
LIST_COLUMNS = ("name", "role", "created", "last used")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
    except ValueError as error:  # a BLMK_ variable that cannot be read: the message names it
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 2
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse has said what is wrong (or printed the help)
        return 0 if stop.code is None else int(stop.code)
    state_dir: Path = getattr(args, "state", None) or settings.state_dir
    accounts = Accounts(state_dir, refresh_seconds=settings.refresh_seconds)
    audit = AuditLog(state_dir, settings.audit_rotate_bytes)
    command: str = args.command
    action = f"account.{command}"
    try:
        if command == "list":
            _print_table(accounts.list())
            return 0
        if command == "add":
            token = accounts.add(args.name, args.role)
            return _done(
                audit,
                action,
                args.name,
                [
                    f"Added {args.name}, role {args.role}.",
                    "Their token, shown this once (give it to them; it is kept nowhere):",
                    token,
                ],
                details={"role": args.role},
            )
        if command == "revoke":
            revoked = accounts.revoke(args.name)
            return _done(
                audit,
                action,
                args.name,
                [f"Revoked {args.name} (role {revoked.role}): its token no longer works."],
                details={"role": revoked.role},
            )
        token = accounts.rotate(args.name)
        return _done(
            audit,
            action,
            args.name,
            [
                f"New token for {args.name}; the old one no longer works.",
                "Shown this once (give it to them; it is kept nowhere):",
                token,
            ],
        )
    except ValueError as error:  # a name or role that can never be right: nothing was tried
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 2
    except (AccountExists, AccountNotFound) as error:
        print(f"{PROGRAM}: {error.message}", file=sys.stderr)
        details = {"role": args.role} if command == "add" else None
        _record(audit, action, args.name, "refused", error.message, details)
        return 1
    except (AccountsFileDamaged, OSError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1


def _done(
    audit: AuditLog,
    action: str,
    target: str,
    lines: list[str],
    details: dict[str, str] | None = None,
) -> int:
    """Records the change, then shows it. The change is made by then, so a new token is shown
    even when the audit log cannot be written (else the account would hold a token nobody
    has); the exit status says the record is missing."""
    recorded = _record(audit, action, target, "done", None, details)
    for line in lines:
        print(line)
    return 0 if recorded else 1


def _record(
    audit: AuditLog,
    action: str,
    target: str,
    outcome: str,
    reason: str | None,
    details: dict[str, str] | None,
) -> bool:
    try:
        audit.record(command_line_actor(), action, target, outcome, reason, details)
    except OSError as error:
        print(
            f"{PROGRAM}: the audit log could not record {action} {target}: {error}", file=sys.stderr
        )
        return False
    return True


def _parser() -> argparse.ArgumentParser:
    # --state is taken before or after the command; SUPPRESS keeps one from hiding the other.
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="state folder holding the accounts and the audit log (BLMK_STATE_DIR)",
    )
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description=__doc__.splitlines()[0].split(": ", 1)[1], parents=[state]
    )
    areas = parser.add_subparsers(dest="area", required=True)
    area = areas.add_parser("accounts", help="staff accounts and their tokens", parents=[state])
    commands = area.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="make an account and print its token", parents=[state])
    add.add_argument("name", help="the person's name or email address")
    add.add_argument("--role", required=True, metavar="ROLE", help=f"one of {', '.join(ROLES)}")
    commands.add_parser("list", help="the accounts (never their tokens)", parents=[state])
    revoke = commands.add_parser(
        "revoke", help="remove an account: its token stops working", parents=[state]
    )
    rotate = commands.add_parser(
        "rotate", help="give an account a new token: the old one stops working", parents=[state]
    )
    for command in (revoke, rotate):
        command.add_argument("name", help="the account's name")
    return parser


def _print_table(accounts: list[Account]) -> None:
    if not accounts:
        print("No staff accounts yet: blmk-admin accounts add NAME --role ROLE")
        return
    rows = [tuple(c.upper() for c in LIST_COLUMNS)] + [
        (a.name, a.role, a.created, a.last_used or "never") for a in accounts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(LIST_COLUMNS))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


if __name__ == "__main__":
    sys.exit(main())
