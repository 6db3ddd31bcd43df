"""Indexer settings: the defaults are the fields' own, and ``INDEXER_ENVIRONMENT`` says
which variable overrides which field (``docs/configuration.md`` is rendered from it).

Tests and the search service's admin API build ``IndexerSettings`` directly or change the
object; only ``from_env`` reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from indexer.environment import (
    MEGABYTES,
    Variable,
    at_least,
    number,
    optional_path,
    read_environment,
    whole_number,
)

# The profile for the BLMK website's own templates, shipped with the indexer.
DEFAULT_PROFILE = Path(__file__).resolve().parent / "profiles" / "blmk.toml"


@dataclass(slots=True, kw_only=True)
class IndexerSettings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("var/index")
    # Used for a document's URL when the file declares no canonical URL of its own.
    base_url: str = "https://www.blmkhealthandcarepartnership.org"
    max_file_bytes: int = 50 * 1024 * 1024
    # A PDF with more pages is skipped: a page limit catches what a byte limit cannot (a
    # small file can declare thousands of pages).
    max_pdf_pages: int = 2000
    # A PDF whose reading takes longer is skipped, so one pathological file cannot stall a
    # build; pypdf is pure Python and can spin on a hostile file, so this is enforced from
    # outside, in a worker process.
    file_timeout_seconds: float = 60.0
    # Worker processes reading PDFs during a build (reused from file to file).
    extract_workers: int = 2
    # Published index versions kept on disk, the current one included.
    keep_versions: int = 3
    # A build that would publish fewer than this fraction of the current version's documents
    # is refused (a corpus folder half copied, a mount gone): publishing needs --force then.
    min_kept_fraction: float = 0.5
    # CSS selectors for the main text of the site's own templates; None reads every page with
    # the generic extractor.
    site_profile: Path | None = DEFAULT_PROFILE
    # What staff did and what they can undo: the audit log (``audit.py``), staff accounts,
    # the trash and old revisions of documents. Shared with the search service.
    state_dir: Path = Path("var/state")
    # The audit log starts a new file beyond this size; the old ones are all kept.
    audit_rotate_bytes: int = 10 * 1024 * 1024
    # Searches that must find a document in their first places (``config/checks.toml``): a
    # build whose new version fails one is held. Read by the verifier the search service
    # installs (``build.py``'s ``verify``); the indexer itself only passes the path on.
    checks_file: Path | None = Path("config/checks.toml")
    # Websites the index reads (``blmk-index crawl``, the admin API's crawl and "index this
    # URL now"): their addresses, "https://host"; a URL on another host is refused.
    crawl_sites: tuple[str, ...] = ()
    # Named in the crawler's User-Agent, so a site's owner can reach whoever runs it.
    crawl_contact: str = ""
    # Between two requests to one host when its robots.txt sets no Crawl-delay.
    crawl_delay_seconds: float = 1.0
    # URLs one crawl visits at most (fetched or carried over); the rest wait for the next.
    crawl_max_pages: int = 10_000
    # Links followed away from a sitemap entry or the start page.
    crawl_max_depth: int = 5
    # Per request: to connect, between two reads, and for the whole response.
    crawl_timeout_seconds: float = 10.0
    # A URL neither in the sitemaps nor linked is removed after this many crawls in a row.
    crawl_remove_after: int = 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IndexerSettings:
        """The defaults, with the variables of ``INDEXER_ENVIRONMENT`` that are set."""
        env = os.environ if environ is None else environ
        return read_environment(cls(), INDEXER_ENVIRONMENT, env)


def _without_trailing_slash(text: str) -> str:
    return text.rstrip("/")


def _sites(text: str) -> tuple[str, ...]:
    """Comma-separated site addresses, each http(s) with a host, without a trailing slash."""
    sites = tuple(site.strip().rstrip("/") for site in text.split(",") if site.strip())
    for site in sites:
        scheme, _, rest = site.partition("://")
        if scheme.lower() not in ("http", "https") or not rest or "/" in rest:
            raise ValueError(f"{site!r} is not a site address such as https://www.example.org")
    return sites


# fmt: off
INDEXER_ENVIRONMENT = (
    Variable("BLMK_CORPUS", "corpus_dir", Path,
             "folder of HTML pages and PDF documents the index is built from"),
    Variable("BLMK_INDEX_DIR", "index_dir", Path,
             "index root: the published versions and the pointer to the current one"),
    Variable("BLMK_BASE_URL", "base_url", _without_trailing_slash,
             "site address a document's URL starts with when it declares no canonical URL"),
    Variable("BLMK_MAX_FILE_MB", "max_file_bytes", number,
             "a larger source file is skipped", MEGABYTES),
    Variable("BLMK_MAX_PDF_PAGES", "max_pdf_pages", at_least(1, whole_number),
             "a PDF with more pages is skipped (at least 1)"),
    Variable("BLMK_FILE_TIMEOUT_SECONDS", "file_timeout_seconds", at_least(0.01, number),
             "a file whose reading takes longer is skipped (at least 0.01)"),
    Variable("BLMK_EXTRACT_WORKERS", "extract_workers", at_least(1, whole_number),
             "worker processes reading PDFs during a build (at least 1)"),
    Variable("BLMK_KEEP_VERSIONS", "keep_versions", at_least(1, whole_number),
             "published index versions kept on disk, the current one included (at least 1)"),
    Variable("BLMK_MIN_KEPT_FRACTION", "min_kept_fraction", number,
             "a build keeping a smaller share of the current version's documents is refused"
             " unless forced (`--force`)"),
    Variable("BLMK_SITE_PROFILE", "site_profile", optional_path,
             "CSS selectors for the main text of the site's own templates (empty: none, every"
             " page is read by the generic extractor)"),
    Variable("BLMK_STATE_DIR", "state_dir", Path,
             "staff state shared with the search service: accounts, audit log, trash,"
             " revisions"),
    Variable("BLMK_AUDIT_ROTATE_MB", "audit_rotate_bytes", at_least(1, number),
             "size at which the audit log starts a new file (all files are kept)", MEGABYTES),
    Variable("BLMK_CHECKS", "checks_file", optional_path,
             "quality checks a new index version must pass before it is published (empty:"
             " none)"),
    Variable("BLMK_CRAWL_SITES", "crawl_sites", _sites,
             "websites the index reads (comma-separated, such as `https://www.example.org`);"
             " the admin API crawls and indexes URLs on these hosts only"),
    Variable("BLMK_CRAWL_CONTACT", "crawl_contact", str,
             "an address (email or web page) named in the crawler's User-Agent"),
    Variable("BLMK_CRAWL_DELAY_SECONDS", "crawl_delay_seconds", at_least(0, number),
             "between two requests to a host whose robots.txt sets no Crawl-delay"),
    Variable("BLMK_CRAWL_MAX_PAGES", "crawl_max_pages", at_least(1, whole_number),
             "URLs a crawl visits at most (at least 1)"),
    Variable("BLMK_CRAWL_MAX_DEPTH", "crawl_max_depth", at_least(0, whole_number),
             "links a crawl follows away from a sitemap entry or its start page"),
    Variable("BLMK_CRAWL_TIMEOUT_SECONDS", "crawl_timeout_seconds", at_least(0.1, number),
             "a request taking longer (to connect, between reads, or in all) fails"),
    Variable("BLMK_CRAWL_REMOVE_AFTER", "crawl_remove_after", at_least(1, whole_number),
             "crawls in a row a URL may be missing from the sitemaps and links before its"
             " document is removed"),
)
# fmt: on
