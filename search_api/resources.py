"""HTTP resources: read the request, call one service method, return its result as JSON."""

from __future__ import annotations

import falcon

from search_api.params import parse_search_request
from search_api.search import SearchService


class SearchResource:
    def __init__(self, service: SearchService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.service.search(parse_search_request(req))


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
