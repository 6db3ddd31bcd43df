"""``blmk-index``: build the search index, or show what the indexer reads from files.

blmk-index build [--corpus DIR] [--index DIR]
blmk-index extract PATH...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from indexer.build import BuildError, Skipped, build_index, extract_all, source_files
from indexer.config import IndexerSettings
from indexer.document import Document
from indexer.extract.profile import ProfileError, cached_profile
from indexer.extract.workers import Workers

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
    build.add_argument("--corpus", type=Path, help="folder of HTML and PDF files (BLMK_CORPUS)")
    build.add_argument("--index", type=Path, help="index root folder (BLMK_INDEX_DIR)")
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
    settings = IndexerSettings.from_env()
    if args.corpus:
        settings.corpus_dir = args.corpus
    if args.command == "build":
        if args.index:
            settings.index_dir = args.index
        return run_build(settings)
    return run_extract(args.paths, settings)


def run_build(settings: IndexerSettings) -> int:
    print(f"Indexing {settings.corpus_dir} into {settings.index_dir}", flush=True)
    try:
        report = build_index(settings)
    except BuildError as error:
        print(f"blmk-index: {error}", file=sys.stderr)
        return 1
    print(
        f"Indexed {report.indexed} documents in {report.seconds:.1f} s; "
        f"skipped {len(report.skipped)} files; {len(report.flagged)} indexed with notes; "
        f"published version {report.version}"
    )
    for skipped in report.skipped:
        print(f"  skipped {skipped.path}: [{skipped.code}] {skipped.message}")
    for flagged in report.flagged:
        for note in flagged.notes:
            print(f"  flagged {flagged.path}: {note}")
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
