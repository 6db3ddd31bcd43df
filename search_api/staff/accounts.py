"""Staff accounts: one token per person, each with a role, so that every change made through
the admin API is done by someone the audit log can name.

A token is shown once, when the account is made or its token rotated, and never stored: the
state folder keeps only its SHA-256. A token is 256 random bits, so guessing one from its hash
is out of reach and a slow password hash would add nothing but a delay to every request.

    <state_dir>/accounts.json        the accounts and their token hashes, mode 0600
    <state_dir>/accounts-used.json   when each account was last used (to the minute or so)
    <state_dir>/accounts.lock        flock held while either file is changed

Several server processes and ``blmk-admin`` share these files. Each change is made under the
flock and written whole (``write_atomically``), so a reader sees the accounts before or after
it. A server re-reads ``accounts.json`` when the file changed, checking at most every
``refresh_seconds``: a revoked or rotated token stops working on every process within one
interval, without a restart. ``BLMK_ADMIN_TOKEN``, when set, is the break-glass token: it acts
as an admin named ``BREAK_GLASS`` and needs no file, for the day the accounts are lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from indexer import FileLock, utc_stamp, write_atomically
from search_api.errors import AccountExists, AccountNotFound

# Each role can do everything the one before it can.
ROLES = ("editor", "publisher", "admin")
BREAK_GLASS = "break-glass (BLMK_ADMIN_TOKEN)"
ACCOUNTS_FILE = "accounts.json"
USED_FILE = "accounts-used.json"
LOCK_FILE = "accounts.lock"
FILE_FORMAT = 1
# Tokens say what they are (a secret scanner, or a person finding one in a paste, can tell).
TOKEN_PREFIX = "blmk_"
TOKEN_BYTES = 32
# An account's last use is written at most this often by one process.
USED_EVERY_SECONDS = 60.0
# Letters, digits and . _ - @, so that an email address works as a name.
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
log = logging.getLogger(__name__)


class AccountsFileDamaged(Exception):
    """``accounts.json`` is not a file this version wrote (edited by hand, or of a newer
    format). Changes are refused rather than written over accounts that could not be read."""


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: str
    created: str
    last_used: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created": self.created,
            "last_used": self.last_used,
        }


@dataclass(frozen=True, slots=True)
class _Stored:
    """An account as ``accounts.json`` holds it: with its token's hash."""

    name: str
    role: str
    created: str
    token_sha256: str

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "role": self.role,
            "created": self.created,
            "token_sha256": self.token_sha256,
        }


def role_allows(role: str, needed: str) -> bool:
    """Whether an account of ``role`` may do what needs ``needed``; a role this version does
    not know allows nothing."""
    if needed not in ROLES:
        raise ValueError(f"unknown role {needed!r}: the roles are {', '.join(ROLES)}")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"bad account name {name!r}: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
            " (an email address works)"
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")


class Accounts:
    def __init__(
        self, state_dir: Path, break_glass_token: str | None = None, refresh_seconds: float = 2.0
    ) -> None:
        self.state_dir = state_dir
        self.path = state_dir / ACCOUNTS_FILE
        self.used_path = state_dir / USED_FILE
        self.lock_path = state_dir / LOCK_FILE
        self.refresh_seconds = refresh_seconds
        self._break_glass = (
            Account(BREAK_GLASS, "admin", utc_stamp(), None) if break_glass_token else None
        )
        self._break_glass_token = _encoded(break_glass_token or "")
        # What authenticate() reads: the file's accounts as last loaded, and which file that was.
        self._guard = threading.Lock()
        self._loaded: dict[str, _Stored] = {}
        self._loaded_signature: tuple[int, int, int] | None = None
        self._checked_at: float | None = None
        # When this process last wrote each account's last use (time.monotonic).
        self._used_written: dict[str, float] = {}

    # Managing accounts (blmk-admin, the admin API's account routes)

    def add(self, name: str, role: str) -> str:
        """Makes the account and answers its token: the only time the token is seen."""
        check_name(name)
        check_role(role)
        token = _new_token()
        with self._locked():
            stored = self._read_stored()
            if name in stored:
                raise AccountExists(f"an account named {name!r} exists already")
            stored[name] = _Stored(name, role, utc_stamp(), _digest(token))
            self._write(stored)
            self._forget_use(name)  # an earlier account of that name was used, not this one
        return token

    def list(self) -> list[Account]:
        """Every account (never the break-glass token), sorted by name."""
        stored = self._read_stored()
        used = self._read_used()
        return [
            Account(s.name, s.role, s.created, used.get(s.name))
            for s in sorted(stored.values(), key=lambda s: s.name)
        ]

    def revoke(self, name: str) -> Account:
        """Removes the account; its token stops working (on other processes within one
        refresh interval). Answers the account as it was."""
        with self._locked():
            stored = self._read_stored()
            if name not in stored:
                raise AccountNotFound(f"no account is named {name!r}")
            removed = stored.pop(name)
            last_used = self._read_used().get(name)
            self._write(stored)
            self._forget_use(name)
        return Account(removed.name, removed.role, removed.created, last_used)

    def rotate(self, name: str) -> str:
        """A new token for the account; the old one stops working at once."""
        token = _new_token()
        with self._locked():
            stored = self._read_stored()
            if name not in stored:
                raise AccountNotFound(f"no account is named {name!r}")
            stored[name] = replace(stored[name], token_sha256=_digest(token))
            self._write(stored)
        return token

    # Signing in (every admin request)

    def authenticate(self, token: str) -> Account | None:
        """The account the token belongs to, or None. Every account's hash is compared in
        constant time, so the answer's timing says nothing about which hashes are near."""
        if not token:
            return None
        if self._break_glass is not None and hmac.compare_digest(
            _encoded(token), self._break_glass_token
        ):
            return self._break_glass
        digest = _digest(token)
        found: _Stored | None = None
        for stored in self._current().values():
            if hmac.compare_digest(stored.token_sha256, digest):
                found = stored
        if found is None:
            return None
        now = utc_stamp()
        self._note_use(found.name, now)
        return Account(found.name, found.role, found.created, now)

    def _current(self) -> dict[str, _Stored]:
        """The accounts, re-read when the file changed and ``refresh_seconds`` have passed
        since the last look. A damaged file lets no account in (the break-glass token still
        works) rather than answering with accounts that may have been revoked."""
        with self._guard:
            now = time.monotonic()
            if self._checked_at is not None and now - self._checked_at < self.refresh_seconds:
                return self._loaded
            self._checked_at = now
            try:
                handle = open(self.path, "rb")  # noqa: SIM115 - closed below, read only if new
            except FileNotFoundError:
                self._loaded, self._loaded_signature = {}, None
                return self._loaded
            with handle:
                # The signature of the file opened, not of whatever the path names by now.
                # Every write makes a new file (a new inode), so a rotation that leaves the
                # size and, within a clock tick, the mtime as they were is still seen.
                info = os.fstat(handle.fileno())
                signature = (info.st_ino, info.st_size, info.st_mtime_ns)
                if signature == self._loaded_signature:
                    return self._loaded
                self._loaded_signature = signature
                try:
                    self._loaded = _parse(handle.read(), self.path)
                except AccountsFileDamaged as error:  # said once per change of the file
                    log.error("no staff account can sign in: %s", error)
                    self._loaded = {}
            return self._loaded

    def _note_use(self, name: str, stamp: str) -> None:
        """Records the use, at most once a minute per account from this process. The time is
        for staff to see who still uses their account: losing one is fine, failing the
        request for it is not."""
        now = time.monotonic()
        with self._guard:
            last = self._used_written.get(name)
            if last is not None and now - last < USED_EVERY_SECONDS:
                return
            self._used_written[name] = now
        try:
            with self._locked():
                used = self._read_used()
                if used.get(name, "") < stamp:
                    used[name] = stamp
                known = self._read_stored()
                used = {n: t for n, t in used.items() if n in known}
                self._write_used(used)
        except (OSError, AccountsFileDamaged) as error:
            log.warning("could not record that %s signed in: %s", name, error)

    # Files

    def _locked(self) -> FileLock:
        return FileLock(self.lock_path, mode=0o600)

    def _read_stored(self) -> dict[str, _Stored]:
        """The accounts as the file holds them (to change and write back under the lock:
        a damaged file raises, so it is never written over)."""
        try:
            return _parse(self.path.read_bytes(), self.path)
        except FileNotFoundError:
            return {}

    def _write(self, stored: dict[str, _Stored]) -> None:
        document = {
            "format": FILE_FORMAT,
            "accounts": [stored[name].to_json() for name in sorted(stored)],
        }
        write_atomically(self.path, json.dumps(document, indent=2) + "\n", mode=0o600)
        with self._guard:
            self._checked_at = None  # this process sees its own change at once

    def _read_used(self) -> dict[str, str]:
        try:
            data = json.loads(self.used_path.read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # approximate by design: a damaged file only loses the times
        if not isinstance(data, dict):
            return {}
        return {n: t for n, t in data.items() if isinstance(n, str) and isinstance(t, str)}

    def _write_used(self, used: dict[str, str]) -> None:
        text = json.dumps(dict(sorted(used.items())), indent=2) + "\n"
        write_atomically(self.used_path, text, durable=False, mode=0o600)

    def _forget_use(self, name: str) -> None:
        used = self._read_used()
        if name in used:
            del used[name]
            self._write_used(used)
        with self._guard:
            self._used_written.pop(name, None)


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def _digest(token: str) -> str:
    return hashlib.sha256(_encoded(token)).hexdigest()


def _encoded(token: str) -> bytes:
    """Any text a request header can carry, lone surrogates included, as bytes to compare."""
    return token.encode("utf-8", "surrogatepass")


def _parse(data: bytes, path: Path) -> dict[str, _Stored]:
    """``accounts.json``'s accounts by name; ``AccountsFileDamaged`` when it is not the file
    this module writes."""
    try:
        document = json.loads(data)
        if document.get("format") != FILE_FORMAT:
            raise ValueError(f"format {document.get('format')!r}, not {FILE_FORMAT}")
        accounts: dict[str, _Stored] = {}
        for entry in document["accounts"]:
            stored = _Stored(
                str(entry["name"]),
                str(entry["role"]),
                str(entry["created"]),
                str(entry["token_sha256"]),
            )
            check_name(stored.name)
            check_role(stored.role)
            if not _SHA256_HEX.fullmatch(stored.token_sha256):
                raise ValueError(f"the token hash of {stored.name!r} is not SHA-256 hex")
            if stored.name in accounts:
                raise ValueError(f"{stored.name!r} is there twice")
            accounts[stored.name] = stored
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise AccountsFileDamaged(
            f"{path} cannot be read ({error}); restore it from a backup"
        ) from None
    return accounts
