"""bench.website: a real website on 127.0.0.1 for the crawler's tests and the crawl benchmark.

    python -m bench.website --folder DIR [--port N] [--log FILE]

A crawler is only as good as the web it was tried on, so this one serves what a real site
serves: robots.txt, a sitemap index pointing at a gzipped sitemap, ETag and Last-Modified with
304s on conditional requests, keep-alive (HTTP/1.1, a Content-Length on every response), and
the awkward cases a public site accumulates (redirects, a redirect loop, a 500, a slow page, a
file too large to read, noindex, a duplicate with a canonical link, a PDF declared as HTML).

- ``Website`` holds ``Resource`` records by path and serves them from a thread per
  connection (standard library only); robots.txt and the sitemaps are rendered from the
  resources on every request, so ``put`` and ``remove`` show in them at once. Every request is
  kept as a ``Request``, so tests can see what a crawler asked for and when.
- ``sample_site`` fills it with the sample corpus plus every special case the crawler's tests
  need, and returns a ``SampleSite`` naming each of them; ``synthetic_site`` serves a folder
  written by ``bench.synthetic.generate_site``.
- The command line serves a folder as ``synthetic_site`` does, in a process of its own (so the
  benchmark's server shares no GIL with the crawler), printing its origin on the first line
  of stdout and, with ``--log``, one JSON line per request as it finishes.

The corpus pages have every ``<a href>`` taken out and a ``<nav class="site-links">`` put in
before ``</body>``, so the links a crawler can follow are the site graph below and nothing
else (the corpus's own links point at the real site's URLs, which are not files here):

- ``/`` links to every standing page under ``/pages/``, the newest news article and every
  special page except ``pdf_only_linked``;
- each news article links to home and to the next older and next newer articles;
- the Green Plan page links to every corpus PDF but ``pdf_only_linked``, which only the
  seminar news article links to;
- every other page links to home.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import html
import itertools
import json
import posixpath
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from xml.sax.saxutils import escape as xml_escape

ROBOTS = "/robots.txt"
SITEMAP_INDEX = "/sitemap-index.xml"
SITEMAP = "/sitemaps/site.xml.gz"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
HTML_UTF8 = "text/html; charset=utf-8"
# The longest ``Website.requests`` waits for responses being written to be recorded.
SETTLE_SECONDS = 5.0
# How long an idle keep-alive connection may hold its thread before the server lets it go.
IDLE_SECONDS = 30.0


@dataclass(slots=True, kw_only=True)
class Resource:
    """One URL path's answer."""

    body: bytes
    content_type: str  # as the server declares it (may be a lie, on purpose)
    in_sitemap: bool = True
    lastmod: datetime | None = None  # written to the sitemap when set (UTC, second precision)
    status: int = 200  # e.g. 500 for a broken page
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    redirect: str | None = None  # with status 301/302: the Location
    delay_seconds: float = 0.0  # sleep before answering (a slow page)
    conditional: bool = True  # answers ETag/Last-Modified and 304s


@dataclass(frozen=True, slots=True)
class Request:
    """A request as the server saw it; ``status`` is what it answered (0: it could not)."""

    method: str
    path: str  # the request target as sent, query string included
    headers: dict[str, str]  # names lower-cased
    started: float  # time.monotonic() at arrival
    finished: float  # time.monotonic() once the response was written
    status: int = 0


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server sends for one request, worked out before anything is written."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes  # the representation's bytes, also for HEAD and 304 (Content-Length uses it)
    delay_seconds: float = 0.0

    @property
    def has_body(self) -> bool:
        return self.status != 304


@dataclass(frozen=True, slots=True)
class _Entry:
    resource: Resource
    etag: str
    last_modified: datetime


class Website:
    """Resources by path ("/news/a.html"), served on 127.0.0.1; robots.txt and the sitemaps are
    rendered from the resources on each request."""

    def __init__(
        self,
        *,
        crawl_delay: float | None = None,
        disallow: Sequence[str] = ("/private/",),
        on_request: Callable[[Request], None] | None = None,
    ) -> None:
        self.crawl_delay = crawl_delay
        self.disallow = list(disallow)
        # Called with each Request once it is recorded, from the handler's thread (the command
        # line writes its JSON log with it).
        self.on_request = on_request
        # Tracebacks of handler failures other than a client going away: kept, not printed,
        # so a test can assert there were none.
        self.errors: list[str] = []
        self._lock = threading.Lock()
        # Responses being written: a client can hold its whole answer a moment before the
        # server's thread records it, so ``requests`` waits for these to be recorded.
        self._writing = 0
        self._recorded = threading.Condition(self._lock)
        self._entries: dict[str, _Entry] = {}
        self._changed_at = _now()
        self._rendered_served = False  # robots.txt or a sitemap sent since the last change
        self._requests: list[tuple[int, Request]] = []
        self._arrivals = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """ "http://127.0.0.1:PORT" once started."""
        if self._server is None:
            raise RuntimeError("the website has not been started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> Website:
        """Binds 127.0.0.1 (a free port unless ``port`` is given) and serves from a thread."""
        if self._server is not None:
            raise RuntimeError("the website is already running")
        self._stopping.clear()
        self._server = _Server(self)
        try:
            self._server.server_bind_on(port)
        except OSError:
            self._server.server_close()
            self._server = None
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="bench-website", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and waits for every connection's thread: slow answers are cut short
        and idle keep-alive connections closed, so this returns promptly."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        thread.join()
        server.close_connections()
        server.server_close()  # joins the handler threads (block_on_close)
        self._server = self._thread = None

    def __enter__(self) -> Website:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # --- content ------------------------------------------------------------------------

    def put(self, path: str, resource: Resource) -> None:
        """Adds or replaces the resource at ``path`` (robots.txt and the sitemaps too, in place
        of the rendered ones); its Last-Modified becomes now (a
        replacement within the same second is dated a second later, so it is always newer)."""
        if not path.startswith("/"):
            raise ValueError(f"a path starts with '/': {path!r}")
        etag = '"' + hashlib.sha256(resource.body).hexdigest()[:20] + '"'
        with self._lock:
            modified = _now()
            before = self._entries.get(path)
            if before is not None and modified <= before.last_modified:
                modified = before.last_modified + timedelta(seconds=1)
            self._entries[path] = _Entry(resource=resource, etag=etag, last_modified=modified)
            self._site_changed(modified)

    def remove(self, path: str) -> None:
        """Afterwards ``path`` answers 404 and is gone from the sitemap."""
        with self._lock:
            del self._entries[path]
            self._site_changed(_now())

    def _site_changed(self, when: datetime) -> None:
        """Dates robots.txt and the sitemaps (the lock is held). A change in the same second
        as one of them was served is dated a second later, so If-Modified-Since sees it."""
        if self._rendered_served and when <= self._changed_at:
            when = self._changed_at + timedelta(seconds=1)
        self._changed_at = max(self._changed_at, when)
        self._rendered_served = False

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    # --- requests -----------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request so far, in arrival order (a copy). A response being written is waited
        for, so a client that has read its answer finds its request here; one still waiting to
        be answered (a slow page) shows once it is finished."""
        with self._recorded:
            self._recorded.wait_for(lambda: self._writing == 0, timeout=SETTLE_SECONDS)
            recorded = list(self._requests)
        return [request for _, request in sorted(recorded, key=lambda pair: pair[0])]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _arrived(self) -> int:
        with self._lock:
            self._arrivals += 1
            return self._arrivals

    def _sending(self) -> None:
        with self._lock:
            self._writing += 1

    def _record(self, arrival: int, request: Request, *, was_sending: bool) -> None:
        with self._recorded:
            self._requests.append((arrival, request))
            if was_sending:
                self._writing -= 1
                self._recorded.notify_all()
        if self.on_request is not None:
            self.on_request(request)

    def _failed(self, description: str) -> None:
        with self._lock:
            self.errors.append(description)

    # --- answers ------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: dict[str, str]) -> Reply:
        """The reply to one GET or HEAD (``headers`` lower-cased); no I/O, so the rules can be
        read in one place."""
        path = target.split("?", 1)[0].split("#", 1)[0]
        with self._lock:
            entry = self._entries.get(target) or self._entries.get(path)
            if path in (ROBOTS, SITEMAP_INDEX, SITEMAP) and path not in self._entries:
                entry = self._rendered(path)  # unless a test put a resource of its own there
        if entry is None:
            body = _small_page("Page not found", f"There is no page at {target}.")
            return Reply(status=404, headers=[("Content-Type", HTML_UTF8)], body=body)
        resource = entry.resource
        sent = [("Content-Type", resource.content_type), *resource.headers.items()]
        delay = resource.delay_seconds
        if resource.redirect is not None:
            sent.append(("Location", resource.redirect))
        if resource.status != 200 or not resource.conditional:
            return Reply(
                status=resource.status, headers=sent, body=resource.body, delay_seconds=delay
            )
        sent += [
            ("ETag", entry.etag),
            ("Last-Modified", format_datetime(entry.last_modified, usegmt=True)),
        ]
        status = 304 if _not_modified(entry, headers) else 200
        return Reply(status=status, headers=sent, body=resource.body, delay_seconds=delay)

    def _rendered(self, path: str) -> _Entry:
        """robots.txt or a sitemap as the resources stand (the lock is held)."""
        if path == ROBOTS:
            body, kind = self._robots_txt(), "text/plain; charset=utf-8"
        elif path == SITEMAP_INDEX:
            body, kind = self._sitemap_index(), "application/xml"
        else:
            body, kind = gzip.compress(self._urlset(), mtime=0), "application/gzip"
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        resource = Resource(body=body, content_type=kind, in_sitemap=False)
        self._rendered_served = True
        return _Entry(resource=resource, etag=etag, last_modified=self._changed_at)

    def _robots_txt(self) -> bytes:
        lines = ["User-agent: *"]
        # An empty Disallow allows everything: a group without any rule reads as malformed.
        lines += [f"Disallow: {rule}" for rule in self.disallow] or ["Disallow:"]
        if self.crawl_delay is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay:g}")
        lines.append(f"Sitemap: {self.origin}{SITEMAP_INDEX}")
        return ("\n".join(lines) + "\n").encode()

    def _sitemap_index(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<sitemapindex xmlns="{SITEMAP_NS}">\n'
            f"<sitemap><loc>{xml_escape(self.origin + SITEMAP)}</loc></sitemap>\n"
            "</sitemapindex>\n"
        ).encode()

    def _urlset(self) -> bytes:
        """Pages a site would list: those marked so, answering 200 or failing for now (5xx),
        but never a redirect or a page that is missing."""
        rows = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}">']
        for path in sorted(self._entries):
            resource = self._entries[path].resource
            if not resource.in_sitemap or resource.redirect or 300 <= resource.status < 500:
                continue
            row = f"<url><loc>{xml_escape(self.origin + path)}</loc>"
            if resource.lastmod is not None:
                row += f"<lastmod>{_w3c_datetime(resource.lastmod)}</lastmod>"
            rows.append(row + "</url>")
        rows.append("</urlset>")
        return ("\n".join(rows) + "\n").encode()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _w3c_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _not_modified(entry: _Entry, headers: dict[str, str]) -> bool:
    """RFC 9110: If-None-Match decides when present (weak comparison); otherwise
    If-Modified-Since at or after Last-Modified."""
    if "if-none-match" in headers:
        wanted = {tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")}
        return "*" in wanted or entry.etag in wanted
    if "if-modified-since" in headers:
        try:
            since = parsedate_to_datetime(headers["if-modified-since"])
        except (TypeError, ValueError):
            return False  # a date that cannot be read is ignored, as the RFC says
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return entry.last_modified <= since
    return False


def _small_page(title: str, text: str) -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body>"
        "</html>\n"
    ).encode()


# --- the HTTP server ------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() waits for the connection threads

    def __init__(self, website: Website) -> None:
        super().__init__(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        self.website = website
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def server_bind_on(self, port: int) -> None:
        self.server_address = ("127.0.0.1", port)
        self.server_bind()
        self.server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Ends every open connection, so threads waiting for a next keep-alive request
        finish."""
        with self._open_lock:
            still_open = list(self._open)
        for connection in still_open:
            with contextlib.suppress(OSError):  # closed meanwhile by its own thread
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            self.website._failed(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bench-website/1"
    timeout = IDLE_SECONDS
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body waits
    # for the client's delayed ACK (40 ms on Linux) on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._respond()

    def do_HEAD(self) -> None:
        self._respond()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the benchmark read ``Website.requests`` instead."""

    def _respond(self) -> None:
        website = self.server.website
        started = time.monotonic()
        arrival = website._arrived()
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        status, sending = 0, False
        try:
            reply = website.answer(self.command, self.path, headers)
            if reply.delay_seconds and website._stopping.wait(reply.delay_seconds):
                self.close_connection = True
                return  # stopping: the client gets no answer, as from a server going down
            website._sending()
            sending = True
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD" and reply.has_body:
                self.wfile.write(reply.body)
            self.wfile.flush()
            status = reply.status
        except ConnectionError:
            self.close_connection = True  # the client went away (gave up on a slow page)
        finally:
            finished = time.monotonic()
            record = Request(
                method=self.command,
                path=self.path,
                headers=headers,
                started=started,
                finished=finished,
                status=status,
            )
            website._record(arrival, record, was_sending=sending)


# --- the sample site ------------------------------------------------------------------------

SITE_DATE = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
GREEN_PLAN = "/pages/green-plan.html"
FOREIGN_CANONICAL = "/news/2025-08-05-lifting-chairs-reduce-avoidable-ambulance-call-outs.html"
DUPLICATE_OF = "/news/2024-05-16-self-refer-to-nhs-talking-therapies.html"
PDF_ONLY_LINKED = "/documents/background-information-pack.pdf"
PDF_LINKED_FROM = "/news/2024-10-01-leaders-invited-to-sustainable-health-and-care-seminar.html"
PDF_AS_HTML_SOURCE = "/documents/seminar-slide-deck.pdf"
REMOVABLE = "/news/2019-03-25-luton-gp-practices-extend-evening-weekend-appointments.html"

_A_TAG = re.compile(rb"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(rb"""\s+href\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_LINK_TAG = re.compile(rb"<link\b[^>]*>", re.IGNORECASE)
_CANONICAL = re.compile(rb"""\brel\s*=\s*["']?canonical\b""", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SITE_SUFFIX = re.compile(r"\s+[|\-–]\s+BLMK Integrated Care System$")


@dataclass(frozen=True, slots=True)
class SampleSite:
    """The paths (each starting with "/") of the sample site's special cases, and ``pages``:
    every path a correct crawl indexes."""

    home: str
    foreign_canonical: str  # canonical left pointing at the real site (another host)
    pdf_only_linked: str  # not in the sitemap; linked from ``pdf_linked_from`` only
    pdf_linked_from: str
    disallowed: str  # robots.txt disallows it; linked from home and in the sitemap
    redirect: str  # 301 to ``redirect_target``
    redirect_target: str
    redirect_loop: str  # 302 to another path, which 302s back
    server_error: str  # answers 500; in the sitemap
    slow: str  # answers after ``slow_seconds``
    too_large: str  # a PDF of ``large_bytes``
    noindex: str  # <meta name="robots" content="noindex">
    noindex_header: str  # X-Robots-Tag: noindex
    duplicate: str  # a copy of ``duplicate_of`` whose canonical names it
    duplicate_of: str
    pdf_as_html: str  # a PDF's bytes declared as text/html
    not_a_page: str  # a PNG
    other_host: str  # a URL on another host, linked from home
    removable: str  # an ordinary news page a test may remove between crawls
    pages: list[str]


def sample_site(
    website: Website,
    corpus: Path,
    *,
    slow_seconds: float = 3.0,
    large_bytes: int = 2 * 1024 * 1024 + 1,
) -> SampleSite:
    """Fills a started ``website`` with the sample corpus and the crawler's special cases."""
    origin = website.origin
    files = {
        "/" + path.relative_to(corpus).as_posix(): path
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and path.suffix in (".html", ".pdf")
    }
    needed = [GREEN_PLAN, FOREIGN_CANONICAL, DUPLICATE_OF, PDF_ONLY_LINKED, PDF_LINKED_FROM]
    needed += [PDF_AS_HTML_SOURCE, REMOVABLE]
    missing = [path for path in needed if path not in files]
    if missing:
        raise FileNotFoundError(f"the sample site needs these corpus files: {missing}")
    raw = {path: file.read_bytes() for path, file in files.items()}
    site = SampleSite(
        home="/",
        foreign_canonical=FOREIGN_CANONICAL,
        pdf_only_linked=PDF_ONLY_LINKED,
        pdf_linked_from=PDF_LINKED_FROM,
        disallowed="/private/staff-rota.html",
        redirect="/old/green-plan",
        redirect_target=GREEN_PLAN,
        redirect_loop="/loop/a",
        server_error="/news/broken.html",
        slow="/slow.html",
        too_large="/documents/annual-archive.pdf",
        noindex="/pages/draft-notes.html",
        noindex_header="/pages/embargoed.html",
        duplicate="/news/print/" + DUPLICATE_OF.rsplit("/", 1)[1].split("-", 3)[3],
        duplicate_of=DUPLICATE_OF,
        pdf_as_html="/documents/seminar-slides",
        not_a_page="/images/logo.png",
        other_host="http://other.invalid/elsewhere.html",
        removable=REMOVABLE,
        pages=sorted([*files, "/", "/documents/seminar-slides"]),
    )
    labels = {path: _label(path, body) for path, body in raw.items()}
    links = _site_graph(site, list(files))
    for path, body in raw.items():
        if path.endswith(".pdf"):
            resource = Resource(
                body=body,
                content_type="application/pdf",
                lastmod=_lastmod(path),
                in_sitemap=path != site.pdf_only_linked,
            )
        else:
            canonical = None if path == FOREIGN_CANONICAL else origin + path
            page = _with_nav(_rewrite_page(body, canonical), path, links[path], labels)
            kind = f"text/html; charset={_charset(body)}"
            resource = Resource(body=page, content_type=kind, lastmod=_lastmod(path))
        website.put(path, resource)
    for path, resource in _special_resources(site, raw, origin, labels, links).items():
        website.put(path, resource)
    website.put(site.redirect_loop, _redirect(302, "/loop/b"))
    website.put("/loop/b", _redirect(302, site.redirect_loop))
    website.put(site.slow, _page_resource("Service status", SLOW_TEXT, slow_seconds))
    too_large = _padded_pdf(large_bytes)
    website.put(
        site.too_large,
        Resource(body=too_large, content_type="application/pdf", lastmod=SITE_DATE),
    )
    return site


def _site_graph(site: SampleSite, corpus_paths: list[str]) -> dict[str, list[str]]:
    """The links each page's nav holds (paths, or a URL for another host)."""
    news = sorted(path for path in corpus_paths if path.startswith("/news/"))
    standing = sorted(path for path in corpus_paths if path.startswith("/pages/"))
    pdfs = sorted(path for path in corpus_paths if path.endswith(".pdf"))
    links: dict[str, list[str]] = {path: ["/"] for path in corpus_paths}
    for older, newer in itertools.pairwise(news):
        links[older].append(newer)
        links[newer].append(older)
    links[GREEN_PLAN] += [path for path in pdfs if path != site.pdf_only_linked]
    links[site.pdf_linked_from].append(site.pdf_only_linked)
    specials = [
        site.disallowed,
        site.redirect,
        site.redirect_loop,
        site.server_error,
        site.slow,
        site.too_large,
        site.noindex,
        site.noindex_header,
        site.duplicate,
        site.pdf_as_html,
        site.not_a_page,
        site.other_host,
    ]
    links["/"] = [*standing, news[-1], *specials]
    return links


SLOW_TEXT = (
    "This page reports the status of the online booking service. It is built from several "
    "slow systems, so it takes a while to answer."
)
ROTA_TEXT = (
    "The staff rota for the weekend urgent care hub in Luton: names, shifts and on-call "
    "numbers. For staff only; not for publication."
)
DRAFT_TEXT = (
    "Working notes for the Green Plan refresh workshop: travel to sites, medicines waste, "
    "heating in older buildings and how to measure progress each quarter. These notes are a "
    "draft for the steering group and have not been agreed."
)
EMBARGOED_TEXT = (
    "Embargoed until the board meets: the annual report on waiting times across Bedfordshire, "
    "Luton and Milton Keynes, with figures for planned operations and community services."
)


def _special_resources(
    site: SampleSite,
    raw: dict[str, bytes],
    origin: str,
    labels: dict[str, str],
    links: dict[str, list[str]],
) -> dict[str, Resource]:
    home_text = (
        "A miniature of the Bedfordshire, Luton and Milton Keynes Integrated Care System "
        "website, served on this machine to test the search's crawler."
    )
    labels = {
        **labels,
        site.disallowed: "Staff rota",
        site.redirect: "Green Plan (old address)",
        site.redirect_loop: "Archive",
        site.server_error: "Latest news (broken)",
        site.slow: "Service status",
        site.too_large: "Annual archive (PDF)",
        site.noindex: "Draft notes",
        site.noindex_header: "Embargoed report",
        site.duplicate: "Print version",
        site.pdf_as_html: "Seminar slides",
        site.not_a_page: "Logo",
        site.other_host: "Another site",
    }
    home = _small_page("BLMK Integrated Care System", home_text)
    duplicate = _rewrite_page(raw[site.duplicate_of], origin + site.duplicate_of)
    noindex_head = b'<meta name="robots" content="noindex"></head>'
    noindex = _small_page("Draft notes for the Green Plan refresh", DRAFT_TEXT)
    moved = _small_page("Moved", f"This page has moved to {site.redirect_target}.")
    broken = _small_page("Something went wrong", "The server could not build this page.")
    return {
        "/": _html(_with_nav(home, "/", links["/"], labels), SITE_DATE),
        site.disallowed: _page_resource("Weekend staff rota", ROTA_TEXT),
        site.redirect: Resource(
            body=moved,
            content_type=HTML_UTF8,
            in_sitemap=False,
            status=301,
            redirect=site.redirect_target,
        ),
        site.server_error: Resource(
            body=broken, content_type=HTML_UTF8, status=500, lastmod=SITE_DATE
        ),
        site.noindex: _html(noindex.replace(b"</head>", noindex_head, 1), SITE_DATE),
        site.noindex_header: Resource(
            body=_small_page("Annual report on waiting times", EMBARGOED_TEXT),
            content_type=HTML_UTF8,
            lastmod=SITE_DATE,
            headers={"X-Robots-Tag": "noindex"},
        ),
        site.duplicate: Resource(
            body=_with_nav(duplicate, site.duplicate, ["/"], labels),
            content_type=f"text/html; charset={_charset(raw[site.duplicate_of])}",
            lastmod=_lastmod(site.duplicate_of),
        ),
        site.pdf_as_html: Resource(
            body=raw[PDF_AS_HTML_SOURCE], content_type="text/html", lastmod=SITE_DATE
        ),
        site.not_a_page: Resource(body=_png(), content_type="image/png", in_sitemap=False),
    }


def _rewrite_page(body: bytes, canonical: str | None) -> bytes:
    """Every ``<a>`` loses its href; a canonical link names ``canonical`` (None: left as is)."""
    body = _A_TAG.sub(lambda tag: _HREF.sub(b"", tag.group()), body)
    if canonical is None:
        return body
    replacement = f'<link rel="canonical" href="{html.escape(canonical)}">'.encode()

    def rewrite(tag: re.Match[bytes]) -> bytes:
        return replacement if _CANONICAL.search(tag.group()) else tag.group()

    return _LINK_TAG.sub(rewrite, body)


def _with_nav(body: bytes, path: str, targets: list[str], labels: dict[str, str]) -> bytes:
    """Puts the page's links, relative to its own path, in a nav just before ``</body>``."""
    items = "".join(
        f'<li><a href="{html.escape(_relative(path, target))}">'
        f"{html.escape(labels.get(target) or _label(target, b''))}</a></li>"
        for target in targets
    )
    nav = f'<nav class="site-links"><ul>{items}</ul></nav>\n'.encode(
        _charset(body), errors="xmlcharrefreplace"
    )
    ends = list(_BODY_END.finditer(body))
    if not ends:
        return body + nav
    at = ends[-1].start()
    return body[:at] + nav + body[at:]


def _relative(source: str, target: str) -> str:
    if "://" in target:
        return target
    folder = posixpath.dirname(source)
    relative = posixpath.relpath(target, folder)
    if target.endswith("/") and not relative.endswith("/"):
        relative = "./" if relative == "." else relative + "/"
    return relative


def _label(path: str, body: bytes) -> str:
    """A page's title (without the site's name), else words from its file name."""
    if path.endswith(".html") and body:
        found = _TITLE.search(body.decode(_charset(body), errors="replace"))
        if found:
            return _SITE_SUFFIX.sub("", html.unescape(found.group(1)).strip())
    if path == "/":
        return "Home"
    stem = posixpath.basename(path.rstrip("/")).rsplit(".", 1)[0].replace("-", " ")
    return stem[:1].upper() + stem[1:]


def _charset(body: bytes) -> str:
    """The charset the page declares for itself (the corpus's oldest pages are
    windows-1252), so the Content-Type header tells the truth about the bytes."""
    found = _CHARSET.search(body[:2048])
    return found.group(1).decode("ascii").lower() if found else "utf-8"


def _lastmod(path: str) -> datetime:
    """A news article's own date; the site's date for everything else."""
    name = posixpath.basename(path)
    if path.startswith("/news/") and re.match(r"\d{4}-\d\d-\d\d-", name):
        day = datetime.strptime(name[:10], "%Y-%m-%d")
        return day.replace(hour=9, tzinfo=UTC)
    return SITE_DATE


def _html(body: bytes, lastmod: datetime | None) -> Resource:
    return Resource(body=body, content_type=HTML_UTF8, lastmod=lastmod)


def _page_resource(title: str, text: str, delay_seconds: float = 0.0) -> Resource:
    page = _small_page(title, text)
    return Resource(
        body=page, content_type=HTML_UTF8, lastmod=SITE_DATE, delay_seconds=delay_seconds
    )


def _redirect(status: int, location: str) -> Resource:
    body = _small_page("Moved", f"This page has moved to {location}.")
    return Resource(
        body=body, content_type=HTML_UTF8, in_sitemap=False, status=status, redirect=location
    )


def _padded_pdf(size: int) -> bytes:
    """A PDF header, then comment lines to ``size`` bytes: a reader that checks the size
    before parsing never gets to see that there is nothing else."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    padding = b"% padding to make the file too large to index\n"
    repeats = max(0, size - len(head)) // len(padding) + 1
    return (head + padding * repeats)[:size]


def _png() -> bytes:
    """A one-pixel PNG, built here so the bytes are a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x00\x5e\xb8")  # filter byte, then NHS blue
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# --- a synthetic site -----------------------------------------------------------------------

CONTENT_TYPES = {".html": HTML_UTF8, ".htm": HTML_UTF8, ".pdf": "application/pdf"}
HOME_LINKS = 50


def synthetic_site(website: Website, folder: Path) -> int:
    """Serves every file under ``folder`` at "/" + its relative path, all in the sitemap
    (lastmod: the file's modification time), and a home page linking to the first 50;
    returns the number of files served (the home page not counted). As in ``sample_site``,
    pages lose their links (which name the real site's addresses, absent here) and their
    canonical link names their own address here."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    paths = []
    for file in files:
        path = "/" + file.relative_to(folder).as_posix()
        kind = CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
        modified = datetime.fromtimestamp(int(file.stat().st_mtime), UTC)
        body = file.read_bytes()
        if file.suffix.lower() in (".html", ".htm"):
            body = _rewrite_page(body, website.origin + path)
        website.put(path, Resource(body=body, content_type=kind, lastmod=modified))
        paths.append(path)
    home = _small_page("Synthetic site", f"{len(paths)} files generated for benchmarks.")
    labels = {path: _label(path, b"") for path in paths}
    website.put("/", _html(_with_nav(home, "/", paths[:HOME_LINKS], labels), SITE_DATE))
    return len(paths)


# --- command line ---------------------------------------------------------------------------


def _json_log(stream: TextIO) -> Callable[[Request], None]:
    lock = threading.Lock()

    def write(request: Request) -> None:
        line = json.dumps(asdict(request), sort_keys=True)
        with lock:
            stream.write(line + "\n")
            stream.flush()  # the benchmark reads the log while the server runs

    return write


def _install_stop_signals() -> threading.Event:
    """SIGTERM and SIGINT set the event the command line waits on, so it stops cleanly."""
    stop = threading.Event()

    def handle(number: int, frame: object) -> None:
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, handle)
    return stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True, help="the site's files")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--log", type=Path, help="append a JSON line per request to this file")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    stop = _install_stop_signals()
    stream = args.log.open("a", encoding="utf-8") if args.log else None
    try:
        website = Website(on_request=_json_log(stream) if stream else None)
        with website.start(args.port):
            synthetic_site(website, args.folder)  # pages name the origin: known once started
            print(website.origin, flush=True)
            while not stop.wait(0.5):  # a timeout, so the signal handler gets to run
                pass
    finally:
        if stream is not None:
            stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
