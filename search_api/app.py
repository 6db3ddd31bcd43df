"""The Falcon application: routes, error handling, and the factory waitress serves."""

from __future__ import annotations

import falcon

from search_api.config import Settings
from search_api.errors import handle_unexpected, serialize_error
from search_api.resources import DocumentResource, HealthResource, SearchResource
from search_api.search import SearchService


def create_app(service: SearchService) -> falcon.App:
    app = falcon.App()
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/search", SearchResource(service))
    app.add_route("/documents/{doc_id:path}", DocumentResource(service))
    app.add_route("/health", HealthResource(service))
    app.add_error_handler(Exception, handle_unexpected)
    app.set_error_serializer(serialize_error)
    return app


def get_app(settings: Settings | None = None) -> falcon.App:
    """The app for the configured index (settings from the environment by default)."""
    settings = settings or Settings.from_env()
    service = SearchService(
        settings.index_dir,
        settings.refresh_seconds,
        synonyms_file=settings.synonyms_file,
        best_bets_file=settings.best_bets_file,
        recency=settings.recency,
    )
    return create_app(service)
