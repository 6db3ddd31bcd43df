"""One error shape for every failure: ``{"error": {"code": ..., "message": ...}}``.

Every code the API answers with is in ``ERROR_CODES``, with its status and what it tells a
client (``tests/test_docs.py`` checks that ``docs/api.md`` lists each one). Resources raise
``http_error(code, message)``; the domain errors of both packages (``search_api.errors`` and
``indexer.errors``) carry their own ``code`` and are turned into responses here, by
``add_error_handlers``, so no resource translates them itself. Falcon's own errors (unknown
route, wrong method) go through the same serializer, and anything unexpected becomes a logged
500 with the same shape and no stack trace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import falcon

from indexer import IndexerError
from search_api.errors import IndexUnavailable, ServiceError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ErrorCode:
    status: int
    meaning: str


ERROR_CODES: dict[str, ErrorCode] = {
    "invalid_parameter": ErrorCode(400, "a query parameter is missing, malformed or out of range"),
    "invalid_upload": ErrorCode(
        400, "the upload is not a file the index can read, or a field is bad"
    ),
    "invalid_rules": ErrorCode(
        400, "the editorial rules have errors and were not published; the problems are listed"
    ),
    "invalid_url": ErrorCode(400, "the web address to crawl or index is not an http(s) URL"),
    "site_not_configured": ErrorCode(
        400, "the web address is not on a website the index crawls (BLMK_CRAWL_SITES)"
    ),
    "unauthorized": ErrorCode(
        401,
        "the admin API needs a valid staff token (Authorization: Bearer <token>); a revoked or"
        " rotated token is no longer valid",
    ),
    "forbidden": ErrorCode(
        403, "the account's role does not allow this; the message names the role"
    ),
    "not_found": ErrorCode(404, "nothing is served at this path"),
    "document_not_found": ErrorCode(404, "no document, or no source file, has this id"),
    "job_not_found": ErrorCode(404, "no index job has this id (only recent jobs are kept)"),
    "no_report": ErrorCode(404, "no build has run yet, so there is no report"),
    "no_draft": ErrorCode(404, "the account has no draft of the rules saved to preview or publish"),
    "trash_entry_not_found": ErrorCode(404, "nothing in the trash has this id (or it was purged)"),
    "revision_not_found": ErrorCode(404, "the document has no revision with this id"),
    "account_not_found": ErrorCode(404, "no staff account has this name"),
    "rule_revision_not_found": ErrorCode(
        404, "the editorial rules have no revision with this number"
    ),
    "method_not_allowed": ErrorCode(405, "this path does not accept this method"),
    "build_in_progress": ErrorCode(409, "a build is running; try again when it has finished"),
    "no_sites_configured": ErrorCode(
        409, "a crawl of every website was asked for, but none is configured (BLMK_CRAWL_SITES)"
    ),
    "nothing_to_roll_back": ErrorCode(409, "there is no earlier published version to go back to"),
    "document_exists": ErrorCode(
        409, "a document with this id is in the corpus again: delete or rename it first"
    ),
    "account_exists": ErrorCode(409, "an account with this name exists already"),
    "rules_changed": ErrorCode(
        409,
        "someone published the editorial rules since the draft was made: reload, compare and"
        " publish again",
    ),
    "checks_failed": ErrorCode(
        409,
        "the change would fail a quality check (a search that must find a document in its top"
        " places); nothing was published: the message lists the failing checks",
    ),
    "document_changed": ErrorCode(
        412, "someone changed the document since it was read (If-Match): reload and retry"
    ),
    "too_large": ErrorCode(413, "the upload is over the size limit"),
    "unsupported_media_type": ErrorCode(
        415, "the request body is not in the form this route reads"
    ),
    "too_many_requests": ErrorCode(429, "too many requests; wait as Retry-After says"),
    "too_many_attempts": ErrorCode(429, "too many wrong admin tokens from this address"),
    "insufficient_storage": ErrorCode(507, "the disk is full: nothing was changed"),
    "internal_error": ErrorCode(500, "the service failed; the error has been logged"),
    "unavailable": ErrorCode(503, "the service cannot answer just now"),
    "index_unavailable": ErrorCode(503, "no index version can be served; retry after a build"),
    "not_ready": ErrorCode(
        503,
        "this process is not taking requests: it is shutting down, or has no index version to"
        " serve; a proxy should send them to another",
    ),
}
# Codes for Falcon's own errors, which carry only a status.
_STATUS_CODES = {
    400: "invalid_parameter",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
# How long a client is asked to wait (Retry-After) when no index can be served.
UNAVAILABLE_RETRY_SECONDS = 30


class ApiError(falcon.HTTPError):
    """An HTTP error answered with one of ``ERROR_CODES`` at that code's status."""

    def __init__(self, code: str, message: str, **options: Any) -> None:
        status = falcon.code_to_http_status(ERROR_CODES[code].status)
        super().__init__(status, description=message, **options)
        self.error_code = code


def http_error(
    code: str,
    message: str,
    *,
    retry_after: int | None = None,
    challenges: list[str] | None = None,
) -> ApiError:
    """The error for ``code`` (an unregistered code is a programming error: ``KeyError``),
    with a Retry-After header, or a WWW-Authenticate challenge for a 401."""
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if challenges:
        headers["WWW-Authenticate"] = ", ".join(challenges)
    return ApiError(code, message, headers=headers or None)


def invalid_parameter(name: str, message: str) -> ApiError:
    return http_error("invalid_parameter", f"{name}: {message}")


def error_body(error: falcon.HTTPError, path: str = "") -> dict[str, Any]:
    code = getattr(error, "error_code", None) or _STATUS_CODES.get(
        error.status_code, "internal_error"
    )
    message = error.description
    if not message and error.status_code == 404:
        message = f"nothing is served at {path}"
    elif not message and error.status_code == 405:
        message = f"{path} does not accept this method"
    return {"error": {"code": code, "message": message or error.title}}


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(error, req.path)


def add_error_handlers(app: falcon.App) -> None:
    """Maps every error to the one JSON shape. Falcon picks the most specific handler, so the
    domain trees' handler wins over the catch-all for unexpected errors."""
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(ServiceError, _domain)
    app.add_error_handler(IndexerError, _domain)
    app.set_error_serializer(serialize_error)


def _domain(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any) -> None:
    code = getattr(error, "code", "")
    if code not in ERROR_CODES:  # a domain error no route should let out: still a bug
        _unexpected(req, resp, error, params)
    retry = UNAVAILABLE_RETRY_SECONDS if isinstance(error, IndexUnavailable) else None
    raise http_error(code, str(error), retry_after=retry)


def _unexpected(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any) -> None:
    if isinstance(error, falcon.HTTPError):
        raise error
    log.exception("unhandled error on %s %s", req.method, req.path, exc_info=error)
    raise http_error(
        "internal_error", "The search service failed to answer; the error has been logged."
    )
