"""Service settings: documented defaults, overridable from the environment.

| variable              | default    | meaning                                          |
| --------------------- | ---------- | ------------------------------------------------ |
| BLMK_INDEX_DIR        | var/index  | index root written by ``blmk-index build``       |
| BLMK_HOST             | 127.0.0.1  | address ``blmk-serve`` listens on                |
| BLMK_PORT             | 8080       | port ``blmk-serve`` listens on                   |
| BLMK_THREADS          | 4          | waitress worker threads                          |
| BLMK_REFRESH_SECONDS  | 2          | how often the published index version is checked |
| BLMK_CORS_ORIGINS     | none       | sites whose pages may call /search, /suggest   |
| BLMK_ADMIN_TOKEN      | unset      | enables the admin API; the Bearer token it needs |
| BLMK_CORPUS           | corpus     | corpus folder uploads go to and updates read     |
| BLMK_MAX_UPLOAD_MB    | 50         | largest upload accepted (413 beyond)             |
| BLMK_SYNONYMS         | config/synonyms.txt    | synonym groups (empty: none)         |
| BLMK_SUGGEST_STOPLIST | config/suggest-stoplist.txt | never suggested (empty: none)  |
| BLMK_BEST_BETS        | config/best-bets.toml  | pinned results (empty: none)         |
| BLMK_NEWS_RECENCY     | 0.15       | largest score bonus for a new news article (0: off) |
| BLMK_NEWS_HALF_LIFE_DAYS | 365     | age at which a news article's bonus has halved  |
| BLMK_SYNONYM_WEIGHT   | 0.5        | what a synonym counts for against the typed word (0: off) |
| BLMK_CORRECTION_WEIGHT | 0.8       | what a spelling correction counts for (0: off)   |
| BLMK_EXPANSION_WEIGHT | 0.5        | what a word a ``prefix*`` stands for counts for  |
| BLMK_PROXIMITY_BOOST  | 0.5        | bonus for the typed words close together (0: off) |
| BLMK_COVERAGE_EXPONENT | 0         | extra weight on matching more of the query (0: off) |
| BLMK_SEARCH_BUDGET_MS | 250        | time after which a search answers ``partial``    |
| BLMK_ADMIN_MAX_FAILURES | 10       | wrong admin tokens per address per minute before 429 |
| BLMK_ANALYTICS_FILE   | var/analytics.json | weekly query counts (empty: memory only) |
| BLMK_ANALYTICS_WEEKS  | 26         | weeks of query counts kept (0: nothing counted)  |
| BLMK_ANALYTICS_MIN_COUNT | 2       | searches a query needs in a week to be shown     |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer import optional_path
from search_api.engine.ranking import RankingSettings, RecencySettings
from search_api.engine.service import DEFAULT_BUDGET_SECONDS
from search_api.staff.analytics import DEFAULT_MIN_COUNT, DEFAULT_WEEKS_KEPT


@dataclass(slots=True, kw_only=True)
class Settings:
    index_dir: Path = Path("var/index")
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 4
    refresh_seconds: float = 2.0
    synonyms_file: Path | None = Path("config/synonyms.txt")
    best_bets_file: Path | None = Path("config/best-bets.toml")
    suggest_stoplist_file: Path | None = Path("config/suggest-stoplist.txt")
    # How matches are scored (``ranking.py``), news recency included.
    ranking: RankingSettings = field(default_factory=RankingSettings)
    # Websites allowed to call /search and /suggest from their pages (the embeddable box).
    cors_origins: frozenset[str] = frozenset()
    # The admin API is served only when a token is set.
    admin_token: str | None = None
    corpus_dir: Path = Path("corpus")
    max_upload_bytes: int = 50 * 1024 * 1024
    search_budget_seconds: float = DEFAULT_BUDGET_SECONDS
    admin_max_failures: int = 10
    # Query analytics for staff (``analytics.py``): counts per week, no personal data.
    analytics_file: Path | None = Path("var/analytics.json")
    analytics_weeks: int = DEFAULT_WEEKS_KEPT
    analytics_min_count: int = DEFAULT_MIN_COUNT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            index_dir=Path(env.get("BLMK_INDEX_DIR", defaults.index_dir)),
            host=env.get("BLMK_HOST", defaults.host),
            port=int(env.get("BLMK_PORT", defaults.port)),
            threads=int(env.get("BLMK_THREADS", defaults.threads)),
            refresh_seconds=float(env.get("BLMK_REFRESH_SECONDS", defaults.refresh_seconds)),
            synonyms_file=optional_path(env.get("BLMK_SYNONYMS"), defaults.synonyms_file),
            best_bets_file=optional_path(env.get("BLMK_BEST_BETS"), defaults.best_bets_file),
            suggest_stoplist_file=optional_path(
                env.get("BLMK_SUGGEST_STOPLIST"), defaults.suggest_stoplist_file
            ),
            cors_origins=frozenset(
                origin.strip().rstrip("/")
                for origin in env.get("BLMK_CORS_ORIGINS", "").split(",")
                if origin.strip()
            ),
            admin_token=env.get("BLMK_ADMIN_TOKEN") or None,
            corpus_dir=Path(env.get("BLMK_CORPUS", defaults.corpus_dir)),
            max_upload_bytes=int(float(env.get("BLMK_MAX_UPLOAD_MB", 50)) * 1024 * 1024),
            search_budget_seconds=float(
                env.get("BLMK_SEARCH_BUDGET_MS", defaults.search_budget_seconds * 1000)
            )
            / 1000,
            admin_max_failures=int(env.get("BLMK_ADMIN_MAX_FAILURES", defaults.admin_max_failures)),
            analytics_file=optional_path(env.get("BLMK_ANALYTICS_FILE"), defaults.analytics_file),
            analytics_weeks=int(env.get("BLMK_ANALYTICS_WEEKS", defaults.analytics_weeks)),
            analytics_min_count=int(
                env.get("BLMK_ANALYTICS_MIN_COUNT", defaults.analytics_min_count)
            ),
            ranking=_ranking_from_env(env, defaults.ranking),
        )


def _ranking_from_env(env: Mapping[str, str], defaults: RankingSettings) -> RankingSettings:
    def weight(name: str, default: float) -> float:
        return max(0.0, float(env.get(name, default)))

    recency = RecencySettings(
        weight=float(env.get("BLMK_NEWS_RECENCY", defaults.recency.weight)),
        half_life_days=float(env.get("BLMK_NEWS_HALF_LIFE_DAYS", defaults.recency.half_life_days)),
    )
    return replace(
        defaults,
        recency=recency,
        synonym_weight=weight("BLMK_SYNONYM_WEIGHT", defaults.synonym_weight),
        correction_weight=weight("BLMK_CORRECTION_WEIGHT", defaults.correction_weight),
        expansion_weight=weight("BLMK_EXPANSION_WEIGHT", defaults.expansion_weight),
        proximity_boost=weight("BLMK_PROXIMITY_BOOST", defaults.proximity_boost),
        coverage_exponent=weight("BLMK_COVERAGE_EXPONENT", defaults.coverage_exponent),
    )
