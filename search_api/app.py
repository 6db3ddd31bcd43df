"""The Falcon application: routes, error handling, and the factory waitress serves."""

from __future__ import annotations

import falcon

from indexer.config import IndexerSettings
from search_api.admin import IndexJobs
from search_api.admin_resources import (
    AdminDocument,
    AdminDocuments,
    AdminJob,
    AdminPage,
    AdminReindex,
    AdminReport,
    AdminRollback,
    AdminVersions,
    RequireToken,
)
from search_api.config import Settings
from search_api.errors import handle_unexpected, serialize_error
from search_api.resources import (
    CrossOrigin,
    DocumentResource,
    HealthResource,
    SearchPage,
    SearchResource,
    SecurityHeaders,
    SuggestResource,
)
from search_api.search import SearchService
from search_api.web import STATIC


def create_app(service: SearchService, settings: Settings | None = None) -> falcon.App:
    """The API; with an admin token in ``settings``, the admin routes too (never without)."""
    admin_token = settings.admin_token if settings else None
    middleware: list[object] = [SecurityHeaders()]
    if settings and settings.cors_origins:
        middleware.append(CrossOrigin(settings.cors_origins))
    if admin_token:
        middleware.append(RequireToken(admin_token))
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/", SearchPage(service))
    app.add_static_route("/static", str(STATIC))
    app.add_route("/search", SearchResource(service))
    app.add_route("/suggest", SuggestResource(service))
    app.add_route("/documents/{doc_id:path}", DocumentResource(service))
    app.add_route("/health", HealthResource(service))
    if settings and admin_token:
        _add_admin_routes(app, settings)
    app.add_error_handler(Exception, handle_unexpected)
    app.set_error_serializer(serialize_error)
    return app


def _add_admin_routes(app: falcon.App, settings: Settings) -> None:
    indexer_settings = IndexerSettings.from_env()
    indexer_settings.corpus_dir, indexer_settings.index_dir = (
        settings.corpus_dir,
        settings.index_dir,
    )
    jobs = IndexJobs(indexer_settings)
    app.add_route(
        "/admin/documents", AdminDocuments(settings.corpus_dir, settings.max_upload_bytes)
    )
    app.add_route("/admin/documents/{doc_id:path}", AdminDocument(settings.corpus_dir))
    app.add_route("/admin/reindex", AdminReindex(jobs))
    app.add_route("/admin/jobs/{job_id}", AdminJob(jobs))
    app.add_route("/admin/report", AdminReport(jobs))
    app.add_route("/admin/versions", AdminVersions(settings.index_dir))
    app.add_route("/admin/rollback", AdminRollback(settings.index_dir))
    app.add_route("/admin", AdminPage())


def get_app(settings: Settings | None = None) -> falcon.App:
    """The app for the configured index (settings from the environment by default)."""
    settings = settings or Settings.from_env()
    service = SearchService(
        settings.index_dir,
        settings.refresh_seconds,
        synonyms_file=settings.synonyms_file,
        best_bets_file=settings.best_bets_file,
        suggest_stoplist_file=settings.suggest_stoplist_file,
        recency=settings.recency,
    )
    return create_app(service, settings)
