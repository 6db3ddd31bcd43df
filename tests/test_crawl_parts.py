"""The crawler's parts that read the web: URL identity, robots.txt, sitemaps, the links of a
page, and the polite fetcher, the last against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import http.server
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from indexer.crawl.fetch import FETCH_ERRORS, Fetcher
from indexer.crawl.pages import header_directives, read_page
from indexer.crawl.robots import RobotsRules
from indexer.crawl.sitemaps import SitemapError, parse_lastmod, parse_sitemap
from indexer.crawl.urls import normalise, path_of, same_site, site_of

TOKEN = "blmk-search"
USER_AGENT = "blmk-search/0.1 (+https://www.blmkhealthandcarepartnership.org/)"
PAGE = b"<!doctype html><title>Clinic</title><p>Evening appointments.</p>"
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 May 2024 10:00:00 GMT"
LIMIT = 64_000  # the fetcher's max_bytes in these tests
TIMEOUT = 0.5


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://Example.COM", None, "http://example.com/"),
        ("http://example.com:80/a#top", None, "http://example.com/a"),
        ("https://example.com:443/a?b=1", None, "https://example.com/a?b=1"),
        ("https://example.com:8443/a", None, "https://example.com:8443/a"),
        ("http://example.com/A%2fb%20c?q=%41", None, "http://example.com/A%2fb%20c?q=%41"),
        ("../b.html#x", "http://example.com/news/a/", "http://example.com/news/b.html"),
        ("//other.org/x", "https://example.com/", "https://other.org/x"),
        ("  page?id=3 ", "http://example.com/dir/", "http://example.com/dir/page?id=3"),
        ("#section", "http://example.com/a", "http://example.com/a"),
        ("http://user:secret@example.com/", None, "http://example.com/"),
        ("http://[::1]:8080/x", None, "http://[::1]:8080/x"),
        ("mailto:someone@example.com", "http://example.com/", None),
        ("javascript:void(0)", "http://example.com/", None),
        ("tel:+441234567890", None, None),
        ("data:text/html,hi", None, None),
        ("ftp://example.com/file", None, None),
        ("/relative/without/base", None, None),
        ("http://example.com:99999/", None, None),
        ("http:///no-host", None, None),
    ],
    ids=[
        "case",
        "default-port-fragment",
        "https-default-port",
        "other-port-kept",
        "percent-encoding-kept",
        "relative",
        "scheme-relative",
        "whitespace",
        "fragment-only",
        "userinfo-dropped",
        "ipv6",
        "mailto",
        "javascript",
        "tel",
        "data",
        "ftp",
        "relative-no-base",
        "bad-port",
        "no-host",
    ],
)
def test_normalise(url: str, base: str | None, expected: str | None) -> None:
    assert normalise(url, base) == expected


def test_site_and_path() -> None:
    assert site_of("HTTPS://Example.com:443/a/b?c") == "https://example.com"
    assert site_of("http://example.com:8080/") == "http://example.com:8080"
    assert same_site("http://EXAMPLE.com/x", "http://example.com")
    assert not same_site("https://example.com/x", "http://example.com")
    assert not same_site("http://www.example.com/x", "http://example.com")
    assert not same_site("mailto:a@example.com", "http://example.com")
    assert path_of("http://example.com") == ""
    assert path_of("http://example.com/news/a.html#x") == "news/a.html"
    assert path_of("http://example.com/page?id=3") == "page?id=3"
    with pytest.raises(ValueError, match="not an http"):
        site_of("mailto:a@example.com")


# --- robots.txt -----------------------------------------------------------------------------

ROBOTS = """\
User-agent: *
Disallow: /private/
Allow: /private/open/
Disallow: /*.pdf$
Disallow: /search*q=
Crawl-delay: 4

User-agent: otherbot
Disallow: /

Sitemap: https://Example.com/sitemap.xml
Sitemap: /relative-sitemap.xml
Sitemap: http://example.com/news-sitemap.xml.gz
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/", True),
        ("/private/notes.html", False),
        ("/private/open/leaflet.html", True),
        ("/docs/report.pdf", False),
        ("/docs/report.pdf?download=1", True),
        ("/search?page=2&q=clinic", False),
        ("/search?page=2", True),
    ],
    ids=["root", "disallowed", "longer-allow-wins", "dollar", "dollar-not-end", "star", "no-star"],
)
def test_robots_rules_for_star(path: str, allowed: bool) -> None:
    rules = RobotsRules.parse(ROBOTS, TOKEN)
    assert rules.allowed(f"https://example.com{path}") is allowed


def test_robots_crawl_delay_and_sitemaps() -> None:
    rules = RobotsRules.parse(ROBOTS, TOKEN)
    assert rules.crawl_delay == 4.0
    assert rules.sitemaps == [
        "https://example.com/sitemap.xml",
        "http://example.com/news-sitemap.xml.gz",
    ]
    assert not RobotsRules.parse(ROBOTS, "otherbot").allowed("https://example.com/")


def test_robots_group_for_our_token_replaces_star() -> None:
    text = ROBOTS + "\nUser-agent: BLMK-Search\nDisallow: /drafts/\nCrawl-delay: 0.5\n"
    rules = RobotsRules.parse(text, TOKEN)
    assert rules.crawl_delay == 0.5
    assert not rules.allowed("https://example.com/drafts/a.html")
    assert rules.allowed("https://example.com/private/notes.html")  # the * group is not ours


def test_robots_without_rules() -> None:
    assert RobotsRules.parse("User-agent: *\nDisallow:\n", TOKEN).crawl_delay is None
    rules = RobotsRules.allow_all()
    assert rules.allowed("https://example.com/private/x") and rules.sitemaps == []
    assert rules.crawl_delay is None


# --- sitemaps -------------------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>
     https://example.com/news/a.html
  </loc><lastmod>2024-05-01</lastmod><changefreq>daily</changefreq></url>
  <url><loc></loc></url>
  <!-- a comment -->
  <url><loc>https://example.com/b.pdf</loc><lastmod>not a date</lastmod></url>
</urlset>
"""
INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.com/s1.xml</loc><lastmod>2024-05-01T10:00:00+01:00</lastmod>
  </sitemap>
  <sitemap><loc>https://example.com/s2.xml.gz</loc></sitemap>
</sitemapindex>"""


def test_urlset() -> None:
    sitemap = parse_sitemap(URLSET, LIMIT)
    assert [entry.url for entry in sitemap.entries] == [
        "https://example.com/news/a.html",
        "https://example.com/b.pdf",
    ]
    assert sitemap.entries[0].lastmod == datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert sitemap.entries[1].lastmod is None
    assert sitemap.sitemaps == []


def test_sitemap_index() -> None:
    sitemap = parse_sitemap(INDEX, LIMIT)
    assert sitemap.entries == []
    assert [(entry.url, entry.lastmod) for entry in sitemap.sitemaps] == [
        ("https://example.com/s1.xml", datetime(2024, 5, 1, 9, 0, tzinfo=UTC)),
        ("https://example.com/s2.xml.gz", None),
    ]


def test_gzipped_and_namespace_less_sitemaps() -> None:
    assert parse_sitemap(gzip.compress(URLSET), LIMIT) == parse_sitemap(URLSET, LIMIT)
    plain = b"<urlset><url><loc>https://example.com/</loc></url></urlset>"
    assert [entry.url for entry in parse_sitemap(plain, LIMIT).entries] == ["https://example.com/"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<!DOCTYPE html><html><body><h1>Not found</h1></body></html>", "<html>"),
        (b"Service unavailable", "not XML"),
        (b"", "empty"),
        (b'<urlset xmlns="http://example.com/other"><url><loc>x</loc></url></urlset>', "namespace"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (gzip.compress(URLSET)[:-20], "cut short"),
        (gzip.compress(b" " * (LIMIT + 1)), "once decompressed"),
        (b" " * (LIMIT + 1), "limit"),
    ],
    ids=["html", "text", "empty", "namespace", "bad-gzip", "truncated", "gzip-bomb", "too-big"],
)
def test_not_a_sitemap(data: bytes, message: str) -> None:
    with pytest.raises(SitemapError, match=message):
        parse_sitemap(data, LIMIT)


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # about 50 KB that would become 50 MB
    with pytest.raises(SitemapError, match="limit"):
        parse_sitemap(bomb, 1_000_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-02", datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-05-01T10:00Z", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00+01:00", datetime(2024, 5, 1, 9, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00.5-05:30", datetime(2024, 5, 1, 15, 30, 0, 500000, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        (" 2024-05-01T10:00:00.123456789Z ", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("yesterday", None),
        ("2024-02-30", None),
        ("2024-13", None),
        ("2024-05-01T24:30Z", None),
        ("", None),
    ],
    ids=[
        "date",
        "month",
        "minutes-z",
        "offset",
        "fraction",
        "naive",
        "nanoseconds",
        "words",
        "no-such-day",
        "no-such-month",
        "no-such-hour",
        "empty",
    ],
)
def test_parse_lastmod(text: str, expected: datetime | None) -> None:
    assert parse_lastmod(text) == expected


# --- pages ----------------------------------------------------------------------------------

PAGE_URL = "https://example.com/news/item.html"


def test_page_links() -> None:
    markup = b"""<html><head>
      <link rel="alternate stylesheet" href="/style.css">
      <link rel="Canonical" href="item.html?ref=x#top">
    </head><body>
      <a href="other.html">Other</a> <a href="/other.html#part">Again</a>
      <a href="mailto:team@example.com">Mail</a> <a href="javascript:void(0)">Menu</a>
      <a rel="external NoFollow" href="/login">Log in</a> <a>No href</a>
      <map><area href="https://partner.org:443/" alt="Partner"></map>
      <a href="https://example.com/reports/annual.pdf">Report</a>
    </body></html>"""
    page = read_page(markup, PAGE_URL, TOKEN)
    assert page.links == [
        "https://example.com/news/other.html",
        "https://example.com/other.html",
        "https://partner.org/",
        "https://example.com/reports/annual.pdf",
    ]
    assert page.canonical == "https://example.com/news/item.html?ref=x"
    assert not page.noindex and not page.nofollow


def test_base_href() -> None:
    markup = b'<head><base href="/library/"></head><a href="leaflet.pdf">Leaflet</a>'
    assert read_page(markup, PAGE_URL, TOKEN).links == ["https://example.com/library/leaflet.pdf"]


@pytest.mark.parametrize(
    ("meta", "noindex", "nofollow"),
    [
        ('<meta name="robots" content="noindex">', True, False),
        ('<meta name="ROBOTS" content="NOINDEX, NOFOLLOW">', True, True),
        ('<meta name="robots" content="nofollow">', False, True),
        ('<meta name="blmk-search" content="none">', True, True),
        ('<meta name="otherbot" content="noindex, nofollow">', False, False),
        ('<meta name="robots" content="index, follow">', False, False),
    ],
    ids=["noindex", "both", "nofollow", "token-none", "other-bot", "index-follow"],
)
def test_meta_robots(meta: str, noindex: bool, nofollow: bool) -> None:
    page = read_page(f"<head>{meta}</head><a href='/x'>x</a>".encode(), PAGE_URL, TOKEN)
    assert (page.noindex, page.nofollow) == (noindex, nofollow)
    assert page.links == ([] if nofollow else ["https://example.com/x"])


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"%PDF-1.7\n%binary", bytes(range(256)) * 40, b"\xff\xfe\x00\x00\x00"],
    ids=["empty", "blank", "pdf", "binary", "odd-bom"],
)
def test_no_page_at_all(data: bytes) -> None:
    page = read_page(data, PAGE_URL, TOKEN)
    assert page.links == [] and page.canonical is None and not page.noindex


def test_broken_markup_gives_what_it_can() -> None:
    markup = b'<html><<a href="one.html">One<div><a href="two.html"</a><p><a href=three"'
    links = read_page(markup, PAGE_URL, TOKEN).links
    assert links[:2] == ["https://example.com/news/one.html", "https://example.com/news/two.html"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (False, False)),
        (["noindex"], (True, False)),
        (["noindex, nofollow"], (True, True)),
        (["None"], (True, True)),
        (["blmk-search: noindex"], (True, False)),
        (["BLMK-Search: nofollow"], (False, True)),
        (["otherbot: noindex"], (False, False)),
        (["otherbot: noindex, nofollow"], (False, False)),
        (["otherbot: noindex", "nofollow"], (False, True)),
        (["unavailable_after: 25 Jun 2030 15:00:00 GMT"], (False, False)),
        (["max-snippet:0, NOINDEX"], (True, False)),
    ],
    ids=[
        "none-sent",
        "noindex",
        "both",
        "none",
        "our-token",
        "our-token-case",
        "other-bot",
        "other-bot-list",
        "several-lines",
        "valued-directive",
        "after-valued",
    ],
)
def test_header_directives(values: list[str], expected: tuple[bool, bool]) -> None:
    assert header_directives(values, TOKEN) == expected


# --- the fetcher, against a real server -----------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Seen:
    path: str
    start: float
    headers: dict[str, str]


@dataclass(slots=True, kw_only=True)
class SiteLog:
    """What the test server saw, guarded by ``lock`` (handlers run in threads of their own)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Seen] = field(default_factory=list)
    active_handlers: int = 0
    paced_in_flight: int = 0
    paced_most_in_flight: int = 0

    def paths(self) -> list[str]:
        with self.lock:
            return [seen.path for seen in self.requests]


Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real servers do
    server: SiteServer

    def handle(self) -> None:
        with self.server.log.lock:
            self.server.log.active_handlers += 1
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher hung up on purpose (too large, too slow)
        finally:
            with self.server.log.lock:
                self.server.log.active_handlers -= 1

    def do_GET(self) -> None:
        log = self.server.log
        with log.lock:
            log.requests.append(
                Seen(path=self.path, start=time.monotonic(), headers=dict(self.headers.items()))
            )
        route = ROUTES.get(self.path) or (paced if self.path.startswith("/paced/") else None)
        (route or not_found)(self)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, status: int, location: str) -> None:
        self.reply(status, b"Moved", {"Location": location})


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.log = SiteLog()


def page(handler: Handler) -> None:
    handler.reply(200, PAGE, {"Content-Type": "text/html; charset=utf-8"})


def cached(handler: Handler) -> None:
    validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
    if (
        handler.headers.get("If-None-Match") == ETAG
        or handler.headers.get("If-Modified-Since") == LAST_MODIFIED
    ):
        handler.send_response(304)
        for name, value in validators.items():
            handler.send_header(name, value)
        handler.end_headers()
        return
    handler.reply(200, PAGE, {"Content-Type": "text/html", **validators})


def long_chain(handler: Handler) -> None:
    hop = int(handler.path.rsplit("/", 1)[1])
    if hop < 6:
        handler.redirect(302, f"/long/{hop + 1}")
    else:
        page(handler)


def big_declared(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(LIMIT * 20))
    handler.end_headers()
    for _ in range(20):
        handler.wfile.write(b"x" * LIMIT)


def big_streamed(handler: Handler) -> None:
    """Chunked, so no Content-Length gives the size away."""
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"y" * 8192
    for _ in range(LIMIT * 4 // len(chunk)):
        handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


def slow(handler: Handler) -> None:
    time.sleep(TIMEOUT + 0.3)
    page(handler)


def trickle(handler: Handler) -> None:
    """One byte every 0.1 s: each read is quick, the whole body would take 3 s."""
    handler.send_response(200)
    handler.send_header("Content-Length", "30")
    handler.end_headers()
    for _ in range(30):
        handler.wfile.write(b"z")
        time.sleep(0.1)


def tagged(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("X-Robots-Tag", "noindex")
    handler.send_header("X-Robots-Tag", "otherbot: nofollow")
    handler.send_header("Content-Length", str(len(PAGE)))
    handler.end_headers()
    handler.wfile.write(PAGE)


def garbage(handler: Handler) -> None:
    handler.close_connection = True
    handler.wfile.write(b"SPAM SPAM SPAM\r\n\r\n")


def paced(handler: Handler) -> None:
    """Long enough (0.5 s) that a third request would overlap two others without a limit.
    In flight is counted down before the reply, so the server never counts a request the
    fetcher has already finished with."""
    log = handler.server.log
    with log.lock:
        log.paced_in_flight += 1
        log.paced_most_in_flight = max(log.paced_most_in_flight, log.paced_in_flight)
    time.sleep(0.5)
    with log.lock:
        log.paced_in_flight -= 1
    page(handler)


def not_found(handler: Handler) -> None:
    handler.reply(404, b"<h1>Not found</h1>", {"Content-Type": "text/html"})


ROUTES: dict[str, Route] = {
    "/page": page,
    "/cached": cached,
    "/chain/1": lambda handler: handler.redirect(302, "/chain/2"),
    "/chain/2": lambda handler: handler.redirect(301, "../page"),
    "/loop/a": lambda handler: handler.redirect(307, "/loop/b"),
    "/loop/b": lambda handler: handler.redirect(308, "/loop/a#again"),
    **{f"/long/{hop}": long_chain for hop in range(7)},
    "/away": lambda handler: handler.redirect(302, "http://other.invalid/"),
    "/no-location": lambda handler: handler.reply(302, b"Moved, but not saying where"),
    "/big-declared": big_declared,
    "/big-streamed": big_streamed,
    "/slow": slow,
    "/trickle": trickle,
    "/missing": not_found,
    "/broken": lambda handler: handler.reply(500, b"<h1>Server error</h1>"),
    "/tagged": tagged,
    "/garbage": garbage,
}


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    site = SiteServer()
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        # Handlers still sleeping (the slow page) finish before their sockets are let go.
        deadline = time.monotonic() + 5
        while site.log.active_handlers and time.monotonic() < deadline:
            time.sleep(0.05)
        site.server_close()
        thread.join(timeout=5)


@pytest.fixture
def base(server: SiteServer) -> str:
    with server.log.lock:
        server.log.requests.clear()
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(
        user_agent=USER_AGENT, timeout_seconds=TIMEOUT, max_bytes=LIMIT, delay_seconds=0
    ) as client:
        yield client


@pytest.mark.server
def test_plain_page_with_our_user_agent(server: SiteServer, base: str, fetcher: Fetcher) -> None:
    fetched = fetcher.get(f"{base}/page")
    assert (fetched.status, fetched.body, fetched.error) == (200, PAGE, None)
    assert fetched.final_url == fetched.url == f"{base}/page"
    assert fetched.content_type == "text/html; charset=utf-8"
    assert fetched.redirects == [] and fetched.robots_header == []
    assert [seen.headers["User-Agent"] for seen in server.log.requests] == [USER_AGENT]


@pytest.mark.server
@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [(ETAG, None), (None, LAST_MODIFIED)],
    ids=["if-none-match", "if-modified-since"],
)
def test_conditional_request_gives_304(
    base: str, fetcher: Fetcher, etag: str | None, last_modified: str | None
) -> None:
    first = fetcher.get(f"{base}/cached")
    assert (first.status, first.etag, first.last_modified) == (200, ETAG, LAST_MODIFIED)
    again = fetcher.get(f"{base}/cached", etag=etag, last_modified=last_modified)
    assert (again.status, again.body, again.error) == (304, b"", None)


@pytest.mark.server
def test_redirect_chain_is_followed(server: SiteServer, base: str, fetcher: Fetcher) -> None:
    fetched = fetcher.get(f"{base}/chain/1", etag=ETAG)
    assert (fetched.status, fetched.body, fetched.error) == (200, PAGE, None)
    assert fetched.final_url == f"{base}/page"
    assert fetched.redirects == [f"{base}/chain/1", f"{base}/chain/2"]
    seen = server.log.requests
    assert [request.path for request in seen] == ["/chain/1", "/chain/2", "/page"]
    # The validators belong to the first URL: the pages redirected to are other documents.
    assert [request.headers.get("If-None-Match") for request in seen] == [ETAG, None, None]


@pytest.mark.server
@pytest.mark.parametrize(
    ("path", "error", "requested"),
    [
        ("/loop/a", "redirect_loop", ["/loop/a", "/loop/b"]),
        ("/long/0", "too_many_redirects", [f"/long/{hop}" for hop in range(6)]),
        ("/away", "other_host", ["/away"]),
    ],
    ids=["loop", "six-hops", "other-host"],
)
def test_redirects_refused(
    server: SiteServer, base: str, fetcher: Fetcher, path: str, error: str, requested: list[str]
) -> None:
    fetched = fetcher.get(f"{base}{path}")
    assert fetched.error == error and fetched.message
    assert fetched.body == b"" and fetched.status in (302, 307, 308)
    assert fetched.final_url == f"{base}{requested[-1]}"
    # Nothing but the test server's own routes was asked: other.invalid never was.
    assert server.log.paths() == requested


@pytest.mark.server
def test_robots_is_asked_before_every_request(
    server: SiteServer, base: str, fetcher: Fetcher
) -> None:
    asked: list[str] = []

    def allowed(url: str) -> bool:
        asked.append(url)
        return not url.endswith("/page")

    fetched = fetcher.get(f"{base}/chain/1", allowed=allowed)
    assert fetched.error == "robots" and f"{base}/page" in fetched.message
    assert asked == [f"{base}/chain/1", f"{base}/chain/2", f"{base}/page"]
    assert server.log.paths() == ["/chain/1", "/chain/2"]
    refused = fetcher.get(f"{base}/page", allowed=allowed)
    assert (refused.error, refused.status) == ("robots", None)
    assert server.log.paths() == ["/chain/1", "/chain/2"]


@pytest.mark.server
@pytest.mark.parametrize("path", ["/big-declared", "/big-streamed"], ids=["declared", "streamed"])
def test_too_large(base: str, fetcher: Fetcher, path: str) -> None:
    fetched = fetcher.get(f"{base}{path}")
    assert (fetched.error, fetched.body) == ("too_large", b"")
    assert "0.061 MB" in fetched.message


@pytest.mark.server
def test_slow_server_times_out(base: str, fetcher: Fetcher) -> None:
    fetched = fetcher.get(f"{base}/slow")
    assert (fetched.status, fetched.error) == (None, "timeout")
    assert fetched.message == "timed out after 0.5 s"


@pytest.mark.server
def test_trickling_body_meets_the_total_deadline(base: str, fetcher: Fetcher) -> None:
    started = time.monotonic()
    fetched = fetcher.get(f"{base}/trickle")
    assert (fetched.error, fetched.body) == ("timeout", b"")
    assert time.monotonic() - started < 2.0  # the whole body would take 3 s


@pytest.mark.server
@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/broken", 500)])
def test_error_statuses_are_returned_as_they_are(
    base: str, fetcher: Fetcher, path: str, status: int
) -> None:
    fetched = fetcher.get(f"{base}{path}")
    assert (fetched.status, fetched.body, fetched.error) == (status, b"", None)


@pytest.mark.server
def test_redirect_without_location_is_returned(base: str, fetcher: Fetcher) -> None:
    fetched = fetcher.get(f"{base}/no-location")
    assert (fetched.status, fetched.error, fetched.redirects) == (302, None, [])


@pytest.mark.server
def test_x_robots_tag_headers(base: str, fetcher: Fetcher) -> None:
    fetched = fetcher.get(f"{base}/tagged")
    assert fetched.robots_header == ["noindex", "otherbot: nofollow"]
    assert header_directives(fetched.robots_header, TOKEN) == (True, False)


@pytest.mark.server
def test_garbage_is_a_bad_response(base: str, fetcher: Fetcher) -> None:
    fetched = fetcher.get(f"{base}/garbage")
    assert (fetched.status, fetched.error) == (None, "bad_response")


@pytest.mark.server
def test_refused_connection(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetched = fetcher.get(f"http://127.0.0.1:{port}/")
    assert (fetched.status, fetched.error) == (None, "connection")
    assert fetched.message.startswith("could not connect")


def test_every_error_is_described_and_bad_urls_raise() -> None:
    assert all(description for description in FETCH_ERRORS.values())
    with (
        Fetcher(user_agent=USER_AGENT, timeout_seconds=1, max_bytes=1, delay_seconds=0) as client,
        pytest.raises(ValueError, match="not an http"),
    ):
        client.get("mailto:team@example.com")


@pytest.mark.server
def test_pacing_per_site(server: SiteServer, base: str) -> None:
    urls = [f"{base}/paced/{number}" for number in range(5)]
    with Fetcher(
        user_agent=USER_AGENT, timeout_seconds=5, max_bytes=LIMIT, delay_seconds=0.2, per_host=2
    ) as client:
        results: list[int | None] = []
        queue = list(urls)
        queue_lock = threading.Lock()

        def work() -> None:
            while True:
                with queue_lock:
                    if not queue:
                        return
                    url = queue.pop()
                fetched = client.get(url)
                with queue_lock:
                    results.append(fetched.status)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert results == [200] * 5
    with server.log.lock:
        starts = sorted(seen.start for seen in server.log.requests)
        most_in_flight = server.log.paced_most_in_flight
    assert len(starts) == 5
    assert all(later - earlier >= 0.15 for earlier, later in itertools.pairwise(starts))
    assert most_in_flight <= 2
