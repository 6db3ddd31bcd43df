"""Reads a website as a source of the index: robots.txt, sitemaps, pages and PDFs.

    urls.py      URL identity: normalised addresses, what "the same site" means
    robots.py    robots.txt rules (Protego)
    sitemaps.py  sitemap and sitemap index files (lxml)
    pages.py     what a crawler needs of a page: links, canonical, robots directives
    fetch.py     polite HTTP (httpx): pacing per host, redirects, size and time limits
    crawler.py   one crawl: which URLs to ask for and what each answer means

A crawl runs inside a build (``indexer.build.crawl_index``): it saves what it fetched in the
new version's ``web/`` folder and returns the records the manifest keeps per URL; the build
reads the new and changed copies into documents, as it reads the corpus folder's files.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from indexer.config import IndexerSettings
from indexer.crawl.crawler import OUTCOMES, TOKEN, CrawlPlan, CrawlResult, UrlLine, user_agent
from indexer.crawl.urls import normalise, site_of

__all__ = [
    "OUTCOMES",
    "TOKEN",
    "CrawlPlan",
    "CrawlResult",
    "UrlLine",
    "crawl_plan",
    "normalise",
    "site_of",
]


def crawl_plan(
    settings: IndexerSettings,
    start_url: str,
    *,
    max_pages: int | None = None,
    delay_seconds: float | None = None,
    full: bool = False,
    only: list[str] | None = None,
    remove: list[str] | None = None,
) -> CrawlPlan:
    """A crawl of ``start_url``'s site with the settings' limits, some of them overridden."""
    try:
        ours = version("blmk-search")
    except PackageNotFoundError:  # run from a checkout that was not installed
        ours = "0"
    return CrawlPlan(
        start_url=start_url,
        user_agent=user_agent(ours, settings.crawl_contact),
        delay_seconds=settings.crawl_delay_seconds if delay_seconds is None else delay_seconds,
        timeout_seconds=settings.crawl_timeout_seconds,
        max_bytes=settings.max_file_bytes,
        max_pages=settings.crawl_max_pages if max_pages is None else max_pages,
        max_depth=settings.crawl_max_depth,
        remove_after=settings.crawl_remove_after,
        full=full,
        only=only,
        remove=remove or [],
    )
