"""``blmk-serve``: serve the search API with waitress.

blmk-serve [--index DIR] [--corpus DIR] [--host HOST] [--port PORT] [--pid-file PATH]

SIGTERM or Ctrl+C drains the server before it exits (``search_api.http.lifecycle``), so that
a proxy in front loses no request when one of several processes is restarted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from indexer import IndexerSettings
from search_api.engine import IndexUnavailable
from search_api.http.app import crawls_on_schedule, get_app
from search_api.http.lifecycle import DrainingServer, Lifecycle
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
    parser.add_argument(
        "--pid-file",
        type=Path,
        help="write the process id to this file while serving (it is removed at exit)",
    )
    args = parser.parse_args(argv)
    settings.index_dir, settings.host, settings.port = args.index, args.host, args.port
    settings.corpus_dir = args.corpus

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _write_access_log_bare()
    lifecycle = Lifecycle()
    try:
        app = get_app(settings, lifecycle)
    except IndexUnavailable as error:
        print(f"blmk-serve: {error}", file=sys.stderr)
        return 2
    try:
        server = DrainingServer(
            app, lifecycle, drain_seconds=settings.drain_seconds, **waitress_options(settings)
        )
    except OSError as error:  # the port is taken, or the address is not this machine's
        print(
            f"blmk-serve: cannot listen on {settings.host}:{settings.port}: {error}",
            file=sys.stderr,
        )
        return 2
    # SIGTERM (service managers, rolling restarts, test harnesses) drains as Ctrl+C does.
    server.stop_on_signals()
    if args.pid_file:
        try:
            write_pid_file(args.pid_file)
        except OSError as error:
            print(f"blmk-serve: cannot write the pid file: {error}", file=sys.stderr)
            return 2
    admin = f"; admin API on, corpus {settings.corpus_dir}" if settings.admin_token else ""
    if crawls_on_schedule(settings, indexer):
        sites = ", ".join(indexer.crawl_sites)
        admin += f"; crawl schedule on: {sites} every {settings.crawl_every_minutes:g} minutes"
    print(
        f"Serving {settings.index_dir} on http://{settings.host}:{settings.port}{admin}",
        flush=True,
    )
    try:
        server.run()
    finally:
        if args.pid_file:
            args.pid_file.unlink(missing_ok=True)
    return 0


def waitress_options(settings: Settings) -> dict[str, Any]:
    """What waitress is told. Forwarded headers are dropped unless they come from the
    trusted proxy; from it, they give the client's address (``req.remote_addr``, which the
    admin failure throttle, the admin access-log lines and the audit log use) and scheme."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "threads": settings.threads,
        "ident": "blmk-search",
        "clear_untrusted_proxy_headers": True,
    }
    if settings.trusted_proxy:
        options |= {
            "trusted_proxy": settings.trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        }
    return options


def write_pid_file(path: Path) -> None:
    """The process id, for scripts that signal the server: written once the server listens
    and stops on signals, and whole (renamed into place), so that a reader never finds it
    empty."""
    written = path.with_name(path.name + ".tmp")
    written.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(written, path)


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
