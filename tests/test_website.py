"""bench.website, the loopback site the crawler is tested against: robots.txt, sitemaps,
conditional requests, the special cases and the request log, read with urllib as a client
would read them."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import pytest

from bench.website import (
    SITEMAP,
    SITEMAP_INDEX,
    Resource,
    SampleSite,
    Website,
    sample_site,
    synthetic_site,
)

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx surfaces as an HTTPError, Location and all


OPENER = urllib.request.build_opener(_NoRedirects)


class Response:
    def __init__(self, status: int, headers: Message, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
    """Status, headers and body of one request, errors included, redirects not followed."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with OPENER.open(request, timeout=10) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.headers, error.read())


class _Links(HTMLParser):
    """Hrefs inside the site-links nav, and every other <a> tag's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.nav: list[str] = []
        self.other_anchors: list[dict[str, str | None]] = []
        self.canonical: list[str | None] = []
        self._in_nav = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "nav" and attributes.get("class") == "site-links":
            self._in_nav = True
        elif tag == "a" and self._in_nav:
            self.nav.append(attributes["href"] or "")
        elif tag == "a":
            self.other_anchors.append(attributes)
        elif tag == "link" and attributes.get("rel") == "canonical":
            self.canonical.append(attributes.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_nav = False


def parse(body: bytes, charset: str = "utf-8") -> _Links:
    links = _Links()
    links.feed(body.decode(charset, errors="replace"))
    links.close()
    return links


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Website, SampleSite]]:
    """One sample site for the tests that only read; the slow page is kept short."""
    with Website(crawl_delay=0.5) as website:
        yield website, sample_site(website, CORPUS, slow_seconds=0.3)
        assert website.errors == []


@pytest.fixture
def own_site() -> Iterator[tuple[Website, SampleSite]]:
    """A fresh sample site for a test that changes it."""
    with Website() as website:
        yield website, sample_site(website, CORPUS, slow_seconds=0.3, large_bytes=4096)
        assert website.errors == []


def urlset(website: Website) -> dict[str, str | None]:
    """The sitemap's URLs (paths on the origin) with their lastmod, read as a crawler does:
    through the sitemap index."""
    index = fetch(website.origin + SITEMAP_INDEX)
    assert index.status == 200
    locations = [e.text for e in ElementTree.fromstring(index.body).findall("s:sitemap/s:loc", NS)]
    assert locations == [website.origin + SITEMAP]
    answer = fetch(website.origin + SITEMAP)
    assert answer.headers["Content-Type"] == "application/gzip"
    root = ElementTree.fromstring(gzip.decompress(answer.body))
    found = {}
    for url in root.findall("s:url", NS):
        loc = url.findtext("s:loc", namespaces=NS) or ""
        assert loc.startswith(website.origin + "/")
        found[loc.removeprefix(website.origin)] = url.findtext("s:lastmod", namespaces=NS)
    return found


def test_robots_txt_names_the_rules_and_the_sitemap_index(
    served: tuple[Website, SampleSite],
) -> None:
    website, _ = served
    answer = fetch(website.origin + "/robots.txt")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.body.decode().splitlines() == [
        "User-agent: *",
        "Disallow: /private/",
        "Crawl-delay: 0.5",
        f"Sitemap: {website.origin}/sitemap-index.xml",
    ]


def test_the_gzipped_sitemap_lists_the_listed_pages_and_nothing_else(
    served: tuple[Website, SampleSite],
) -> None:
    website, site = served
    listed = urlset(website)
    expected = set(site.pages) - {site.pdf_only_linked}
    expected |= {site.disallowed, site.server_error, site.slow, site.too_large}
    expected |= {site.noindex, site.noindex_header, site.duplicate}
    assert set(listed) == expected
    assert site.pdf_only_linked not in listed
    for left_out in (site.redirect, site.redirect_loop, site.not_a_page):
        assert left_out not in listed
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v or "") for v in listed.values())
    assert listed["/news/2024-05-16-self-refer-to-nhs-talking-therapies.html"] == (
        "2024-05-16T09:00:00Z"
    )
    # gzip with mtime 0: the same sitemap is the same bytes, so its ETag holds.
    first, second = fetch(website.origin + SITEMAP), fetch(website.origin + SITEMAP)
    assert first.body == second.body and first.body[4:8] == b"\0\0\0\0"
    assert first.headers["ETag"] == second.headers["ETag"]


def test_conditional_requests_get_304_without_a_body(served: tuple[Website, SampleSite]) -> None:
    website, site = served
    url = website.origin + site.removable
    first = fetch(url)
    assert first.status == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and etag.endswith('"') and modified.endswith(" GMT")
    assert int(first.headers["Content-Length"]) == len(first.body)
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", W/{etag}'},
        {"If-Modified-Since": modified},
    ):
        again = fetch(url, headers)
        assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag), headers
    assert fetch(url, {"If-None-Match": '"other"'}).status == 200
    # If-None-Match decides when both are sent, as RFC 9110 says.
    assert fetch(url, {"If-None-Match": '"other"', "If-Modified-Since": modified}).status == 200
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status == 200
    sitemap = fetch(website.origin + SITEMAP)
    assert fetch(website.origin + SITEMAP, {"If-None-Match": sitemap.headers["ETag"]}).status == 304


def test_head_answers_the_headers_alone(served: tuple[Website, SampleSite]) -> None:
    website, site = served
    whole = fetch(website.origin + site.too_large)
    head = fetch(website.origin + site.too_large, method="HEAD")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == str(len(whole.body)) == str(2 * 1024 * 1024 + 1)
    assert head.headers["Content-Type"] == "application/pdf"
    assert whole.body.startswith(b"%PDF-")


def test_a_removed_page_is_404_and_gone_from_the_sitemap(
    own_site: tuple[Website, SampleSite],
) -> None:
    website, site = own_site
    before = fetch(website.origin + SITEMAP)
    assert site.removable in urlset(website)
    website.remove(site.removable)
    gone = fetch(website.origin + site.removable)
    assert gone.status == 404 and b"<html" in gone.body
    assert site.removable not in urlset(website)
    changed = fetch(website.origin + SITEMAP, {"If-None-Match": before.headers["ETag"]})
    assert changed.status == 200
    # Even within the second the sitemap was last read, a change dates it later.
    since = fetch(website.origin + SITEMAP, {"If-Modified-Since": before.headers["Last-Modified"]})
    assert since.status == 200


def test_put_replaces_a_page_with_a_newer_last_modified(
    own_site: tuple[Website, SampleSite],
) -> None:
    website, site = own_site
    url = website.origin + site.removable
    first = fetch(url)
    website.put(site.removable, Resource(body=b"<p>New text</p>", content_type="text/html"))
    second = fetch(url, {"If-Modified-Since": first.headers["Last-Modified"]})
    assert (second.status, second.body) == (200, b"<p>New text</p>")
    assert second.headers["ETag"] != first.headers["ETag"]


def test_redirects_the_loop_and_the_broken_page(served: tuple[Website, SampleSite]) -> None:
    website, site = served
    moved = fetch(website.origin + site.redirect)
    assert (moved.status, moved.headers["Location"]) == (301, site.redirect_target)
    assert site.redirect_target == "/pages/green-plan.html"
    assert fetch(website.origin + site.redirect_target).status == 200
    hop = fetch(website.origin + site.redirect_loop)
    assert hop.status == 302
    back = fetch(urljoin(website.origin + site.redirect_loop, hop.headers["Location"]))
    assert back.status == 302 and back.headers["Location"] == site.redirect_loop
    broken = fetch(website.origin + site.server_error)
    assert broken.status == 500 and broken.body and "ETag" not in broken.headers


def test_the_awkward_content(served: tuple[Website, SampleSite]) -> None:
    website, site = served
    slides = fetch(website.origin + site.pdf_as_html)
    assert slides.headers["Content-Type"] == "text/html"
    assert slides.body == (CORPUS / "documents" / "seminar-slide-deck.pdf").read_bytes()
    logo = fetch(website.origin + site.not_a_page)
    assert logo.headers["Content-Type"] == "image/png"
    assert logo.body.startswith(b"\x89PNG\r\n\x1a\n")
    draft = fetch(website.origin + site.noindex)
    assert b'<meta name="robots" content="noindex">' in draft.body and b"Green Plan" in draft.body
    embargoed = fetch(website.origin + site.noindex_header)
    assert embargoed.headers["X-Robots-Tag"] == "noindex" and b"waiting times" in embargoed.body
    assert fetch(website.origin + site.disallowed).status == 200  # only robots.txt says no
    assert fetch(website.origin + "/no/such/page.html").status == 404
    # The oldest pages are windows-1252, and the header says so.
    old = fetch(website.origin + site.removable)
    assert old.headers["Content-Type"] == "text/html; charset=windows-1252"


def test_the_slow_page_takes_its_time(served: tuple[Website, SampleSite]) -> None:
    website, site = served
    started = time.monotonic()
    assert fetch(website.origin + site.slow).status == 200
    assert time.monotonic() - started >= 0.25


def test_canonical_links_point_at_the_origin(served: tuple[Website, SampleSite]) -> None:
    website, site = served
    page = "/news/2024-01-31-pharmacy-first-launches-seven-common-conditions.html"
    assert parse(fetch(website.origin + page).body).canonical == [website.origin + page]
    foreign = parse(fetch(website.origin + site.foreign_canonical).body).canonical
    assert len(foreign) == 1 and urlsplit(foreign[0]).hostname == (
        "www.blmkhealthandcarepartnership.org"
    )
    duplicate = fetch(website.origin + site.duplicate)
    assert parse(duplicate.body).canonical == [website.origin + site.duplicate_of]
    assert site.duplicate.startswith("/news/print/") and site.duplicate_of in site.pages
    assert site.duplicate not in site.pages


def test_anchors_lose_their_hrefs_and_a_nav_holds_the_links(
    served: tuple[Website, SampleSite],
) -> None:
    website, site = served
    answer = fetch(website.origin + site.pdf_linked_from)
    links = parse(answer.body)
    assert links.other_anchors and all("href" not in a for a in links.other_anchors)
    assert re.search(rb'<nav class="site-links"><ul>.*</ul></nav>\s*</body>', answer.body)
    assert "../" in links.nav and "../documents/background-information-pack.pdf" in links.nav


def test_every_page_is_reachable_by_links_and_the_graph_holds(
    served: tuple[Website, SampleSite],
) -> None:
    """From home, following nav links (and redirects), a crawler meets every page to index,
    ``pdf_only_linked`` through exactly one page."""
    website, site = served
    seen: set[str] = set()
    linking_to: dict[str, set[str]] = {}
    queue = ["/"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = fetch(website.origin + path)
        if answer.status in (301, 302):
            queue.append(urljoin(website.origin + path, answer.headers["Location"]))
            queue[-1] = queue[-1].removeprefix(website.origin)
            continue
        if answer.status != 200 or not answer.headers["Content-Type"].startswith("text/html"):
            continue
        if path == site.pdf_as_html:
            continue  # a PDF, whatever its header says
        charset = answer.headers.get_content_charset() or "utf-8"
        for href in parse(answer.body, charset).nav:
            url = urljoin(website.origin + path, href)
            if not url.startswith(website.origin + "/"):
                assert url == site.other_host
                continue
            target = url.removeprefix(website.origin)
            linking_to.setdefault(target, set()).add(path)
            queue.append(target)
    assert set(site.pages) <= seen
    assert linking_to[site.pdf_only_linked] == {site.pdf_linked_from}
    assert len(site.pages) == len(set(site.pages)) == 70


def test_requests_are_recorded_in_arrival_order(own_site: tuple[Website, SampleSite]) -> None:
    website, site = own_site
    website.clear_requests()
    fetch(website.origin + "/robots.txt", {"X-Test": "one"})
    fetch(website.origin + site.removable, method="HEAD")
    fetch(website.origin + "/missing?page=2")
    recorded = website.requests
    assert [(r.method, r.path, r.status) for r in recorded] == [
        ("GET", "/robots.txt", 200),
        ("HEAD", site.removable, 200),
        ("GET", "/missing?page=2", 404),
    ]
    assert recorded[0].headers["x-test"] == "one"
    assert all(name == name.lower() for r in recorded for name in r.headers)
    assert all(r.started <= r.finished for r in recorded)
    assert recorded[0].finished <= recorded[1].started
    website.clear_requests()
    assert website.requests == []


def test_connections_are_kept_alive_and_stop_closes_them() -> None:
    website = Website().start()
    website.put("/a.html", Resource(body=b"<p>a</p>", content_type="text/html"))
    connection = http.client.HTTPConnection("127.0.0.1", int(website.origin.rsplit(":", 1)[1]))
    try:
        for _ in range(3):
            connection.request("GET", "/a.html")
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, b"<p>a</p>")
            assert answer.getheader("Connection") != "close"
        connection.request("GET", "/robots.txt")
        connection.getresponse().read()
        started = time.monotonic()
        website.stop()  # with the connection still open and idle
        assert time.monotonic() - started < 5
    finally:
        connection.close()
        website.stop()
    assert len(website.requests) == 4
    assert website.errors == []


def test_synthetic_site_serves_a_folder(tmp_path: Path) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "one.html").write_text("<title>One</title><p>One</p>", "utf-8")
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n")
    with Website() as website:
        assert synthetic_site(website, tmp_path) == 2
        assert set(urlset(website)) == {"/", "/news/one.html", "/report.pdf"}
        home = parse(fetch(website.origin + "/").body)
        assert home.nav == ["news/one.html", "report.pdf"]
        assert fetch(website.origin + "/report.pdf").headers["Content-Type"] == ("application/pdf")


def test_the_command_line_serves_and_logs_until_sigterm(tmp_path: Path) -> None:
    folder, log = tmp_path / "site", tmp_path / "requests.jsonl"
    folder.mkdir()
    (folder / "page.html").write_text("<p>Hello</p>", "utf-8")
    command = [sys.executable, "-m", "bench.website", "--folder", str(folder), "--log", str(log)]
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            origin = server.stdout.readline().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", origin)
            assert fetch(origin + "/page.html", {"If-None-Match": '"x"'}).body == b"<p>Hello</p>"
        finally:
            server.terminate()
            _, errors = server.communicate(timeout=10)
    assert server.returncode == 0 and errors == ""
    (line,) = log.read_text("utf-8").splitlines()
    record = json.loads(line)
    assert (record["method"], record["path"], record["status"]) == ("GET", "/page.html", 200)
    assert record["headers"]["if-none-match"] == '"x"'
