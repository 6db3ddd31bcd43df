"""``blmk-serve``: serve the search API with waitress.

blmk-serve [--index DIR] [--corpus DIR] [--host HOST] [--port PORT]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import waitress

from indexer import IndexerSettings
from search_api.engine import IndexUnavailable
from search_api.http.app import crawls_on_schedule, get_app
from search_api.http.observability import ACCESS_LOG
from search_api.http.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
        indexer = IndexerSettings.from_env()  # what the admin API's index jobs will read
    except ValueError as error:  # a BLMK_ variable that cannot be read: the message names it
        print(f"blmk-serve: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="blmk-serve", description="Serve the search API.")
    parser.add_argument(
        "--index", type=Path, default=settings.index_dir, help="index root folder (BLMK_INDEX_DIR)"
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=settings.corpus_dir,
        help="corpus folder the admin API uploads to and updates from (BLMK_CORPUS)",
    )
    parser.add_argument("--host", default=settings.host, help="address to listen on (BLMK_HOST)")
    parser.add_argument("--port", type=int, default=settings.port, help="port (BLMK_PORT)")
    args = parser.parse_args(argv)
    settings.index_dir, settings.host, settings.port = args.index, args.host, args.port
    settings.corpus_dir = args.corpus

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _write_access_log_bare()
    try:
        app = get_app(settings)
    except IndexUnavailable as error:
        print(f"blmk-serve: {error}", file=sys.stderr)
        return 2
    # Stop as cleanly on SIGTERM (service managers, test harnesses) as on Ctrl+C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    admin = f"; admin API on, corpus {settings.corpus_dir}" if settings.admin_token else ""
    if crawls_on_schedule(settings, indexer):
        sites = ", ".join(indexer.crawl_sites)
        admin += f"; crawl schedule on: {sites} every {settings.crawl_every_minutes:g} minutes"
    print(
        f"Serving {settings.index_dir} on http://{settings.host}:{settings.port}{admin}",
        flush=True,
    )
    waitress.serve(
        app, host=settings.host, port=settings.port, threads=settings.threads, ident="blmk-search"
    )
    return 0


def _write_access_log_bare() -> None:
    """Access-log lines are JSON already: written without a prefix, each line stays valid
    JSON for whatever collects the logs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger(ACCESS_LOG)
    access.addHandler(handler)
    access.propagate = False


if __name__ == "__main__":
    sys.exit(main())
