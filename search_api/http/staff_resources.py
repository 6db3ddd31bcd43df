"""The admin API over HTTP: token-checked, thin resources over ``admin.py``.

Served only when an admin token is configured. Every route needs
``Authorization: Bearer <token>``: 401 without one, 403 with a wrong one (compared in constant
time).
"""

from __future__ import annotations

import hmac
import math
from pathlib import Path
from typing import Any

import falcon

from search_api.http.errors import http_error
from search_api.http.params import int_param
from search_api.http.throttle import FailureThrottle
from search_api.http.views import render_admin_page
from search_api.staff.analytics import QueryLog
from search_api.staff.jobs import IndexJobs, index_versions, roll_back
from search_api.staff.uploads import (
    Upload,
    delete_document,
    list_documents,
    store_upload,
)

UPLOAD_FIELDS = ("folder", "topic", "scope", "title")
# GET /admin/analytics: weeks asked for at most (fewer are answered when fewer are kept), and
# queries listed per table at most.
MAX_ANALYTICS_WEEKS = 52
MAX_ANALYTICS_LIMIT = 100


class AdminResource:
    """Marks a resource as admin-only; ``RequireToken`` checks every request to one."""


class RequireToken:
    """Middleware: a request routed to an admin resource must carry the admin token, and an
    address that keeps sending wrong ones is made to wait (``throttle.py``)."""

    def __init__(self, token: str, throttle: FailureThrottle | None = None) -> None:
        self.token = token.encode()
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
                "too many wrong admin tokens from this address; try again later",
                retry_after=math.ceil(wait),
            )
        header = req.get_header("Authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise http_error(
                "unauthorized",
                "this route needs the admin token: Authorization: Bearer <token>",
                challenges=["Bearer"],
            )
        if not hmac.compare_digest(given.strip().encode(), self.token):
            self.throttle.failed(address)
            raise http_error("forbidden", "the admin token is wrong")


class AdminDocuments(AdminResource):
    def __init__(self, corpus: Path, max_upload_bytes: int) -> None:
        self.corpus = corpus
        self.max_upload_bytes = max_upload_bytes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"documents": list_documents(self.corpus)}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if (req.content_length or 0) > self.max_upload_bytes + 64 * 1024:
            raise _too_large(self.max_upload_bytes)
        upload = self._read_form(req)
        stored = store_upload(self.corpus, upload, self.max_upload_bytes)
        resp.status = falcon.HTTP_201
        resp.location = f"/documents/{stored}"
        resp.media = {"path": stored, "id": stored, "indexed": False}

    def _read_form(self, req: falcon.Request) -> Upload:
        if not (req.content_type or "").startswith("multipart/form-data"):
            raise http_error(
                "unsupported_media_type",
                "send the upload as multipart/form-data, the file in field 'file'",
            )
        fields: dict[str, str] = {}
        filename, data = None, b""
        for part in req.get_media():
            if part.name == "file" and part.filename:
                filename = part.filename
                data = part.stream.read(self.max_upload_bytes + 1)
            elif part.name in UPLOAD_FIELDS:
                fields[part.name] = part.get_text() or ""
        if filename is None:
            raise http_error(
                "invalid_upload", "file: send the document in a form field named 'file'"
            )
        return Upload(filename=filename, data=data, **fields)


class AdminDocument(AdminResource):
    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus

    def on_delete(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        if not delete_document(self.corpus, doc_id):
            raise http_error("document_not_found", f"no source file {doc_id!r} in the corpus")
        resp.media = {"deleted": doc_id, "indexed": False}


class AdminReindex(AdminResource):
    def __init__(self, jobs: IndexJobs) -> None:
        self.jobs = jobs

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        full = req.get_param_as_bool("full", default=False)
        job = self.jobs.start(full=bool(full))
        resp.status = falcon.HTTP_202
        resp.location = f"/admin/jobs/{job.id}"
        resp.media = {"job": job.to_json()}


class AdminJob(AdminResource):
    def __init__(self, jobs: IndexJobs) -> None:
        self.jobs = jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            raise http_error("job_not_found", f"no job {job_id!r}")
        resp.media = {"job": job.to_json()}


class AdminReport(AdminResource):
    def __init__(self, jobs: IndexJobs) -> None:
        self.jobs = jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        report = self.jobs.last_report()
        if report is None:
            raise http_error("no_report", "no build has run yet")
        resp.media = report


class AdminVersions(AdminResource):
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = index_versions(self.index_dir)


class AdminRollback(AdminResource):
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        current = roll_back(self.index_dir)
        resp.media = {"current": current}


class AdminAnalytics(AdminResource):
    def __init__(self, queries: QueryLog) -> None:
        self.queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        weeks = int_param(req, "weeks", 4, low=1, high=MAX_ANALYTICS_WEEKS)
        limit = int_param(req, "limit", 20, low=1, high=MAX_ANALYTICS_LIMIT)
        resp.media = self.queries.report(weeks, limit)


class AdminPage:
    """GET /admin: the staff page. Public HTML; everything it does calls the token-checked
    API with the token the member of staff types in (kept for the browser session only)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = render_admin_page()


def _too_large(limit: int) -> falcon.HTTPError:
    return http_error("too_large", f"file: uploads may be at most {limit / 1_048_576:g} MB")
