"""Sitemap XML (sitemaps.org): the URLs a site lists, with when each last changed.

No sitemap library: lxml is already a dependency and a sitemap is small, simple XML (two
document kinds, three elements that matter). The libraries on PyPI also fetch sitemaps
themselves, which would take the requests outside the crawler's polite, size-limited client.
The crawler fetches the bytes; this module only reads them.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

SITEMAP_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
GZIP_MAGIC = b"\x1f\x8b"
_DECOMPRESS_STEP = 65_536


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    url: str
    lastmod: datetime | None  # timezone-aware UTC


@dataclass(slots=True, kw_only=True)
class Sitemap:
    entries: list[SitemapEntry]  # from a <urlset>
    sitemaps: list[SitemapEntry]  # child sitemaps, from a <sitemapindex> (with their lastmod)


class SitemapError(ValueError):
    """A sitemap that cannot be read; the message says why, for the crawl report."""


def parse_sitemap(data: bytes, max_bytes: int) -> Sitemap:
    """A <urlset> or a <sitemapindex>, gzipped or not (the magic bytes decide, since servers
    label .xml.gz every which way)."""
    if data.startswith(GZIP_MAGIC):
        data = _gunzip(data, max_bytes)
    elif len(data) > max_bytes:
        raise SitemapError(f"the sitemap is larger than the {max_bytes:,}-byte limit")
    if not data.strip():
        raise SitemapError("the sitemap is empty")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise SitemapError(f"the sitemap is not XML ({error})") from error
    if root is None or not isinstance(root.tag, str):
        raise SitemapError("the sitemap is not XML")
    name = etree.QName(root)
    if name.namespace not in (None, SITEMAP_NAMESPACE):
        raise SitemapError(f"the sitemap's namespace is {name.namespace}, not sitemaps.org's")
    if name.localname == "urlset":
        return Sitemap(entries=_entries(root, "url", name.namespace), sitemaps=[])
    if name.localname == "sitemapindex":
        return Sitemap(entries=[], sitemaps=_entries(root, "sitemap", name.namespace))
    raise SitemapError(
        f"not a sitemap: the document is <{name.localname}>, not <urlset> or <sitemapindex>"
    )


def parse_lastmod(text: str) -> datetime | None:
    """A W3C datetime as an aware UTC datetime; None for anything else.

    A date without a time stands for the END of that day (of the month, of the year, for the
    shorter forms): a page that changed later on the day it was last fetched must still look
    changed. A time without a zone is read as UTC.
    """
    match = _W3C_DATETIME.fullmatch(text.strip())
    if match is None:
        return None
    parts = match.groupdict()
    try:
        if parts["hour"] is None:
            return _end_of_period(int(parts["year"]), parts["month"], parts["day"])
        fraction = (parts["fraction"] or "").ljust(6, "0")[:6]
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int(fraction),
            tzinfo=_zone(parts["zone"]),
        )
    except ValueError:  # 2024-02-30, 25:00, a zone of +30:00 ...
        return None
    return moment.astimezone(UTC)


_W3C_DATETIME = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?",
    re.IGNORECASE,
)


def _entries(root: etree._Element, kind: str, namespace: str | None) -> list[SitemapEntry]:
    """The <loc> and <lastmod> of each ``kind`` element (<url> or <sitemap>), in the
    document's namespace; empty locs are skipped."""
    tag = etree.QName(namespace, kind).text if namespace else kind
    loc_tag = etree.QName(namespace, "loc").text if namespace else "loc"
    lastmod_tag = etree.QName(namespace, "lastmod").text if namespace else "lastmod"
    entries = []
    for element in root.iterchildren(tag):
        url = (element.findtext(loc_tag) or "").strip()
        if not url:
            continue
        lastmod = element.findtext(lastmod_tag)
        entries.append(SitemapEntry(url=url, lastmod=parse_lastmod(lastmod) if lastmod else None))
    return entries


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompressed bytes, stopping as soon as they pass ``max_bytes``: a few kilobytes of
    gzip can hold gigabytes of zeros."""
    output = bytearray()
    pending = data
    try:
        while pending.startswith(GZIP_MAGIC):  # a gzip file may hold several members
            member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            while not member.eof:
                chunk = member.decompress(pending, _DECOMPRESS_STEP)
                output += chunk
                if len(output) > max_bytes:
                    raise SitemapError(
                        f"the sitemap is larger than the {max_bytes:,}-byte limit once decompressed"
                    )
                pending = member.unconsumed_tail
                if not pending and not chunk and not member.eof:
                    raise SitemapError("the sitemap's gzip data is cut short")
            pending = member.unused_data
    except zlib.error as error:
        raise SitemapError(f"the sitemap's gzip data is damaged ({error})") from error
    return bytes(output)


def _end_of_period(year: int, month: str | None, day: str | None) -> datetime:
    """The last microsecond (UTC) of a year, a month or a day."""
    if month is None:
        start_of_next = datetime(year + 1, 1, 1, tzinfo=UTC)
    elif not 1 <= int(month) <= 12:
        raise ValueError(f"no month {month}")
    elif day is None:
        number = int(month)
        start_of_next = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    else:
        start_of_next = datetime(year, int(month), int(day), tzinfo=UTC) + timedelta(days=1)
    return start_of_next - timedelta(microseconds=1)


def _zone(text: str | None) -> timezone:
    if text is None or text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
