"""Who may do what on the admin API, and the record of what they did.

``StaffAccess`` signs every request to an admin resource in with its Bearer token (a staff
account's, or the break-glass ``BLMK_ADMIN_TOKEN``) and checks the account's role against
what the route needs. ``AuditTrail`` then appends one audit entry for every change asked for
(a POST or DELETE), whether it was done, refused or failed, with the client's address in its
details (``address``: behind a trusted proxy, the client's as the proxy forwarded it). Resources
only name their actions and, where it helps, add details (``note_change``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import falcon

from indexer import Actor, AuditLog
from search_api.http.errors import http_error
from search_api.http.throttle import FailureThrottle
from search_api.staff.accounts import ROLES, Account, Accounts, role_allows

log = logging.getLogger(__name__)

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# What each role may do, for the admin page to show only what works (GET /admin/me).
CAPABILITIES: dict[str, str] = {
    "analytics": "editor",
    "audit": "editor",
    "documents.read": "editor",
    "rules": "editor",
    "documents.change": "publisher",
    "index.update": "publisher",
    "index.crawl": "publisher",
    "index.rebuild": "admin",
    "index.rollback": "admin",
    "accounts": "admin",
}


class AdminResource:
    """An admin route. ``roles`` names the least role each method needs (an unnamed method
    needs admin); ``actions`` the audit action each changing method records."""

    roles: ClassVar[Mapping[str, str]] = {"GET": "editor"}
    actions: ClassVar[Mapping[str, str]] = {}

    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        """What a change asked of this route is done to, as the audit log names it even
        when the change is refused before the resource runs."""
        return req.path


def signed_in(req: falcon.Request) -> Account:
    """The account ``StaffAccess`` signed the request in with."""
    account: Account = req.context.account
    return account


def require_role(req: falcon.Request, needed: str, doing: str) -> None:
    """Refuses (403) unless the signed-in account's role reaches ``needed``."""
    account = signed_in(req)
    if not role_allows(account.role, needed):
        raise http_error(
            "forbidden",
            f"{doing} needs the {needed} role (or higher); {account.name} is {account.role}",
        )


def note_change(
    req: falcon.Request,
    target: str,
    action: str | None = None,
    **details: Any,
) -> None:
    """What the audit entry for this request names: the target, details, and the action
    when it is not the method's usual one (an upload that replaced a file)."""
    req.context.audit_target = target
    if action:
        req.context.audit_action = action
    earlier: dict[str, Any] = req.context.get("audit_details") or {}
    req.context.audit_details = earlier | details


def actor(account: Account) -> Actor:
    return Actor(account.name, account.role)


class StaffAccess:
    """Middleware: an admin route needs a valid token whose account's role is enough. An
    address that keeps sending invalid tokens is made to wait (``throttle.py``)."""

    def __init__(self, accounts: Accounts, throttle: FailureThrottle | None = None) -> None:
        self.accounts = accounts
        self.throttle = throttle or FailureThrottle()

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        if not isinstance(resource, AdminResource):
            return
        address = req.remote_addr or ""
        if wait := self.throttle.wait_seconds(address):
            raise http_error(
                "too_many_attempts",
                "too many invalid staff tokens from this address; try again later",
                retry_after=math.ceil(wait),
            )
        header = req.get_header("Authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise http_error(
                "unauthorized",
                "this route needs a staff token: Authorization: Bearer <token>",
                challenges=["Bearer"],
            )
        account = self.accounts.authenticate(given.strip())
        if account is None:
            self.throttle.failed(address)
            raise http_error(
                "unauthorized",
                "this token is not valid: it may have been revoked or replaced; ask an admin"
                " for a new one",
                challenges=['Bearer error="invalid_token"'],
            )
        req.context.account = account
        req.context.audit_target = resource.audit_target(req, params)
        needed = resource.roles.get(req.method, ROLES[-1])
        require_role(req, needed, f"{req.method} {req.path}")


class AuditTrail:
    """Middleware: one audit entry per change asked of an admin route by a signed-in
    account: done (2xx), refused (4xx, with the error's message) or failed (5xx)."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if not isinstance(resource, AdminResource) or req.method not in CHANGES:
            return
        account = req.context.get("account")
        if account is None:  # never signed in: the access log has it, the audit log cannot
            return
        status = resp.status_code
        outcome = "done" if status < 400 else "refused" if status < 500 else "failed"
        reason = None
        if outcome != "done" and isinstance(resp.media, dict):
            reason = resp.media.get("error", {}).get("message")
        action = req.context.get("audit_action") or resource.actions.get(
            req.method, f"{req.method.lower()} {req.path}"
        )
        details = dict(req.context.get("audit_details") or {})
        if req.remote_addr:
            details["address"] = req.remote_addr
        try:
            self.audit.record(
                actor(account),
                action,
                req.context.get("audit_target") or req.path,
                outcome,
                reason,
                details,
            )
        except OSError:  # a full disk must not turn a change that was made into an error
            log.exception("could not write the audit entry for %s %s", req.method, req.path)
