"""URL identity for the crawler: one spelling per address, so that a page reached by two
links is fetched once, and "the same site" means one thing everywhere.

Only what never changes the resource is normalised (fragment, case of scheme and host, default
port, empty path). Percent-encoding, query order and trailing slashes are left alone: a server
may treat those as different pages, and guessing wrong would fetch one page in place of another.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url: str, base: str | None = None) -> str | None:
    """The absolute http(s) URL ``url`` names (joined to ``base`` when relative), or None for
    anything a crawler cannot fetch: mailto:, javascript:, tel:, data:, or a broken address."""
    try:
        joined = urljoin(base, url.strip()) if base else url.strip()
        parts = urlsplit(joined)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            return None
        netloc = _netloc(parts, scheme)
    except ValueError:  # an unparseable address, or a port that is not a number
        return None
    if netloc is None:
        return None
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def site_of(url: str) -> str:
    """ "scheme://host[:port]": the unit of "same host" (http and https are two sites)."""
    normal = normalise(url)
    if normal is None:
        raise ValueError(f"not an http(s) URL: {url!r}")
    parts = urlsplit(normal)
    return f"{parts.scheme}://{parts.netloc}"


def same_site(url: str, site: str) -> bool:
    normal = normalise(url)
    return normal is not None and site_of(normal) == site_of(site)


def path_of(url: str) -> str:
    """The path and query without the leading "/" ("news/a.html", "page?id=3"); "" for the
    root: the form the index uses for a document's identity."""
    normal = normalise(url)
    if normal is None:
        raise ValueError(f"not an http(s) URL: {url!r}")
    parts = urlsplit(normal)
    path = parts.path.removeprefix("/")
    return f"{path}?{parts.query}" if parts.query else path


def _netloc(parts: SplitResult, scheme: str) -> str | None:
    """Host (lower-cased) and port unless it is the scheme's default; user and password are
    dropped, since a crawler never logs in and they are no part of a page's identity."""
    host = parts.hostname  # already lower-cased, without the brackets of an IPv6 address
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == DEFAULT_PORTS[scheme]:
        return host
    return f"{host}:{port}"
