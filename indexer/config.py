"""Indexer settings: documented defaults, overridable from the environment.

| variable                   | default                                        |
| -------------------------- | ---------------------------------------------- |
| BLMK_CORPUS                | corpus                                         |
| BLMK_INDEX_DIR             | var/index                                      |
| BLMK_BASE_URL              | https://www.blmkhealthandcarepartnership.org   |
| BLMK_MAX_FILE_MB           | 50                                             |
| BLMK_MAX_PDF_PAGES         | 2000                                           |
| BLMK_FILE_TIMEOUT_SECONDS  | 60                                             |
| BLMK_EXTRACT_WORKERS       | 2                                              |
| BLMK_KEEP_VERSIONS         | 3                                              |
| BLMK_MIN_KEPT_FRACTION     | 0.5                                            |
| BLMK_SITE_PROFILE          | the BLMK templates' profile (empty: none)      |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IndexerSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            corpus_dir=Path(env.get("BLMK_CORPUS", defaults.corpus_dir)),
            index_dir=Path(env.get("BLMK_INDEX_DIR", defaults.index_dir)),
            base_url=env.get("BLMK_BASE_URL", defaults.base_url).rstrip("/"),
            max_file_bytes=int(float(env.get("BLMK_MAX_FILE_MB", 50)) * 1024 * 1024),
            max_pdf_pages=max(1, int(env.get("BLMK_MAX_PDF_PAGES", defaults.max_pdf_pages))),
            file_timeout_seconds=max(
                0.01,
                float(env.get("BLMK_FILE_TIMEOUT_SECONDS", defaults.file_timeout_seconds)),
            ),
            extract_workers=max(1, int(env.get("BLMK_EXTRACT_WORKERS", defaults.extract_workers))),
            keep_versions=max(1, int(env.get("BLMK_KEEP_VERSIONS", defaults.keep_versions))),
            min_kept_fraction=float(env.get("BLMK_MIN_KEPT_FRACTION", defaults.min_kept_fraction)),
            site_profile=optional_path(env.get("BLMK_SITE_PROFILE"), defaults.site_profile),
        )


def optional_path(value: str | None, default: Path | None) -> Path | None:
    """Unset keeps the default; set but empty means none."""
    if value is None:
        return default
    return Path(value) if value.strip() else None
