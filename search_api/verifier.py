"""The quality checks as a plugin of ``blmk-index``: its ``blmk_search.verifiers`` entry point
(``setup.cfg``) names ``verifier_for``.

The indexer imports nothing of the search service, so it finds this function through package
metadata and calls it with its own settings. The checks must then search the new version as
the service will: with the service's rule files and ranking, read here from its settings
(``BLMK_SYNONYMS``, ``BLMK_NEWS_RECENCY`` ...), the one place besides the settings modules
that knows both.
"""

from __future__ import annotations

from indexer import IndexerSettings, Verifier
from search_api.http.settings import Settings
from search_api.staff.checks import QualityChecks


def verifier_for(settings: IndexerSettings) -> Verifier | None:
    """The checks of ``settings.checks_file``, run on a build's new version before it is
    published (None when there are none); a ValueError when the file, or a service setting,
    cannot be read."""
    service = Settings.from_env()
    rule_files = {
        "synonyms": service.synonyms_file,
        "best_bets": service.best_bets_file,
        "hidden": service.hidden_file,
        "stoplist": service.suggest_stoplist_file,
        "checks": settings.checks_file,
    }
    checks = QualityChecks(settings.checks_file, rule_files, settings.state_dir, service.ranking)
    return checks.verifier("blmk-index")
