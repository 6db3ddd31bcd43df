"""``blmk-index``: build and manage the search index, or show what it reads from files.

blmk-index build [--corpus DIR] [--index DIR] [--state DIR] [--force]
blmk-index update [--corpus DIR] [--index DIR] [--state DIR] [--force]
blmk-index crawl URL [--index DIR] [--max-pages N] [--delay SECONDS] [--full] [--force]
blmk-index status [--index DIR] [--urls]
blmk-index rollback [--index DIR] [--state DIR]
blmk-index extract [--corpus DIR] PATH...

``crawl`` reads the website URL is on (robots.txt, its sitemaps, links to pages and PDFs on the
same host) and publishes a version with what changed there and in the corpus folder; it
publishes nothing when nothing changed. It prints a line for each URL skipped, failed or
removed; ``status --urls`` lists every URL of the last crawl.

``build``, ``update``, ``crawl`` and ``rollback`` each append an entry to the audit log in the state
folder (``--state``, else ``BLMK_STATE_DIR``), as done, failed or refused, in the name of the
person running the command; ``status`` and ``extract`` change nothing and record nothing. An
entry that cannot be written is reported on stderr and leaves the exit status alone: the
index change it describes has already happened (or not).

Before ``build`` and ``update`` publish, the new version is given to the verifiers installed
as plugins (the ``blmk_search.verifiers`` entry point group): the search service installs one
that runs staff's quality checks (``BLMK_CHECKS``) on it, and holds the build when one fails.
They are found through package metadata, not imported, so that the indexer stays standalone:
it imports nothing of the search service, and with no verifier installed a build publishes
unchecked and says so. ``--force`` skips them (and says so).

Exit status: 0 done; 1 nothing published (the reason is printed, a bad site profile and
failing quality checks included) or nothing to roll back; 2 another build is running, or the
command line, a ``BLMK_`` variable, the checks file or (for ``extract``) the site profile is
wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from indexer.audit import AuditLog, command_line_actor
from indexer.build import (
    BuildError,
    BuildReport,
    Skipped,
    Verifier,
    build_index,
    crawl_index,
    extract_all,
    source_files,
    update_index,
)
from indexer.config import IndexerSettings
from indexer.crawl import CrawlPlan, crawl_plan
from indexer.document import Document
from indexer.errors import ChecksFailed
from indexer.extract.profile import ProfileError, cached_profile
from indexer.extract.workers import Workers
from indexer.lock import BuildInProgress
from indexer.progress import ProgressReporter
from indexer.store import IndexStore, NothingToRollBack

# The entry point group whose plugins check a new version before it is published: each names
# a function of ``IndexerSettings`` returning a ``Verifier``, or None when it has nothing to
# check.
VERIFIERS = "blmk_search.verifiers"

# What ``extract`` shows of a document, after "path" and "ok".
EXTRACT_FIELDS = (
    "type",
    "title",
    "date",
    "summary",
    "body",
    "url",
    "topics",
    "scope",
    "language",
    "author",
    "notes",
    "pages",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blmk-index", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="read the whole corpus and publish a new index")
    update = commands.add_parser(
        "update", help="re-read only new and changed files and publish a new index"
    )
    for command in (build, update):
        command.add_argument(
            "--corpus", type=Path, help="folder of HTML and PDF files (BLMK_CORPUS)"
        )
        command.add_argument("--index", type=Path, help="index root folder (BLMK_INDEX_DIR)")
        command.add_argument(
            "--force",
            action="store_true",
            help="publish even if the index would shrink a lot, without the quality checks",
        )
    crawl = commands.add_parser(
        "crawl", help="read a website's new and changed pages and PDFs and publish a new index"
    )
    crawl.add_argument("url", help="the site's address or a page of it to start from")
    crawl.add_argument("--corpus", type=Path, help="folder of HTML and PDF files (BLMK_CORPUS)")
    crawl.add_argument("--index", type=Path, help="index root folder (BLMK_INDEX_DIR)")
    crawl.add_argument("--max-pages", type=int, help="URLs to visit at most (BLMK_CRAWL_MAX_PAGES)")
    crawl.add_argument(
        "--delay",
        type=float,
        help="seconds between requests when robots.txt sets no Crawl-delay "
        "(BLMK_CRAWL_DELAY_SECONDS)",
    )
    crawl.add_argument(
        "--full", action="store_true", help="fetch everything again, ignoring what is known"
    )
    crawl.add_argument(
        "--force",
        action="store_true",
        help="publish even if the index would shrink a lot, without the quality checks",
    )
    status = commands.add_parser("status", help="list the index versions and the current one")
    status.add_argument("--urls", action="store_true", help="list every URL of the last crawl")
    rollback = commands.add_parser("rollback", help="republish the previous index version")
    for command in (status, rollback):
        command.add_argument("--index", type=Path, help="index root folder (BLMK_INDEX_DIR)")
    for command in (build, update, crawl, rollback):
        command.add_argument(
            "--state", type=Path, help="state folder holding the audit log (BLMK_STATE_DIR)"
        )
    extract = commands.add_parser(
        "extract", help="print, as JSON lines, what the indexer reads from each file"
    )
    extract.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    extract.add_argument(
        "--corpus", type=Path, help="corpus root, for ids and folder facets (BLMK_CORPUS)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = IndexerSettings.from_env()
    except ValueError as error:  # a BLMK_ variable that cannot be read: the message names it
        print(f"blmk-index: {error}", file=sys.stderr)
        return 2
    if getattr(args, "corpus", None):
        settings.corpus_dir = args.corpus
    if getattr(args, "index", None):
        settings.index_dir = args.index
    if getattr(args, "state", None):
        settings.state_dir = args.state
    if args.command in ("build", "update"):
        return run_build(settings, incremental=args.command == "update", force=args.force)
    if args.command == "crawl":
        if (args.max_pages is not None and args.max_pages < 1) or (args.delay or 0) < 0:
            print("blmk-index: --max-pages must be at least 1, --delay at least 0", file=sys.stderr)
            return 2
        plan = crawl_plan(
            settings, args.url, max_pages=args.max_pages, delay_seconds=args.delay, full=args.full
        )
        return run_build(settings, incremental=True, force=args.force, crawl=plan)
    if args.command == "status":
        return run_status(IndexStore(settings.index_dir), every_url=args.urls)
    if args.command == "rollback":
        return run_rollback(IndexStore(settings.index_dir), settings)
    return run_extract(args.paths, settings)


def run_build(
    settings: IndexerSettings, incremental: bool, force: bool, crawl: CrawlPlan | None = None
) -> int:
    verb = "Updating" if incremental else "Indexing"
    action = "index.update" if incremental else "index.rebuild"
    source = str(settings.corpus_dir)
    if crawl is not None:
        verb, action, source = "Crawling into", "index.crawl", f"{crawl.start_url} and {source}"
    print(f"{verb} {settings.index_dir} from {source}", flush=True)
    try:
        verify, checks = (None, "skipped (--force)") if force else installed_verifier(settings)
    except ValueError as error:  # a checks file that cannot be read: the message names it
        print(f"blmk-index: {error}", file=sys.stderr)
        record_change(settings, action, "refused", reason=str(error))
        return 2
    print(f"Quality checks: {checks}", flush=True)
    progress = ProgressReporter()
    try:
        if crawl is not None:
            report = crawl_index(settings, crawl, progress=progress, force=force, verify=verify)
        else:
            run = update_index if incremental else build_index
            report = run(settings, progress=progress, force=force, verify=verify)
    except BuildInProgress as error:
        print(f"blmk-index: {error}", file=sys.stderr)
        record_change(settings, action, "refused", reason=str(error))
        return 2
    except ChecksFailed as error:
        print(f"blmk-index: held: {error}", file=sys.stderr)
        record_change(settings, action, "refused", reason=str(error), details={"checks": "held"})
        return 1
    except BuildError as error:
        print(f"blmk-index: {error}", file=sys.stderr)
        record_change(settings, action, "failed", reason=str(error))
        return 1
    finally:
        progress.close()
    print_report(report)
    details = report_details(report) | {"checks": "passed" if verify else checks}
    record_change(settings, action, "done", details=details)
    return 0


def installed_verifier(settings: IndexerSettings) -> tuple[Verifier | None, str]:
    """The installed verifiers as one, and what the build will say of its checks. A plugin's
    ValueError (its own file cannot be read) goes to the caller."""
    plugins = entry_points(group=VERIFIERS)
    if not plugins:
        return None, "no verifier installed: the new version is published unchecked"
    verifiers = [v for plugin in plugins if (v := plugin.load()(settings)) is not None]
    if not verifiers:
        return None, "none configured (BLMK_CHECKS)"

    def verify(version: Path) -> None:
        for each in verifiers:
            each(version)

    names = ", ".join(sorted(plugin.name for plugin in plugins))
    return verify, f"run before publishing ({names})"


def published_anything(report: BuildReport) -> bool:
    """False for an update or crawl that found nothing changed, and so kept the version."""
    return report.published


def report_details(report: BuildReport) -> dict[str, Any]:
    """What the audit log keeps of a build: its outcome in figures, not the file lists."""
    crawled = (
        {"crawl": report.crawl["counts"] | {"site": report.crawl["site"]}} if report.crawl else {}
    )
    return crawled | {
        "version": report.version,
        "published": published_anything(report),
        "mode": report.mode,
        "indexed": report.indexed,
        "read": report.read,
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "skipped": len(report.skipped),
        "flagged": len(report.flagged),
    }


def record_change(
    settings: IndexerSettings,
    action: str,
    outcome: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Appends the audit entry for a change to the index. The change is made (or refused)
    already, so a log that cannot be written is reported but does not alter the exit status."""
    log = AuditLog(settings.state_dir, settings.audit_rotate_bytes)
    target = str(settings.index_dir.resolve())
    try:
        log.record(command_line_actor(), action, target, outcome, reason=reason, details=details)
    except OSError as error:
        print(
            f"blmk-index: warning: the audit log {log.path} could not be written: {error}",
            file=sys.stderr,
        )


def print_report(report: BuildReport) -> None:
    published = f"published version {report.version}"
    if not published_anything(report):
        published = f"nothing changed: version {report.version} stays published"
    print(
        f"{'Full build' if report.mode == 'full' else 'Update'}: {report.indexed} documents "
        f"in {report.seconds:.1f} s; read {_files(report.read)}: {report.added} added, "
        f"{report.changed} changed, {report.removed} removed, {report.unchanged} unchanged; "
        f"skipped {_files(len(report.skipped))}; {len(report.flagged)} indexed with notes; "
        f"{published}"
    )
    for skipped in report.skipped:
        print(f"  skipped {skipped.path}: [{skipped.code}] {skipped.message}")
    for flagged in report.flagged:
        for note in flagged.notes:
            print(f"  flagged {flagged.path}: {note}")
    if report.crawl:
        print_crawl(report.crawl, every_url=False)


def print_crawl(crawl: dict[str, Any], every_url: bool) -> None:
    """A crawl's figures, then a line for each URL (only the skipped, failed and removed ones
    unless ``every_url``)."""
    counts = ", ".join(f"{count} {outcome}" for outcome, count in crawl["counts"].items())
    ended = "" if crawl["complete"] else "; stopped early, so no URL counted as missing"
    print(
        f"Crawl of {crawl['site']}: {counts}; {crawl['requests']} requests "
        f"({crawl['conditional']} conditional) in {crawl['seconds']:.1f} s{ended}"
    )
    for line in crawl["urls"]:
        if every_url or line["outcome"] in ("skipped", "failed", "removed"):
            print(f"  {line['outcome']} {line['url']}: [{line['code']}] {line['message']}")


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def run_status(store: IndexStore, every_url: bool = False) -> int:
    current = store.current()
    versions = store.published()
    if not versions:
        print(f"No index published in {store.root}")
        return 0
    print(f"Index root {store.root}; current version: {current.name if current else 'none'}")
    for version in reversed(versions):
        info = store.build_info(version)
        marker = "*" if current and version.name == current.name else " "
        documents = info.get("indexed", info.get("documents", "?"))
        skipped = len(info.get("skipped", []))
        print(
            f"{marker} {version.name}  {info.get('built_at', '?')}  {info.get('mode', 'full'):6} "
            f"{documents} documents, {skipped} skipped"
        )
    last = store.last_build()
    if last and not last.get("ok"):
        how = "was held by the quality checks" if last.get("code") == "checks_failed" else "failed"
        print(f"Last build {how} at {last.get('finished_at')}: {last.get('error')}")
    if last and last.get("crawl"):
        print_crawl(last["crawl"], every_url)
    return 0


def run_rollback(store: IndexStore, settings: IndexerSettings) -> int:
    before = store.current()
    try:
        version = store.rollback()
    except NothingToRollBack as error:
        print(f"blmk-index: {error}", file=sys.stderr)
        record_change(settings, "index.rollback", "refused", reason=str(error))
        return 1
    print(f"Published {version.name} again; a running server moves to it within seconds")
    moved = {"from": before.name if before else None, "to": version.name}
    record_change(settings, "index.rollback", "done", details=moved)
    return 0


def _files_with_roots(
    paths: list[Path], corpus_dir: Path
) -> Iterator[tuple[list[Path], Path | None]]:
    """The files each command-line path names, with the root their ids and folder facets are
    read from: the corpus when the path is inside it, else the folder named."""
    for path in paths:
        inside = path.resolve().is_relative_to(corpus_dir.resolve())
        if path.is_dir():
            yield source_files(path), corpus_dir if inside else path
        else:
            yield [path], corpus_dir if inside else None


def extract_record(path: Path, item: Document | Skipped) -> dict[str, Any]:
    if isinstance(item, Skipped):
        error = {"code": item.code, "message": item.message}
        return {"path": str(path), "ok": False, "error": error}
    data = item.to_json()
    return {"path": str(path), "ok": True} | {key: data[key] for key in EXTRACT_FIELDS}


def run_extract(paths: list[Path], settings: IndexerSettings) -> int:
    if settings.site_profile:
        try:
            cached_profile(settings.site_profile)
        except ProfileError as error:
            print(f"blmk-index: {error}", file=sys.stderr)
            return 2
    with Workers(settings) as workers:  # one set of workers for every path named
        for files, root in _files_with_roots(paths, settings.corpus_dir):
            for path, item in zip(files, extract_all(files, settings, root, workers), strict=True):
                print(json.dumps(extract_record(path, item), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
