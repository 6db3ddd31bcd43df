"""One error shape for every failure: ``{"error": {"code": ..., "message": ...}}``.

Falcon's own errors (unknown route, wrong method, bad parameter) and ours go through the same
serializer; anything unexpected becomes a logged 500 with the same shape and no stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

log = logging.getLogger(__name__)

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


def invalid_parameter(name: str, message: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(
        title="Invalid parameter", description=f"{name}: {message}", code="invalid_parameter"
    )


def error_body(error: falcon.HTTPError, path: str = "") -> dict[str, Any]:
    code = error.code if isinstance(error.code, str) else None
    code = code or _STATUS_CODES.get(error.status_code, "error")
    message = error.description
    if not message and error.status_code == 404:
        message = f"nothing is served at {path}"
    elif not message and error.status_code == 405:
        message = f"{path} does not accept this method"
    return {"error": {"code": code, "message": message or error.title}}


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(error, req.path)


# How long a client is asked to wait (Retry-After) when no index can be served.
UNAVAILABLE_RETRY_SECONDS = 30


def handle_unavailable(
    req: falcon.Request, resp: falcon.Response, error: Exception, params
) -> None:
    """No index can be served (``IndexUnavailable``): a 503 saying why, to retry later."""
    raise falcon.HTTPServiceUnavailable(
        description=str(error), code="index_unavailable", retry_after=UNAVAILABLE_RETRY_SECONDS
    )


def handle_unexpected(req: falcon.Request, resp: falcon.Response, error: Exception, params) -> None:
    if isinstance(error, falcon.HTTPError):
        raise error
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(
        description="The search service failed to answer; the error has been logged.",
        code="internal_error",
    )
