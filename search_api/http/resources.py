"""HTTP resources: read the request, call one service method, return its result as JSON.

Every public GET also answers HEAD (``on_head = on_get``): Falcon sends the same status and
headers, the body's length included, and no body. Load balancers, uptime monitors and link
checkers ask with HEAD, and HTTP requires a server to support it wherever it supports GET.
A HEAD search is not counted in the query analytics: it is a machine checking a link, not a
person searching.
"""

from __future__ import annotations

from pathlib import Path

import falcon

from search_api.engine import IndexUnavailable, SearchRequest, SearchService
from search_api.http.errors import UNAVAILABLE_RETRY_SECONDS, http_error, invalid_parameter
from search_api.http.lifecycle import DRAINING_MESSAGE, Lifecycle
from search_api.http.params import parse_search_request
from search_api.http.views import render_search_page
from search_api.staff.analytics import QueryLog

MAX_SUGGEST_CHARS = 100
# What the public page says when no index can be served; the reason, which is for staff,
# goes to the log and to the JSON API.
UNAVAILABLE_MESSAGE = "Search is not available just now. Please try again in a few minutes."
OPENAPI = Path(__file__).with_name("openapi.json")


class SearchResource:
    def __init__(self, service: SearchService, queries: QueryLog) -> None:
        self.service = service
        self.queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = parse_search_request(req)
        answer = self.service.search(request)
        req.context.result_count = answer["total"]
        if req.method == "GET":
            self.queries.count_search(request, answer, req.referer)
        resp.media = answer

    on_head = on_get


class SuggestResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        typed = req.get_param("q") or ""
        if len(typed) > MAX_SUGGEST_CHARS:
            raise invalid_parameter("q", f"at most {MAX_SUGGEST_CHARS} characters")
        answer = self.service.suggest(typed.strip())
        req.context.result_count = len(answer["suggestions"])
        resp.media = answer

    on_head = on_get


class DocumentResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        document = self.service.document(doc_id)
        if document is None:
            raise http_error("document_not_found", f"no document with id {doc_id!r}")
        resp.media = document

    on_head = on_get


class HealthResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.service.health()

    on_head = on_get


class LivenessResource:
    """GET /health/live: the process answers. Nothing else is checked, so that a service
    manager restarts only a process that is stuck, never one waiting for its index."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "live"}

    on_head = on_get


class ReadinessResource:
    """GET /health/ready: whether a proxy should send this process requests. Not while it
    drains (``lifecycle.py``), nor while no index version answers."""

    def __init__(self, service: SearchService, lifecycle: Lifecycle) -> None:
        self.service = service
        self.lifecycle = lifecycle

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.lifecycle.draining:
            raise http_error("not_ready", DRAINING_MESSAGE)
        try:
            health = self.service.health()
        except IndexUnavailable as error:
            raise http_error("not_ready", str(error)) from error
        resp.media = {"status": "ready", "version": health["index_version"]}

    on_head = on_get


class OpenApiResource:
    """GET /openapi.json: the API's description, shipped beside the code it describes (a test
    checks the two agree: every route described, every answer as described)."""

    def __init__(self) -> None:
        self.document = OPENAPI.read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.document

    on_head = on_get


class SearchPage:
    """GET /: the public search page, complete without JavaScript."""

    def __init__(self, service: SearchService, queries: QueryLog) -> None:
        self.service = service
        self.queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        try:
            request = parse_search_request(req)
        except falcon.HTTPError as error:
            resp.status = falcon.HTTP_400
            resp.text = render_search_page(SearchRequest(), None, error=error.description)
            return
        searched = request.q or any(request.filters.values())
        try:
            response = self.service.search(request) if searched else None
        except IndexUnavailable:
            resp.status = falcon.HTTP_503
            resp.retry_after = UNAVAILABLE_RETRY_SECONDS
            resp.text = render_search_page(request, None, error=UNAVAILABLE_MESSAGE)
            return
        if response is not None:
            req.context.result_count = response["total"]
            if req.method == "GET":
                self.queries.count_search(request, response, req.referer)
        resp.text = render_search_page(request, response)

    on_head = on_get


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class SecurityHeaders:
    """Middleware: headers that keep pages from running injected script or being framed."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, succeeded: bool
    ) -> None:
        resp.set_headers(SECURITY_HEADERS)


class CrossOrigin:
    """Middleware: lets the configured websites (and only those) read the search and
    suggestion answers from their own pages, for the embeddable search box."""

    def __init__(self, origins: frozenset[str]) -> None:
        self.origins = origins

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, succeeded: bool
    ) -> None:
        resp.append_header("Vary", "Origin")
        origin = req.get_header("Origin")
        if origin and origin in self.origins and req.path in ("/search", "/suggest"):
            resp.set_header("Access-Control-Allow-Origin", origin)
