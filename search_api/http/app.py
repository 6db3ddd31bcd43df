"""The Falcon application: routes, error handling, and the factory waitress serves."""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon

from indexer import AuditLog, IndexerSettings
from search_api.engine import SearchService
from search_api.http.errors import add_error_handlers
from search_api.http.lifecycle import Lifecycle
from search_api.http.observability import AccessObserver, MetricsResource, new_registry
from search_api.http.resources import (
    CrossOrigin,
    DocumentResource,
    HealthResource,
    LivenessResource,
    OpenApiResource,
    ReadinessResource,
    SearchPage,
    SearchResource,
    SecurityHeaders,
    SuggestResource,
)
from search_api.http.rules_resources import (
    AdminChecks,
    AdminChecksRun,
    AdminRuleRestore,
    AdminRuleRevision,
    AdminRuleRevisions,
    AdminRules,
    AdminRulesDraft,
    AdminRulesPreview,
    AdminRulesPublish,
)
from search_api.http.settings import Settings
from search_api.http.staff_access import AuditTrail, StaffAccess
from search_api.http.staff_resources import (
    AdminAccounts,
    AdminAnalytics,
    AdminAudit,
    AdminCrawl,
    AdminDocument,
    AdminDocuments,
    AdminJob,
    AdminMe,
    AdminPage,
    AdminReindex,
    AdminReport,
    AdminRollback,
    AdminTrash,
    AdminTrashRestore,
    AdminUrls,
    AdminVersions,
)
from search_api.http.throttle import FailureThrottle
from search_api.http.views import STATIC
from search_api.staff.accounts import Accounts
from search_api.staff.analytics import QueryLog
from search_api.staff.checks import QualityChecks
from search_api.staff.history import DocumentHistory
from search_api.staff.jobs import IndexJobs
from search_api.staff.retention import Retention
from search_api.staff.rules import RuleBook
from search_api.staff.schedule import CrawlSchedule

STATIC_ROUTE = "/static"
# The state folder's file of recent wrong admin tokens (hashed addresses), shared by processes.
SIGN_IN_FAILURES = "sign-in-failures.json"


def create_app(
    service: SearchService,
    settings: Settings | None = None,
    queries: QueryLog | None = None,
    staff: StaffState | None = None,
    jobs: IndexJobs | None = None,
    lifecycle: Lifecycle | None = None,
) -> falcon.App:
    """The API; with ``settings`` (unless their ``admin_api`` is off), the admin routes too,
    for the staff accounts in their state folder, starting index jobs on ``jobs`` (by default
    made from the settings and the indexer's variables). Searches are counted in ``queries``
    for the staff's analytics (by default in memory only, with the limits in ``settings``).
    ``GET /health/ready`` turns 503 once ``lifecycle`` is draining (``blmk-serve`` drains it
    on SIGTERM)."""
    if queries is None:
        queries = _query_log(settings or Settings(), path=None)
    metrics = new_registry(service)
    middleware: list[Any] = [AccessObserver(metrics, STATIC_ROUTE), SecurityHeaders()]
    if settings and settings.cors_origins:
        middleware.append(CrossOrigin(settings.cors_origins))
    if staff is None and settings and settings.admin_api:
        staff = StaffState.open(settings)
    if settings and staff:
        # Counted in the state folder: every server process sharing it holds a guesser back.
        failures = settings.state_dir / SIGN_IN_FAILURES
        throttle = FailureThrottle(limit=settings.admin_max_failures, path=failures)
        middleware += [StaffAccess(staff.accounts, throttle), AuditTrail(staff.audit)]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/", SearchPage(service, queries))
    app.add_static_route(STATIC_ROUTE, str(STATIC))
    app.add_route("/search", SearchResource(service, queries))
    app.add_route("/suggest", SuggestResource(service))
    app.add_route("/documents/{doc_id:path}", DocumentResource(service))
    app.add_route("/health", HealthResource(service))
    app.add_route("/health/live", LivenessResource())
    app.add_route("/health/ready", ReadinessResource(service, lifecycle or Lifecycle()))
    app.add_route("/openapi.json", OpenApiResource())
    app.add_route("/metrics", MetricsResource(metrics))
    if settings and staff:
        checks = (jobs.checks if jobs else None) or quality_checks(service, settings)
        jobs = jobs or IndexJobs(indexer_settings(settings), staff.audit, checks)
        _add_admin_routes(app, settings, staff, queries, jobs)
        book = RuleBook(service.rule_files, settings.state_dir)
        _add_rules_routes(app, service, book, queries, checks)
    add_error_handlers(app)
    return app


@dataclass(frozen=True, slots=True)
class StaffState:
    """What the admin API keeps in the state folder: accounts, the audit log, the trash and
    revisions. Opening it finishes any change a killed process left half done."""

    accounts: Accounts
    audit: AuditLog
    history: DocumentHistory

    @classmethod
    def open(cls, settings: Settings) -> StaffState:
        history = DocumentHistory(settings.corpus_dir, settings.state_dir, settings.keep_days)
        history.recover()
        return cls(
            accounts=Accounts(
                settings.state_dir, settings.admin_token, refresh_seconds=settings.refresh_seconds
            ),
            audit=AuditLog(settings.state_dir, settings.audit_rotate_bytes),
            history=history,
        )


def _add_admin_routes(
    app: falcon.App,
    settings: Settings,
    staff: StaffState,
    queries: QueryLog,
    jobs: IndexJobs,
) -> None:
    corpus, history = settings.corpus_dir, staff.history
    app.add_route("/admin/me", AdminMe(settings.keep_days))
    app.add_route("/admin/documents", AdminDocuments(corpus, history, settings.max_upload_bytes))
    app.add_route("/admin/documents/{doc_id:path}", AdminDocument(corpus, history))
    app.add_route("/admin/trash", AdminTrash(history))
    app.add_route("/admin/trash/{entry_id}/restore", AdminTrashRestore(history))
    app.add_route("/admin/audit", AdminAudit(staff.audit))
    app.add_route("/admin/accounts", AdminAccounts(staff.accounts))
    app.add_route("/admin/reindex", AdminReindex(jobs, settings.index_dir))
    app.add_route("/admin/crawl", AdminCrawl(jobs, settings.index_dir))
    app.add_route("/admin/urls", AdminUrls(jobs, settings.index_dir))
    app.add_route("/admin/jobs/{job_id}", AdminJob(jobs))
    app.add_route("/admin/report", AdminReport(jobs))
    app.add_route("/admin/versions", AdminVersions(settings.index_dir))
    app.add_route("/admin/rollback", AdminRollback(settings.index_dir))
    app.add_route("/admin/analytics", AdminAnalytics(queries))
    app.add_route("/admin", AdminPage())


def quality_checks(service: SearchService, settings: Settings) -> QualityChecks:
    """The checks index jobs and rule publishes must pass, with the service's live rules."""
    return QualityChecks(
        service.rule_files["checks"], service.rule_files, settings.state_dir, settings.ranking
    )


def indexer_settings(settings: Settings) -> IndexerSettings:
    """What index jobs read: the indexer's variables, with the service's folders and checks."""
    indexer = IndexerSettings.from_env()
    indexer.corpus_dir, indexer.index_dir = settings.corpus_dir, settings.index_dir
    indexer.state_dir = settings.state_dir
    indexer.checks_file = settings.checks_file
    return indexer


def crawls_on_schedule(settings: Settings, indexer: IndexerSettings) -> bool:
    """Whether the server crawls its websites by itself: a schedule set, the admin API (whose
    jobs run the crawls) on, and a site to crawl."""
    return settings.crawl_every_minutes > 0 and settings.admin_api and bool(indexer.crawl_sites)


def _add_rules_routes(
    app: falcon.App,
    service: SearchService,
    book: RuleBook,
    queries: QueryLog,
    checks: QualityChecks,
) -> None:
    app.add_route("/admin/rules", AdminRules(book, service, queries))
    app.add_route("/admin/rules/draft", AdminRulesDraft(book, service, queries))
    app.add_route("/admin/rules/preview", AdminRulesPreview(book, service, queries))
    app.add_route("/admin/rules/publish", AdminRulesPublish(book, service, queries, checks))
    app.add_route("/admin/rules/revisions", AdminRuleRevisions(book, service, queries))
    app.add_route("/admin/rules/revisions/{number:int}", AdminRuleRevision(book, service, queries))
    app.add_route(
        "/admin/rules/revisions/{number:int}/restore",
        AdminRuleRestore(book, service, queries, checks),
    )
    app.add_route("/admin/checks", AdminChecks(book, service, queries, checks))
    app.add_route("/admin/checks/run", AdminChecksRun(book, service, queries, checks))


def _query_log(settings: Settings, path: Path | None) -> QueryLog:
    return QueryLog(
        path, min_count=settings.analytics_min_count, weeks_kept=settings.analytics_weeks
    )


def get_app(settings: Settings | None = None, lifecycle: Lifecycle | None = None) -> falcon.App:
    """The app for the configured index (settings from the environment by default). Its
    query counts are loaded from ``settings.analytics_file`` and saved to it every few
    seconds and at exit; with ``crawl_every_minutes`` set, it crawls the configured websites
    that often (``crawls_on_schedule``). Its readiness follows ``lifecycle``."""
    settings = settings or Settings.from_env()
    service = SearchService(
        settings.index_dir,
        settings.refresh_seconds,
        synonyms_file=settings.synonyms_file,
        best_bets_file=settings.best_bets_file,
        hidden_file=settings.hidden_file,
        suggest_stoplist_file=settings.suggest_stoplist_file,
        checks_file=settings.checks_file,
        ranking=settings.ranking,
        budget_seconds=settings.search_budget_seconds,
    )
    queries = _query_log(settings, settings.analytics_file)
    queries.start_saving()
    atexit.register(queries.close)
    staff = StaffState.open(settings) if settings.admin_api else None
    jobs = None
    if staff:
        Retention(staff.history, staff.audit).start()
        checks = quality_checks(service, settings)
        jobs = IndexJobs(indexer_settings(settings), staff.audit, checks)
        if crawls_on_schedule(settings, jobs.settings):
            schedule = CrawlSchedule(jobs, settings.crawl_every_minutes * 60)
            schedule.start()
            atexit.register(schedule.stop)
    return create_app(service, settings, queries, staff, jobs, lifecycle)
