"""HTTP resources: read the request, call one service method, return its result as JSON."""

from __future__ import annotations

import falcon

from search_api.errors import invalid_parameter
from search_api.params import parse_search_request
from search_api.search import SearchRequest, SearchService
from search_api.web import render_search_page

MAX_SUGGEST_CHARS = 100


class SearchResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.service.search(parse_search_request(req))


class SuggestResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        typed = req.get_param("q") or ""
        if len(typed) > MAX_SUGGEST_CHARS:
            raise invalid_parameter("q", f"at most {MAX_SUGGEST_CHARS} characters")
        resp.media = self.service.suggest(typed.strip())


class DocumentResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        document = self.service.document(doc_id)
        if document is None:
            raise falcon.HTTPNotFound(
                description=f"no document with id {doc_id!r}", code="document_not_found"
            )
        resp.media = document


class HealthResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.service.health()


class SearchPage:
    """GET /: the public search page, complete without JavaScript."""

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        try:
            request = parse_search_request(req)
        except falcon.HTTPBadRequest as error:
            resp.status = falcon.HTTP_400
            resp.text = render_search_page(SearchRequest(), None, error=error.description)
            return
        searched = request.q or any(request.filters.values())
        response = self.service.search(request) if searched else None
        resp.text = render_search_page(request, response)


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
