"""Polite HTTP for the crawler: one keep-alive client, paced per site, with every limit a
hostile or broken server could push on it (size, time, redirects) enforced here.

Failures are results, not exceptions: a crawl meets timeouts, resets and garbage as a matter
of course, and each becomes a ``Fetched`` whose ``error`` (a key of ``FETCH_ERRORS``) and
``message`` go into the crawl report. Only a programming error (a URL that is not http(s))
raises.

Redirects are followed by hand, not by httpx, so that each hop is checked before it is sent
(same site, robots.txt, no loop) and paced like any other request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from indexer.crawl.urls import normalise, site_of

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

FETCH_ERRORS = {
    "timeout": "the server did not answer, or send the whole page, in time",
    "connection": "the server could not be reached (refused, reset, or no such host)",
    "too_large": "the page is larger than the crawler's size limit",
    "redirect_loop": "the redirects lead back to an address already visited",
    "too_many_redirects": "the redirects go on for more hops than the crawler follows",
    "other_host": "a redirect leads to another site, which the crawler does not visit",
    "robots": "robots.txt does not allow the crawler to fetch the address",
    "bad_response": "the server's answer is not valid HTTP",
}


@dataclass(slots=True, kw_only=True)
class Fetched:
    url: str  # as requested
    final_url: str  # the last URL requested (== url when there were no redirects)
    status: int | None  # the final response's status; None when there was none
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    robots_header: list[str] = field(default_factory=list)  # every X-Robots-Tag value
    body: bytes = b""  # only for a 200
    # Every URL that answered with a redirect, in order (``url`` first when it did).
    redirects: list[str] = field(default_factory=list)
    error: str | None = None  # None, or one of FETCH_ERRORS' keys
    message: str = ""  # a sentence for staff: "timed out after 10 s", ...


@dataclass(slots=True, kw_only=True)
class _Answer:
    """One request's outcome, before redirects are considered."""

    status: int | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    body: bytes = b""
    error: str | None = None
    message: str = ""


@dataclass(slots=True)
class _SiteGate:
    """Pacing for one site: ``slots`` bounds the requests in flight, and ``next_start`` (read
    and moved under ``lock``) keeps successive starts ``delay_seconds`` apart."""

    slots: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0


class Fetcher:
    """Fetches pages for several crawler threads at once; close it (or use it as a context
    manager) to release its connections."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout_seconds: float,
        max_bytes: int,
        delay_seconds: float,
        per_host: int = 2,
        max_redirects: int = 5,
    ) -> None:
        self.delay_seconds = delay_seconds  # settable once robots.txt gives a Crawl-delay
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self.per_host = per_host
        self.max_redirects = max_redirects
        self._gates: dict[str, _SiteGate] = {}
        self._gates_lock = threading.Lock()
        self._client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(
                max_connections=per_host * 4, max_keepalive_connections=per_host * 4
            ),
            follow_redirects=False,
            trust_env=False,  # no proxies or certificates from the environment
            verify=True,
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allowed: Callable[[str], bool] | None = None,
        validators: Callable[[str], tuple[str | None, str | None]] | None = None,
    ) -> Fetched:
        """GET ``url``, following same-site redirects. ``etag`` and ``last_modified`` make the
        first request conditional (a 304 comes back with an empty body), and ``validators``
        gives a redirect target's (its ETag and Last-Modified, when known); ``allowed``
        (robots.txt) is asked about ``url`` and every redirect target before a request goes
        there."""
        current = normalise(url)
        if current is None:
            raise ValueError(f"not an http(s) URL: {url!r}")
        site = site_of(current)
        result = Fetched(url=url, final_url=url, status=None)
        if allowed is not None and not allowed(current):
            return _failed(result, "robots", f"robots.txt does not allow {current}")
        headers = _conditional(etag, last_modified)
        seen = {current}
        for hop in range(self.max_redirects + 1):
            answer = self._request(current, headers)
            headers = {}  # the first request's validators are not the next hop's
            requested = url if hop == 0 else current
            _take_answer(result, requested, answer)
            location = answer.headers.get("location")
            if answer.status not in REDIRECT_STATUSES or not location:
                return result
            result.redirects.append(requested)
            target = normalise(location, current)
            if target is None:
                return _failed(result, "bad_response", f"redirected to {location!r}, not a page")
            if site_of(target) != site:
                return _failed(result, "other_host", f"redirected to another site: {target}")
            if target in seen:
                return _failed(result, "redirect_loop", f"redirected back to {target}")
            if hop == self.max_redirects:
                return _failed(
                    result, "too_many_redirects", f"more than {self.max_redirects} redirects"
                )
            if allowed is not None and not allowed(target):
                return _failed(
                    result, "robots", f"redirected to {target}, which robots.txt does not allow"
                )
            seen.add(target)
            current = target
            if validators is not None:
                headers = _conditional(*validators(target))
        raise AssertionError("unreachable: the last hop returns")

    def _request(self, url: str, headers: dict[str, str]) -> _Answer:
        """One paced GET; the body is read for a 200 only, within the size and time limits."""
        gate = self._gate(site_of(url))
        with gate.slots:
            self._wait_turn(gate)
            deadline = time.monotonic() + self.timeout_seconds
            answer = _Answer()
            try:
                with self._client.stream("GET", url, headers=headers) as response:
                    answer.status, answer.headers = response.status_code, response.headers
                    if response.status_code == 200:
                        self._read_body(response, answer, deadline)
            except httpx.TimeoutException:
                answer.error, answer.message = "timeout", self._timed_out()
            except (httpx.ProtocolError, httpx.DecodingError) as error:
                answer.error, answer.message = "bad_response", f"not valid HTTP: {error}"
            except httpx.TransportError as error:  # refused, reset, no such host, TLS
                answer.error, answer.message = "connection", f"could not connect: {error}"
            if answer.error:
                answer.body = b""
            return answer

    def _read_body(self, response: httpx.Response, answer: _Answer, deadline: float) -> None:
        """Streams the body into ``answer``, giving up as soon as it passes the size limit or
        the deadline: a server that trickles bytes never trips the per-read timeout."""
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            answer.error, answer.message = "too_large", self._too_large(int(length))
            return
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                answer.error, answer.message = "too_large", self._too_large(None)
                return
            if time.monotonic() > deadline:
                answer.error, answer.message = "timeout", self._timed_out()
                return
        answer.body = bytes(body)

    def _gate(self, site: str) -> _SiteGate:
        with self._gates_lock:
            gate = self._gates.get(site)
            if gate is None:
                gate = self._gates[site] = _SiteGate(threading.BoundedSemaphore(self.per_host))
            return gate

    def _wait_turn(self, gate: _SiteGate) -> None:
        """Claims the site's next start time under the lock, then sleeps outside it, so that
        other sites' requests and this site's bookkeeping never wait on a sleeper."""
        with gate.lock:
            now = time.monotonic()
            start = max(now, gate.next_start)
            gate.next_start = start + self.delay_seconds
        if start > now:
            time.sleep(start - now)

    def _timed_out(self) -> str:
        return f"timed out after {self.timeout_seconds:g} s"

    def _too_large(self, length: int | None) -> str:
        limit = f"the {self.max_bytes / 1_048_576:.3g} MB limit"
        if length is None:
            return f"too large: the page is over {limit}"
        return f"too large: the page is {length / 1_048_576:.3g} MB, over {limit}"


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _take_answer(result: Fetched, url: str, answer: _Answer) -> None:
    """Makes ``answer`` (the response to ``url``) the result's latest."""
    result.final_url = url
    result.status = answer.status
    result.etag = answer.headers.get("etag")
    result.last_modified = answer.headers.get("last-modified")
    result.content_type = answer.headers.get("content-type")
    result.robots_header = answer.headers.get_list("x-robots-tag")
    result.body = answer.body
    result.error = answer.error
    result.message = answer.message


def _failed(result: Fetched, error: str, message: str) -> Fetched:
    result.error, result.message, result.body = error, message, b""
    return result
