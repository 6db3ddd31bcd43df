"""Service settings: the defaults are the fields' own (the ranking's are ``RankingSettings``'s),
and ``SERVICE_ENVIRONMENT`` says which variable overrides which field.

``docs/configuration.md`` is rendered from this table and the indexer's:
``python -m search_api.http.settings --markdown > docs/configuration.md``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from indexer import (
    INDEXER_ENVIRONMENT,
    MEGABYTES,
    MILLISECONDS,
    IndexerSettings,
    Variable,
    at_least,
    markdown_table,
    number,
    optional_path,
    optional_text,
    read_environment,
    switch,
    whole_number,
)
from search_api.engine.ranking import RankingSettings
from search_api.engine.service import DEFAULT_BUDGET_SECONDS
from search_api.staff.analytics import DEFAULT_MIN_COUNT, DEFAULT_WEEKS_KEPT


@dataclass(slots=True, kw_only=True)
class Settings:
    index_dir: Path = Path("var/index")
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 4
    # On SIGTERM the server stops taking connections and answers those it has for up to
    # this long before it exits (``search_api.http.lifecycle``).
    drain_seconds: float = 10.0
    # The address of the reverse proxy in front: only its X-Forwarded-For and
    # X-Forwarded-Proto are believed (they then give the client's address and scheme).
    trusted_proxy: str | None = None
    refresh_seconds: float = 2.0
    synonyms_file: Path | None = Path("config/synonyms.txt")
    best_bets_file: Path | None = Path("config/best-bets.toml")
    hidden_file: Path | None = Path("config/hidden.toml")
    suggest_stoplist_file: Path | None = Path("config/suggest-stoplist.txt")
    # Searches that must find a document in their first places: rules publishes and index
    # jobs are held while one fails (``search_api.staff.checks``).
    checks_file: Path | None = Path("config/checks.toml")
    # How matches are scored (``ranking.py``), news recency included.
    ranking: RankingSettings = field(default_factory=RankingSettings)
    # Websites allowed to call /search and /suggest from their pages (the embeddable box).
    cors_origins: frozenset[str] = frozenset()
    # The admin API (staff accounts sign in to it; ``blmk-admin`` manages them). Off on a
    # server that should only answer searches.
    admin_api: bool = True
    # A break-glass admin token that works beside the accounts (for set-ups from before them).
    admin_token: str | None = None
    corpus_dir: Path = Path("corpus")
    max_upload_bytes: int = 50 * 1024 * 1024
    search_budget_seconds: float = DEFAULT_BUDGET_SECONDS
    admin_max_failures: int = 10
    # Query analytics for staff (``analytics.py``): counts per week, no personal data.
    analytics_file: Path | None = Path("var/analytics.json")
    analytics_weeks: int = DEFAULT_WEEKS_KEPT
    analytics_min_count: int = DEFAULT_MIN_COUNT
    # Staff accounts, the audit log, the trash and revisions (shared with ``blmk-index``).
    state_dir: Path = Path("var/state")
    audit_rotate_bytes: int = 10 * 1024 * 1024
    # Deleted documents and replaced revisions are kept this long, then purged.
    keep_days: float = 90.0
    # A crawl of every configured website (the indexer's ``crawl_sites``) this often, run as
    # an index job of the admin API (``search_api.staff.schedule``); 0: only when asked.
    crawl_every_minutes: float = 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The defaults, with the variables of ``SERVICE_ENVIRONMENT`` that are set."""
        env = os.environ if environ is None else environ
        return read_environment(cls(), SERVICE_ENVIRONMENT, env)


def _origins(text: str) -> frozenset[str]:
    """Comma-separated site addresses, as browsers send them in ``Origin`` (no end slash)."""
    return frozenset(o.strip().rstrip("/") for o in text.split(",") if o.strip())


# fmt: off
SERVICE_ENVIRONMENT = (
    Variable("BLMK_INDEX_DIR", "index_dir", Path,
             "index root written by `blmk-index build`"),
    Variable("BLMK_HOST", "host", str, "address `blmk-serve` listens on"),
    Variable("BLMK_PORT", "port", whole_number, "port `blmk-serve` listens on"),
    Variable("BLMK_THREADS", "threads", whole_number, "waitress worker threads"),
    Variable("BLMK_DRAIN_SECONDS", "drain_seconds", at_least(0.0, number),
             "on SIGTERM, how long requests already taken on may take to finish before"
             " `blmk-serve` exits (at least 0)"),
    Variable("BLMK_TRUSTED_PROXY", "trusted_proxy", optional_text,
             "address of the reverse proxy in front: its `X-Forwarded-For` and"
             " `X-Forwarded-Proto` give the client's address and scheme; anyone else's are"
             " dropped (empty: none)"),
    Variable("BLMK_REFRESH_SECONDS", "refresh_seconds", number,
             "how often the published index version is checked"),
    Variable("BLMK_CORS_ORIGINS", "cors_origins", _origins,
             "sites (comma-separated) whose pages may call `/search` and `/suggest`"),
    Variable("BLMK_ADMIN_API", "admin_api", switch,
             "serve the admin API and page (`off`: searches only)"),
    Variable("BLMK_ADMIN_TOKEN", "admin_token", optional_text,
             "break-glass admin token, beside the staff accounts (empty: none)"),
    Variable("BLMK_STATE_DIR", "state_dir", Path,
             "staff accounts, audit log, trash and revisions (shared with `blmk-index`)"),
    Variable("BLMK_AUDIT_ROTATE_MB", "audit_rotate_bytes", at_least(1, number),
             "size at which the audit log starts a new file (all files are kept)", MEGABYTES),
    Variable("BLMK_KEEP_DAYS", "keep_days", at_least(0.0, number),
             "days deleted documents and replaced revisions are kept before they are purged"),
    Variable("BLMK_CORPUS", "corpus_dir", Path, "corpus folder uploads go to and updates read"),
    Variable("BLMK_MAX_UPLOAD_MB", "max_upload_bytes", number,
             "largest upload accepted (413 beyond)", MEGABYTES),
    Variable("BLMK_SYNONYMS", "synonyms_file", optional_path,
             "synonym groups (empty: none)"),
    Variable("BLMK_SUGGEST_STOPLIST", "suggest_stoplist_file", optional_path,
             "words and phrases never suggested (empty: none)"),
    Variable("BLMK_BEST_BETS", "best_bets_file", optional_path,
             "results pinned to the top for given queries (empty: none)"),
    Variable("BLMK_HIDDEN", "hidden_file", optional_path,
             "documents hidden from or demoted in searches (empty: none)"),
    Variable("BLMK_CHECKS", "checks_file", optional_path,
             "quality checks a publish of the rules or an index job must pass (empty: none)"),
    Variable("BLMK_NEWS_RECENCY", "ranking.recency.weight", number,
             "largest score bonus, for a news article published today (0: off)"),
    Variable("BLMK_NEWS_HALF_LIFE_DAYS", "ranking.recency.half_life_days", number,
             "age at which a news article's bonus has halved"),
    Variable("BLMK_SYNONYM_WEIGHT", "ranking.synonym_weight", at_least(0.0, number),
             "what a synonym counts for against the word typed (0: off; at least 0)"),
    Variable("BLMK_CORRECTION_WEIGHT", "ranking.correction_weight", at_least(0.0, number),
             "what a spelling correction counts for (0: off; at least 0)"),
    Variable("BLMK_EXPANSION_WEIGHT", "ranking.expansion_weight", at_least(0.0, number),
             "what a word a `prefix*` stands for counts for (at least 0)"),
    Variable("BLMK_PARTIAL_ENTRY_WEIGHT", "ranking.partial_entry_weight", at_least(0.0, number),
             "what the typed words of a multi-word synonym count for on a page holding only"
             " some of them (0: all required; at least 0)"),
    Variable("BLMK_PROXIMITY_BOOST", "ranking.proximity_boost", at_least(0.0, number),
             "bonus for the typed words found close together (0: off; at least 0)"),
    Variable("BLMK_COVERAGE_EXPONENT", "ranking.coverage_exponent", at_least(0.0, number),
             "extra weight on matching more of the query (0: off; at least 0)"),
    Variable("BLMK_SEARCH_BUDGET_MS", "search_budget_seconds", number,
             "time after which a search answers with what it has, marked `partial`",
             MILLISECONDS),
    Variable("BLMK_ADMIN_MAX_FAILURES", "admin_max_failures", whole_number,
             "wrong admin tokens per address per minute before 429"),
    Variable("BLMK_ANALYTICS_FILE", "analytics_file", optional_path,
             "weekly query counts (empty: kept in memory only)"),
    Variable("BLMK_ANALYTICS_WEEKS", "analytics_weeks", whole_number,
             "weeks of query counts kept (0: nothing counted)"),
    Variable("BLMK_ANALYTICS_MIN_COUNT", "analytics_min_count", whole_number,
             "searches a query needs in a week to be shown"),
    Variable("BLMK_CRAWL_EVERY_MINUTES", "crawl_every_minutes", at_least(0.0, number),
             "run a crawl of every configured site this often (0: never); needs the admin API"
             " and `BLMK_CRAWL_SITES`"),
)
# fmt: on

REGENERATE = "python -m search_api.http.settings --markdown > docs/configuration.md"


def configuration_markdown() -> str:
    """``docs/configuration.md``: both packages' tables, with what they have in common."""
    return f"""# Configuration

Both commands read their settings from `BLMK_` environment variables. A variable that is
unset keeps the default below; one set to text that cannot be read (`BLMK_PORT=eighty`) stops
the command with an error naming the variable. The optional files are switched off by setting
their variable to the empty string. Relative paths are taken from the folder the command runs
in. Command-line options (`--index`, `--corpus`, `--host`, `--port`) win over the variables.

This page is generated from the settings tables in `indexer/config.py` and
`search_api/http/settings.py` (a test fails when it no longer matches them). After changing
one, regenerate it:

    {REGENERATE}

## Indexer (`blmk-index`)

Index jobs started from the admin API read these too, except that the folders are the search
service's own (`BLMK_INDEX_DIR`, `BLMK_CORPUS` below).

{markdown_table(INDEXER_ENVIRONMENT, IndexerSettings())}
## Search service (`blmk-serve`)

{markdown_table(SERVICE_ENVIRONMENT, Settings())}"""


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv) != ["--markdown"]:
        print(f"usage: {REGENERATE}", file=sys.stderr)
        return 2
    sys.stdout.write(configuration_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
