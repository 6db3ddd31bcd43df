"""What the service tells its operators: one JSON access-log line per request, and the
Prometheus metrics served at ``GET /metrics``.

Both name a request's route by its template (``/documents/{doc_id:path}``), or ``unmatched``
when no route took it, never by the path asked for: a scan of made-up URLs cannot grow the
metrics without limit. Neither records query text, and the log records no client address
except on requests to the admin area (``/admin`` and below), whose lines have a ``client``:
staff requests are few and answerable, while what the public searches for is nobody's
business. Behind a trusted proxy (``BLMK_TRUSTED_PROXY``) it is the client's address as the proxy
forwarded it. A resource that answers with results sets ``req.context.result_count`` for the
log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import falcon
from falcon.constants import COMBINED_METHODS
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from indexer import utc_now
from search_api.engine import SearchService

ACCESS_LOG = "blmk.access"
UNMATCHED = "unmatched"
ADMIN_AREA = "/admin"
# Seconds: most searches answer within a few milliseconds, a cold or very broad one in tens.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LABELS = ("route", "method", "status")

access_log = logging.getLogger(ACCESS_LOG)


def new_registry(service: SearchService) -> CollectorRegistry:
    """A registry of the app's own (several apps in one process must not share counts),
    holding the index and last-build gauges."""
    registry = CollectorRegistry()
    registry.register(IndexCollector(service))
    return registry


class AccessObserver:
    """Middleware: times each request, counts it by route and status, and logs it.

    Put it first in the middleware list: it then starts the clock before the others run
    and stops it after they have finished.
    """

    def __init__(self, registry: CollectorRegistry, static_route: str | None = None) -> None:
        self.requests = Counter(
            "blmk_http_requests", "HTTP requests answered.", _LABELS, registry=registry
        )
        self.latency = Histogram(
            "blmk_http_request_duration_seconds",
            "Time from reading a request to having its response ready.",
            _LABELS,
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        # Falcon gives files served from a static route no template; they get this one.
        self.static_route = static_route

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, succeeded: bool
    ) -> None:
        seconds = time.perf_counter() - req.context.started
        route = self._route(req)
        method = req.method if req.method in COMBINED_METHODS else "other"
        status = resp.status_code
        self.requests.labels(route, method, status).inc()
        self.latency.labels(route, method, status).observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            line = {
                "time": utc_now().isoformat(timespec="milliseconds"),  # many lines a second
                "method": method,
                "route": route,
                "path": req.path,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "result_count": getattr(req.context, "result_count", None),
            }
            if req.path == ADMIN_AREA or req.path.startswith(ADMIN_AREA + "/"):
                line["client"] = req.remote_addr
            access_log.info(json.dumps(line))

    def _route(self, req: falcon.Request) -> str:
        if req.uri_template:
            return req.uri_template
        static = self.static_route
        if static and req.path.startswith(static + "/"):
            return static + "/{file}"
        return UNMATCHED


class IndexCollector(Collector):
    """The served index and the last build, read at each scrape so they are never stale."""

    def __init__(self, service: SearchService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        health = self.service.health()
        yield GaugeMetricFamily(
            "blmk_index_documents",
            "Documents in the index version being served.",
            value=health["documents"],
        )
        version = InfoMetricFamily("blmk_index_version", "The index version being served.")
        version.add_metric([], {"version": health["index_version"]})
        yield version
        yield from _last_build(self.service.last_build())


def _last_build(record: dict[str, Any] | None) -> Iterator[Metric]:
    """The last build's result, published or not (a failed one leaves the old version
    serving, which only this shows); values the record lacks are left out."""
    if record is None:
        return
    yield GaugeMetricFamily(
        "blmk_last_build_ok",
        "1 if the last build succeeded, 0 if it failed.",
        value=1 if record.get("ok") else 0,
    )
    finished = _timestamp(record.get("finished_at"))
    if finished is not None:
        yield GaugeMetricFamily(
            "blmk_last_build_timestamp_seconds",
            "When the last build finished (Unix time).",
            value=finished,
        )
    seconds = record.get("seconds")
    if isinstance(seconds, int | float):
        yield GaugeMetricFamily(
            "blmk_last_build_duration_seconds", "How long the last build took.", value=seconds
        )


def _timestamp(value: object) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp() if value else None
    except ValueError:
        return None


class MetricsResource:
    """GET /metrics: Prometheus text format, or OpenMetrics when the scraper asks for it."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        encode, content_type = choose_encoder(req.get_header("Accept") or "")
        resp.content_type = content_type
        resp.data = encode(self.registry)
