"""The admin API over HTTP: thin resources over ``search_api.staff``.

Every route needs a staff token (``staff_access.py`` signs the request in and checks the
role each resource names); every change is audited there too. Documents are addressed by
their corpus-relative id, which may contain slashes, so one resource answers for a document
and for its revisions (``document_route``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import falcon

from indexer import AuditLog
from search_api.http.errors import http_error, invalid_parameter
from search_api.http.params import int_param
from search_api.http.staff_access import (
    CAPABILITIES,
    AdminResource,
    actor,
    note_change,
    require_role,
    signed_in,
)
from search_api.http.views import render_admin_page
from search_api.staff.accounts import Accounts, role_allows
from search_api.staff.analytics import QueryLog
from search_api.staff.history import DocumentHistory, Written
from search_api.staff.jobs import IndexJob, IndexJobs, index_versions, roll_back
from search_api.staff.uploads import (
    Upload,
    describe_document,
    list_documents,
    store_upload,
)

UPLOAD_FIELDS = ("folder", "topic", "scope", "title")
# The JSON bodies of POST /admin/crawl and POST /admin/urls, and what a CMS may ask of a page.
CRAWL_FIELDS = ("url", "full")
URL_FIELDS = ("url", "action")
URL_ACTIONS = ("index", "remove")
# GET /admin/analytics: weeks asked for at most (fewer are answered when fewer are kept), and
# queries listed per table at most.
MAX_ANALYTICS_WEEKS = 52
MAX_ANALYTICS_LIMIT = 100
# GET /admin/audit: entries per page at most.
MAX_AUDIT_PER_PAGE = 200


def expected_hash(req: falcon.Request) -> str | None:
    """The content hash ``If-Match`` names (``*``: any content), or None without one."""
    tags = req.if_match
    if not tags:
        return None
    return "*" if "*" in tags else str(tags[0])


@dataclass(frozen=True, slots=True)
class DocumentRoute:
    """``/admin/documents/{doc_id}`` read: a document, its revisions, or a revision's restore."""

    doc_id: str
    revisions: bool = False
    revision: str | None = None


def document_route(rest: str) -> DocumentRoute:
    """Document ids end in a file suffix, so ``revisions`` as a last part is never one."""
    parts = rest.split("/")
    if len(parts) >= 2 and parts[-1] == "revisions":
        return DocumentRoute("/".join(parts[:-1]), revisions=True)
    if len(parts) >= 4 and parts[-3] == "revisions" and parts[-1] == "restore":
        return DocumentRoute("/".join(parts[:-3]), revision=parts[-2])
    return DocumentRoute(rest)


class AdminMe(AdminResource):
    """GET /admin/me: who is signed in, and what their role lets them do."""

    def __init__(self, keep_days: float) -> None:
        self.keep_days = keep_days

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        account = signed_in(req)
        resp.media = {
            "account": account.to_json(),
            "can": {name: role_allows(account.role, role) for name, role in CAPABILITIES.items()},
            "keep_days": self.keep_days,
        }


class AdminDocuments(AdminResource):
    roles: ClassVar[Mapping[str, str]] = {"GET": "editor", "POST": "publisher"}
    actions: ClassVar[Mapping[str, str]] = {"POST": "document.upload"}

    def __init__(self, corpus: Path, history: DocumentHistory, max_upload_bytes: int) -> None:
        self.corpus = corpus
        self.history = history
        self.max_upload_bytes = max_upload_bytes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"documents": list_documents(self.corpus, self.history)}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if (req.content_length or 0) > self.max_upload_bytes + 64 * 1024:
            raise _too_large(self.max_upload_bytes)
        upload = self._read_form(req)
        note_change(req, upload.filename, file=upload.filename, bytes=len(upload.data))
        written = store_upload(
            self.corpus,
            self.history,
            upload,
            self.max_upload_bytes,
            by=signed_in(req).name,
            if_match=expected_hash(req),
        )
        _note_written(req, written, "document.replace" if written.previous_sha256 else None)
        resp.status = falcon.HTTP_200 if written.previous_sha256 else falcon.HTTP_201
        resp.location = f"/documents/{written.id}"
        resp.etag = written.sha256
        resp.media = _written_json(written)

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
    """A document (GET, DELETE), its revisions (GET .../revisions) and a revision's restore
    (POST .../revisions/{rev}/restore)."""

    roles: ClassVar[Mapping[str, str]] = {
        "GET": "editor",
        "POST": "publisher",
        "DELETE": "publisher",
    }
    actions: ClassVar[Mapping[str, str]] = {"POST": "document.restore", "DELETE": "document.delete"}

    def __init__(self, corpus: Path, history: DocumentHistory) -> None:
        self.corpus = corpus
        self.history = history

    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        return document_route(params["doc_id"]).doc_id

    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        route = document_route(doc_id)
        if route.revision is not None:
            raise http_error("method_not_allowed", f"{req.path} takes POST only")
        if route.revisions:
            revisions = self.history.revisions(route.doc_id)
            resp.media = {
                "document": route.doc_id,
                "revisions": [revision.to_json() for revision in revisions],
            }
            return
        document = describe_document(self.corpus, self.history, route.doc_id)
        document["revisions"] = len(self.history.revisions(route.doc_id))
        resp.etag = document["sha256"]
        resp.media = document

    def on_post(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        route = document_route(doc_id)
        if route.revision is None:
            raise http_error(
                "method_not_allowed",
                f"{req.path} does not take POST (restore a revision at"
                " /admin/documents/{id}/revisions/{revision}/restore)",
            )
        note_change(req, route.doc_id, revision_restored=route.revision)
        written = self.history.restore_revision(
            route.doc_id, route.revision, by=signed_in(req).name, if_match=expected_hash(req)
        )
        _note_written(req, written)
        resp.etag = written.sha256
        resp.media = _written_json(written) | {"restored": route.revision}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        route = document_route(doc_id)
        if route.revisions or route.revision is not None:
            raise http_error("method_not_allowed", f"{req.path} does not take DELETE")
        entry = self.history.delete(
            route.doc_id, by=signed_in(req).name, if_match=expected_hash(req)
        )
        note_change(req, route.doc_id, sha256=entry.sha256, trash_id=entry.id)
        resp.media = {"deleted": route.doc_id, "trash": entry.to_json(), "indexed": False}


class AdminTrash(AdminResource):
    def __init__(self, history: DocumentHistory) -> None:
        self.history = history

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"trash": [entry.to_json() for entry in self.history.trash()]}


class AdminTrashRestore(AdminResource):
    roles: ClassVar[Mapping[str, str]] = {"POST": "publisher"}
    actions: ClassVar[Mapping[str, str]] = {"POST": "trash.restore"}

    def __init__(self, history: DocumentHistory) -> None:
        self.history = history

    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        return params["entry_id"]

    def on_post(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        entry = self.history.restore_from_trash(entry_id, by=signed_in(req).name)
        note_change(req, entry.document, trash_id=entry.id, sha256=entry.sha256)
        resp.etag = entry.sha256
        resp.media = {"restored": entry.document, "trash": entry.to_json(), "indexed": False}


class AdminAudit(AdminResource):
    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = int_param(req, "page", 1, low=1, high=1_000_000)
        per_page = int_param(req, "per_page", 50, low=1, high=MAX_AUDIT_PER_PAGE)
        account = req.get_param("account") or None
        action = req.get_param("action") or None
        resp.media = self.audit.page(page, per_page, account=account, action=action)


class AdminAccounts(AdminResource):
    roles: ClassVar[Mapping[str, str]] = {"GET": "admin"}

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"accounts": [account.to_json() for account in self.accounts.list()]}


class IndexJobResource(AdminResource):
    """A route that starts an index job (publisher), audited against the index folder."""

    roles: ClassVar[Mapping[str, str]] = {"POST": "publisher"}

    def __init__(self, jobs: IndexJobs, index_dir: Path) -> None:
        self.jobs = jobs
        self.index_dir = index_dir

    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        return _folder(self.index_dir)


class AdminReindex(IndexJobResource):
    actions: ClassVar[Mapping[str, str]] = {"POST": "index.update"}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        full = bool(req.get_param_as_bool("full", default=False))
        if full:
            note_change(req, _folder(self.index_dir), "index.rebuild")
        if full:
            require_role(req, "admin", "a full rebuild")
        job = self.jobs.start(full=full, by=actor(signed_in(req)))
        note_change(req, _folder(self.index_dir), job=job.id)
        _accepted(resp, job)


class AdminCrawl(IndexJobResource):
    """POST /admin/crawl: a crawl of one configured website, or of each in turn."""

    actions: ClassVar[Mapping[str, str]] = {"POST": "index.crawl"}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _json_object(req, CRAWL_FIELDS, empty_allowed=True)
        url = body.get("url")
        if url is not None and not isinstance(url, str):
            raise invalid_parameter("url", "must be a web address (text), or left out")
        full = body.get("full", False)
        if not isinstance(full, bool):
            raise invalid_parameter("full", "must be true or false")
        note_change(req, _folder(self.index_dir), url=url or "every configured site", full=full)
        job = self.jobs.start_crawl(url or None, full=full, by=actor(signed_in(req)))
        note_change(req, _folder(self.index_dir), job=job.id)
        _accepted(resp, job)


class AdminUrls(IndexJobResource):
    """POST /admin/urls: "this page was published" or "withdrawn", from a CMS's hook."""

    actions: ClassVar[Mapping[str, str]] = {"POST": "index.url"}

    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        """The page named, even when the request is refused before the body is checked."""
        try:
            url = _json_object(req, URL_FIELDS).get("url")
        except falcon.HTTPError:
            return req.path
        return url.strip() if isinstance(url, str) and url.strip() else req.path

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _json_object(req, URL_FIELDS)
        url, action = body.get("url"), body.get("action")
        if not isinstance(url, str) or not url.strip():
            raise invalid_parameter("url", "give the page's web address (http:// or https://)")
        if action not in URL_ACTIONS:
            raise invalid_parameter("action", f"must be one of: {', '.join(URL_ACTIONS)}")
        url = url.strip()
        note_change(req, url, operation=action)
        pages = [url]
        job = self.jobs.start_crawl(
            url,
            only=pages if action == "index" else None,
            remove=pages if action == "remove" else None,
            by=actor(signed_in(req)),
        )
        note_change(req, url, job=job.id)
        _accepted(resp, job)


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
    roles: ClassVar[Mapping[str, str]] = {"POST": "admin"}
    actions: ClassVar[Mapping[str, str]] = {"POST": "index.rollback"}

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def audit_target(self, req: falcon.Request, params: Mapping[str, str]) -> str:
        return _folder(self.index_dir)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        current = roll_back(self.index_dir)
        note_change(req, _folder(self.index_dir), to=current)
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


def _note_written(req: falcon.Request, written: Written, action: str | None = None) -> None:
    note_change(
        req,
        written.id,
        action,
        sha256=written.sha256,
        previous_sha256=written.previous_sha256,
        revision=written.revision,
    )


def _written_json(written: Written) -> dict[str, object]:
    return {
        "path": written.id,
        "id": written.id,
        "sha256": written.sha256,
        "replaced": written.previous_sha256 is not None,
        "revision": written.revision,
        "indexed": False,
    }


def _accepted(resp: falcon.Response, job: IndexJob) -> None:
    """202, naming where the job's progress is followed."""
    resp.status = falcon.HTTP_202
    resp.location = f"/admin/jobs/{job.id}"
    resp.media = {"job": job.to_json()}


def _json_object(
    req: falcon.Request, fields: tuple[str, ...], empty_allowed: bool = False
) -> dict[str, Any]:
    """The request's JSON object, holding none but ``fields`` (``{}`` for no body at all,
    where that is allowed)."""
    if empty_allowed and not req.content_length:
        return {}
    if not (req.content_type or "").startswith("application/json"):
        raise http_error("unsupported_media_type", "send the body as application/json")
    try:
        body = req.get_media(default_when_empty=None)
    except falcon.MediaMalformedError:
        raise invalid_parameter("body", "is not valid JSON") from None
    if body is None and empty_allowed:
        return {}
    if not isinstance(body, dict):
        raise invalid_parameter("body", f"must be a JSON object with {', '.join(fields)}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise invalid_parameter(
            unknown[0], f"is not a field this route reads (it reads {', '.join(fields)})"
        )
    return body


def _folder(path: Path) -> str:
    """A folder as the audit log names it, the same whichever command changed it."""
    return str(path.resolve())


def _too_large(limit: int) -> falcon.HTTPError:
    return http_error("too_large", f"file: uploads may be at most {limit / 1_048_576:g} MB")
