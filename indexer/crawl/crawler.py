"""One crawl of one site: which URLs to ask for, what each answer means for the index, and
the per-URL report.

The crawl starts from the start URL and the site's sitemaps (named in robots.txt, else
``/sitemap.xml``) and follows links on the pages it reads to pages and PDFs on the same host,
up to ``max_depth`` links away. What the previous version recorded of each URL makes it
incremental: a URL whose sitemap ``lastmod`` is not newer than its last fetch is carried over
without a request; every other known URL is asked for with its ETag and Last-Modified, and a
304, or a 200 with the same bytes, carries it over without reading it again.

What each outcome does to the index:

- fetched: new or changed content, saved for the build to read.
- unchanged: carried over as it is (304, the same bytes, or a sitemap date not newer).
- skipped: robots.txt disallows it, ``noindex``, too large, not HTML or PDF, another host.
  A document it had is removed.
- failed: a 5xx or other error status, a timeout, a refused connection, a redirect loop. The
  last good copy is kept.
- removed: 404 or 410; or no longer listed nor linked for ``remove_after`` crawls in a row.

A crawl that ends early (``max_pages``, a sitemap that could not be read) counts nobody as
missing: a URL it did not reach is carried over, not removed.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, astuple, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from indexer.clock import utc_now
from indexer.crawl.fetch import Fetched, Fetcher
from indexer.crawl.pages import header_directives, read_page
from indexer.crawl.robots import RobotsRules
from indexer.crawl.sitemaps import SitemapError, parse_sitemap
from indexer.crawl.urls import normalise, same_site, site_of
from indexer.errors import CrawlError
from indexer.extract import content_kind
from indexer.manifest import UrlRecord

# The crawler's product token: robots.txt groups for it apply, and it leads the User-Agent.
TOKEN = "blmk-search"
# Requests in flight to the site at once.
PER_HOST = 2
# Sitemap files read at most (an index of indexes cannot make a crawl read without end).
MAX_SITEMAPS = 50
# Pages read but not indexed; their records keep their validators for the next crawl.
SKIPS = {
    "noindex": "marked noindex",
    "not_a_page": "not an HTML page or a PDF",
    "too_large": "too large",
}
# Outcomes, in the order reports list them.
OUTCOMES = ("fetched", "unchanged", "skipped", "failed", "removed")


@dataclass(slots=True, kw_only=True)
class CrawlPlan:
    """What to crawl and how; ``only`` and ``remove`` make it a crawl of just those URLs (a
    CMS saying "this page was published" or "withdrawn"), with no sitemaps and no links."""

    start_url: str
    user_agent: str
    delay_seconds: float  # when robots.txt sets no Crawl-delay
    timeout_seconds: float
    max_bytes: int
    max_pages: int
    max_depth: int
    remove_after: int
    full: bool = False  # ask for everything again, without validators
    only: list[str] | None = None
    remove: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class UrlLine:
    """One line of a crawl report: a URL and what became of it."""

    url: str
    outcome: str  # one of OUTCOMES
    code: str
    message: str


@dataclass(slots=True, kw_only=True)
class CrawlResult:
    site: str
    # Every URL of the site that has a copy in the new version, by URL.
    records: dict[str, UrlRecord]
    lines: list[UrlLine]
    complete: bool  # every URL reached: missing ones were counted
    requests: int = 0
    conditional: int = 0  # of which carried validators
    seconds: float = 0.0

    def changed_from(self, previous: Mapping[str, UrlRecord]) -> bool:
        """Whether the site's records differ from ``previous`` in anything but fetch times."""
        before = {url: record for url, record in previous.items() if record.site == self.site}
        if before.keys() != self.records.keys():
            return True
        return any(_comparable(before[url]) != _comparable(r) for url, r in self.records.items())

    def summary(self) -> dict[str, Any]:
        """The report as JSON: counts by outcome, then every line."""
        counts = Counter(line.outcome for line in self.lines)
        return {
            "site": self.site,
            "complete": self.complete,
            "requests": self.requests,
            "conditional": self.conditional,
            "seconds": round(self.seconds, 3),
            "counts": {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
            "urls": [asdict(line) for line in self.lines],
        }


def _comparable(record: UrlRecord) -> tuple[Any, ...]:
    """What a record says that is worth a new version: not when it was read, nor how it was
    reached this time (a crawl of one URL reaches it from nowhere)."""
    return astuple(replace(record, fetched_at="", depth=0, in_sitemap=False))


def user_agent(version: str, contact: str) -> str:
    """ "blmk-search/0.1 (site search crawler; +contact)": who is asking, and how to reach them."""
    reach = f"; +{contact}" if contact else ""
    return f"{TOKEN}/{version} (site search crawler{reach})"


Progress = Callable[[int, int], None]


class Crawl:
    """Crawls ``plan.start_url``'s site once; ``run()`` returns the new records and report.

    Fetched copies are saved in ``web_dir`` under their content hash, where the build reads
    them; carried-over records keep naming the copy the previous version had (in
    ``copies_from``, where robots.txt and sitemaps answering 304 are read from again).
    """

    def __init__(
        self,
        plan: CrawlPlan,
        previous: Mapping[str, UrlRecord],
        web_dir: Path,
        progress: Progress | None = None,
        copies_from: Path | None = None,
    ) -> None:
        start = normalise(plan.start_url)
        if start is None:
            raise CrawlError(f"{plan.start_url!r} is not a web address (http or https)")
        self.plan = plan
        self.start = start
        self.site = site_of(start)
        self.previous = {url: r for url, r in previous.items() if r.site == self.site}
        self.web_dir = web_dir
        self.copies_from = copies_from  # the current version's saved copies
        self.progress = progress
        self.records: dict[str, UrlRecord] = {}
        self.lines: list[UrlLine] = []
        self.seen: set[str] = set()  # queued or reported: each URL is handled once
        self.reached: set[str] = set()  # listed or linked this crawl (not missing)
        self.queue: deque[tuple[str, int]] = deque()
        self.listed: dict[str, datetime | None] = {}  # sitemap URLs and their lastmod
        self.complete = True
        self.revisits: set[str] = set()  # known, not reached this crawl: asked for again
        self.requests = 0
        self.conditional = 0
        self.robots = RobotsRules.allow_all()

    def run(self) -> CrawlResult:
        started = time.perf_counter()
        self.web_dir.mkdir(parents=True, exist_ok=True)
        with Fetcher(
            user_agent=self.plan.user_agent,
            timeout_seconds=self.plan.timeout_seconds,
            max_bytes=self.plan.max_bytes,
            delay_seconds=self.plan.delay_seconds,
            per_host=PER_HOST,
        ) as fetcher:
            self.robots = self._read_robots(fetcher)
            if self.robots.crawl_delay is not None:
                fetcher.delay_seconds = self.robots.crawl_delay
            if self.plan.only is None and not self.plan.remove:
                self._read_sitemaps(fetcher)
                self._enqueue(self.start, 0)
                for url in self.listed:
                    self._enqueue(url, 0)
            else:
                self.complete = False  # only these URLs: nothing else is missing
                for url in self.plan.only or []:
                    page = normalise(url)
                    if page is None or not same_site(page, self.site):
                        raise CrawlError(f"{url!r} is not an address on {self.site}")
                    self._enqueue(page, self.plan.max_depth)  # read it, follow nothing
            self._remove_now()
            self._visit_all(fetcher)
            if self.complete:
                self._revisit_unreached(fetcher)
        self._count_missing()
        return CrawlResult(
            site=self.site,
            records=self.records,
            lines=self.lines,
            complete=self.complete,
            requests=self.requests,
            conditional=self.conditional,
            seconds=time.perf_counter() - started,
        )

    # --- robots.txt and sitemaps --------------------------------------------------------

    def _get(self, fetcher: Fetcher, url: str, record: UrlRecord | None = None) -> Fetched:
        validators = record is not None and not self.plan.full
        etag = record.etag if validators and record else None
        modified = record.last_modified if validators and record else None
        self.requests += 1
        self.conditional += bool(etag or modified)
        return fetcher.get(
            url,
            etag=etag,
            last_modified=modified,
            allowed=self.robots.allowed,
            validators=None if self.plan.full else self._validators,
        )

    def _validators(self, url: str) -> tuple[str | None, str | None]:
        """A redirect target's ETag and Last-Modified, from its last fetch."""
        record = self.previous.get(url)
        return (record.etag, record.last_modified) if record else (None, None)

    def _read_robots(self, fetcher: Fetcher) -> RobotsRules:
        """The site's rules; a robots.txt that exists but cannot be read stops the crawl, as
        the site may forbid what a guess would fetch."""
        url = f"{self.site}/robots.txt"
        answer, body = self._site_file(fetcher, url, "robots")
        if body is not None:
            return RobotsRules.parse(body.decode("utf-8", "replace"), TOKEN)
        if answer.status is not None and 400 <= answer.status < 500:
            return RobotsRules.allow_all()  # no robots.txt: everything is allowed
        reason = answer.message or f"status {answer.status}"
        raise CrawlError(f"{url} could not be read ({reason}); nothing was crawled")

    def _site_file(self, fetcher: Fetcher, url: str, role: str) -> tuple[Fetched, bytes | None]:
        """robots.txt or a sitemap, asked for with its validators: on a 304 its saved copy is
        read again, so an unchanged site answers a recrawl with 304s only."""
        before = self.previous.get(url)
        copy = self._copy_of(before) if before and before.role == role else None
        answer = self._get(fetcher, url, before if copy is not None else None)
        if answer.status == 304 and copy is not None and before is not None:
            self.records[url] = _validated(before, answer)
            return answer, copy
        if answer.status != 200 or answer.error:
            return answer, None
        digest = hashlib.sha256(answer.body).hexdigest()
        self.records[url] = UrlRecord(
            site=self.site,
            role=role,
            doc_id="",
            body=self._save(f"{digest}.txt", answer.body),
            content_hash=digest,
            fetched_at=utc_now().isoformat(),
            etag=answer.etag,
            last_modified=answer.last_modified,
        )
        return answer, answer.body

    def _copy_of(self, record: UrlRecord) -> bytes | None:
        if not record.body or self.copies_from is None:
            return None
        try:
            return (self.copies_from / record.body).read_bytes()
        except OSError:
            return None

    def _save(self, name: str, data: bytes) -> str:
        copy = self.web_dir / name
        if not copy.exists():
            copy.write_bytes(data)
        return name

    def _read_sitemaps(self, fetcher: Fetcher) -> None:
        pending = deque(self.robots.sitemaps or [f"{self.site}/sitemap.xml"])
        named_in_robots = bool(self.robots.sitemaps)
        read: set[str] = set()
        while pending and len(read) < MAX_SITEMAPS:
            url = normalise(pending.popleft())
            if url is None or url in read or not same_site(url, self.site):
                continue
            read.add(url)
            answer, body = self._site_file(fetcher, url, "sitemap")
            if answer.status == 404 and not named_in_robots:
                continue  # no sitemap at the usual place: links alone, and that is fine
            if body is None:
                self._sitemap_failed(url, answer.message or f"status {answer.status}")
                continue
            try:
                sitemap = parse_sitemap(body, self.plan.max_bytes)
            except SitemapError as error:
                self._sitemap_failed(url, str(error))
                continue
            pending.extend(child.url for child in sitemap.sitemaps)
            for entry in sitemap.entries:
                if (page := normalise(entry.url)) and same_site(page, self.site):
                    self.listed.setdefault(page, entry.lastmod)

    def _sitemap_failed(self, url: str, reason: str) -> None:
        self.complete = False  # what it lists is unknown: nothing can count as missing
        self._line(url, "failed", "sitemap", f"sitemap not read: {reason}")

    # --- the frontier ---------------------------------------------------------------------

    def _enqueue(self, url: str, depth: int) -> None:
        if url in self.seen:
            return
        self.seen.add(url)
        self.reached.add(url)
        self.queue.append((url, depth))

    def _follow(self, links: Iterable[str], depth: int) -> None:
        if depth >= self.plan.max_depth:
            return
        for link in links:
            if link in self.seen:
                continue
            if not same_site(link, self.site):
                self.seen.add(link)
                self._line(link, "skipped", "other_host", "on another host: not crawled")
                continue
            self._enqueue(link, depth + 1)

    def _visit_all(self, fetcher: Fetcher) -> None:
        visited = 0
        with ThreadPoolExecutor(PER_HOST, thread_name_prefix="crawl") as pool:
            pending: dict[Future[Fetched], tuple[str, int]] = {}
            while self.queue or pending:
                while self.queue and len(pending) < PER_HOST * 2:
                    if visited >= self.plan.max_pages:
                        self.complete = False
                        self.queue.clear()
                        break
                    url, depth = self.queue.popleft()
                    visited += 1
                    if (job := self._start(url, depth, fetcher, pool)) is not None:
                        pending[job] = (url, depth)
                if not pending:
                    continue
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for job in done:
                    url, depth = pending.pop(job)
                    self._settle(url, depth, job.result())
                if self.progress:
                    self.progress(len(self.lines), len(self.lines) + len(self.queue) + len(pending))

    def _start(
        self, url: str, depth: int, fetcher: Fetcher, pool: ThreadPoolExecutor
    ) -> Future[Fetched] | None:
        """Asks for ``url``, or settles it without a request (robots, an unchanged lastmod)."""
        if not self.robots.allowed(url):
            self._drop(url, "skipped", "robots", "disallowed by robots.txt")
            return None
        before = self.previous.get(url)
        lastmod = self.listed.get(url)
        if before and not self.plan.full and lastmod and lastmod <= _parse_stamp(before):
            self._carry(url, before, depth, "sitemap_lastmod", "not changed since it was read")
            return None
        return pool.submit(self._get, fetcher, url, before)

    def _settle(self, url: str, depth: int, answer: Fetched) -> None:
        """What one answer means for the URL (and for the URL it redirected to)."""
        if answer.error:
            self._error(url, answer)
            return
        if answer.final_url != url:
            target = answer.final_url
            self._line(url, "unchanged", "redirect", f"redirects to {target}")
            handled = target in self.records or target in self.seen
            self.seen.add(target)
            if handled:  # read already, or queued to be read on its own
                return
            self.reached.add(target)
            url = target
        before = self.previous.get(url)
        if answer.status == 304 and before is not None:
            self._carry(url, _validated(before, answer), depth, "not_modified", "not modified")
        elif answer.status == 200:
            self._read(url, depth, answer)
        elif answer.status in (404, 410):
            if before is not None:
                self._line(url, "removed", "gone", f"answered {answer.status}: removed")
            else:
                self._line(url, "failed", f"http_{answer.status}", f"answered {answer.status}")
        else:
            self._keep(url, f"http_{answer.status}", f"answered {answer.status}")

    def _error(self, url: str, answer: Fetched) -> None:
        code = answer.error or "failed"
        validated = answer.final_url == url and (answer.etag or answer.last_modified)
        if code == "too_large" and validated:  # remembered, so the next crawl asks "changed?"
            self.records[url] = UrlRecord(
                site=self.site,
                doc_id=url,
                skip=code,
                body="",
                content_hash="",
                fetched_at=utc_now().isoformat(),
                etag=answer.etag,
                last_modified=answer.last_modified,
            )
        if code in ("robots", "other_host", "too_large"):
            self._drop(url, "skipped", code, answer.message)
        else:
            self._keep(url, code, answer.message)

    def _read(self, url: str, depth: int, answer: Fetched) -> None:
        """A 200: what the content is, whether to index it, where its links go."""
        noindex, nofollow = header_directives(answer.robots_header, TOKEN)
        kind = content_kind(answer.body)
        links: list[str] = []
        doc_id = url
        note = ""
        if kind == "html":
            page = read_page(answer.body, url, TOKEN)
            noindex, nofollow = noindex or page.noindex, nofollow or page.nofollow
            links = [] if nofollow else page.links
            if page.canonical and page.canonical != url:
                if same_site(page.canonical, self.site):
                    doc_id = page.canonical
                    self._enqueue(page.canonical, depth)
                else:
                    note = f"; its canonical link to another host ({page.canonical}) is ignored"
        self._follow(links, depth)
        skip = "not_a_page" if kind == "other" else "noindex" if noindex else None
        digest = hashlib.sha256(answer.body).hexdigest()
        before = self.previous.get(url)
        record = UrlRecord(
            site=self.site,
            doc_id=doc_id,
            skip=skip,
            body="" if skip else f"{digest}.{'pdf' if kind == 'pdf' else 'html'}",
            content_hash=digest,
            fetched_at=utc_now().isoformat(),
            etag=answer.etag,
            last_modified=answer.last_modified,
            links=[link for link in links if same_site(link, self.site)],
            depth=depth,
            in_sitemap=url in self.listed,
        )
        self.records[url] = record  # a skipped one too: its validators make the next ask cheap
        if skip:
            self._drop(url, "skipped", skip, SKIPS[skip])
            return
        if before and before.content_hash == digest and before.doc_id == doc_id and not before.skip:
            # The same bytes: the same document, or the same reason it could not be one.
            record.body, record.code, record.message = before.body, before.code, before.message
            self._line(url, "unchanged", "same_content", "read again: the same content" + note)
            return
        self._save(record.body, answer.body)
        as_doc = f" as {doc_id}" if doc_id != url else ""
        self._line(url, "fetched", "new" if before is None else "changed", f"read{as_doc}{note}")

    # --- outcomes ---------------------------------------------------------------------------

    def _line(self, url: str, outcome: str, code: str, message: str) -> None:
        self.lines.append(UrlLine(url=url, outcome=outcome, code=code, message=message))

    def _carry(self, url: str, record: UrlRecord, depth: int, code: str, message: str) -> None:
        self.records[url] = replace(record, missing=0, depth=depth, in_sitemap=url in self.listed)
        if record.skip:
            self._line(url, "skipped", record.skip, f"{SKIPS[record.skip]} ({message})")
        else:
            self._line(url, "unchanged", code, message)
        self._follow(record.links, depth)

    def _keep(self, url: str, code: str, message: str) -> None:
        """A failure that says nothing about the page: its last good copy stays."""
        before = self.previous.get(url)
        if before is not None:
            self.records[url] = replace(before, missing=0)
            message += "; the last good copy is kept"
            self._follow(before.links, before.depth)
        self._line(url, "failed", code, message)

    def _drop(self, url: str, outcome: str, code: str, message: str) -> None:
        before = self.previous.get(url)
        if before is not None and before.role == "page" and not before.skip:
            message += "; its document is removed"
        self._line(url, outcome, code, message)

    def _remove_now(self) -> None:
        for url in self.plan.remove:
            target = normalise(url) or url
            gone = [u for u, r in self.previous.items() if target in (u, r.doc_id)]
            for each in gone:
                del self.previous[each]  # so it is neither carried nor counted missing
            self.seen.add(target)
            found = "removed on request" if gone else "not in the index: nothing to remove"
            self._line(target, "removed" if gone else "unchanged", "requested", found)

    def _revisit_unreached(self, fetcher: Fetcher) -> None:
        """Asks again, with validators, for the known pages this crawl did not reach: a 404 or
        410 removes one at once; one still there counts as missing (``_count_missing``)."""
        self.revisits = {
            url
            for url, before in self.previous.items()
            if before.role == "page" and url not in self.reached and url not in self.records
        }
        for url in sorted(self.revisits):
            self.seen.add(url)
            self.queue.append((url, self.plan.max_depth))  # read it, follow nothing
        self._visit_all(fetcher)

    def _count_missing(self) -> None:
        """Previous URLs this crawl did not reach: carried while missing fewer than
        ``remove_after`` crawls; removed after. Counted only when the crawl reached all."""
        # A revisit's own line ("not modified") gives way to the one saying it is missing.
        self.lines = [line for line in self.lines if line.url not in self.revisits]
        settled = {line.url for line in self.lines} | self.records.keys()
        for url, before in self.previous.items():
            if not self.complete:  # not reached, sitemaps not read this time included: kept
                if url not in settled:
                    self.records[url] = before
                continue
            if before.role != "page" or url in self.reached:
                continue
            if url not in self.records:  # answered 404 or 410, or is no page any more
                self._line(url, "removed", "gone", "no longer listed nor linked, and gone")
                continue
            missing = before.missing + 1
            if missing >= self.plan.remove_after:
                del self.records[url]
                self._line(url, "removed", "missing", _missing(missing, "removed"))
            else:
                self.records[url] = replace(self.records[url], missing=missing)
                self._line(url, "unchanged", "missing", _missing(missing, "kept for now"))


def _missing(crawls: int, what: str) -> str:
    times = "crawl" if crawls == 1 else f"{crawls} crawls in a row"
    return f"neither in a sitemap nor linked for {times}: {what}"


def _validated(record: UrlRecord, answer: Fetched) -> UrlRecord:
    """The record with the fresh validators and fetch time of a 304."""
    return replace(
        record,
        etag=answer.etag or record.etag,
        last_modified=answer.last_modified or record.last_modified,
        fetched_at=utc_now().isoformat(),
    )


def _parse_stamp(record: UrlRecord) -> datetime:
    return datetime.fromisoformat(record.fetched_at)
