"""Builds: every source file read (full) or only what changed (update), written to a new
index version, checked and published.

A file that cannot be read is recorded with its reason and left out; the build goes on. One
build runs at a time per index root (``lock.py``). A new version is published only when it
holds documents, has not shrunk below ``min_kept_fraction`` of the current one (unless forced)
and answers a query; otherwise it is deleted and the live index is untouched.

A caller may also pass ``verify``, run on the finished but unpublished version folder: staff's
quality checks (searches that must find a document near the top) are such a verifier. It
lives in the search service, which can search a version; the indexer cannot import it, so the
caller composes it in (the admin API's index jobs, ``blmk-index`` through a plugin entry
point). A verifier holds the build by raising ``ChecksFailed``.
"""

from __future__ import annotations

import inspect
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh.index import FileIndex, create_in, open_dir
from whoosh.multiproc import MpWriter
from whoosh.query import Term
from whoosh.writing import IndexWriter

from indexer.clock import utc_stamp
from indexer.config import IndexerSettings
from indexer.crawl.crawler import Crawl, CrawlPlan, CrawlResult
from indexer.document import Document
from indexer.errors import BuildError, ExtractionError, TooSlowFile
from indexer.extract import (
    PDF_SUFFIXES,
    SOURCE_SUFFIXES,
    Source,
    WebSource,
    relative_id,
    source_path,
)
from indexer.extract.profile import ProfileError, cached_profile
from indexer.extract.workers import Job, Workers
from indexer.lock import BuildLock
from indexer.manifest import (
    MANIFEST,
    WEB_FOLDER,
    Changes,
    FileRecord,
    Manifest,
    Stamp,
    UrlRecord,
    compare,
    fingerprint,
    stamps,
)
from indexer.schema import SCHEMA
from indexer.store import BUILD_INFO, IndexStore
from indexer.vocabulary import VOCABULARY, WORD_FIELDS, WordCounts, document_words

# Batches read ahead of the one being written to the index, while a slow one is awaited.
LOOKAHEAD = 8
# Pages handed to a worker at a time.
BATCH = 16
# Processes analysing and writing documents in a full build, each into a segment of its own.
WRITER_PROCESSES = 2


@dataclass(slots=True, kw_only=True)
class Skipped:
    path: str
    code: str
    message: str


@dataclass(slots=True, kw_only=True)
class Flagged:
    """Indexed, with something for staff to fix (the document's notes)."""

    path: str
    notes: list[str]


@dataclass(slots=True, kw_only=True)
class BuildReport:
    version: str
    mode: str  # "full" or "update"
    indexed: int  # documents in the new version
    read: int = 0  # files read this time
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[Flagged] = field(default_factory=list)
    # A crawl's report (``indexer.crawl``): its figures and a line per URL.
    crawl: dict[str, Any] | None = None
    # False when nothing had changed, so the current version stayed published.
    published: bool = True
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def source_files(corpus_dir: Path) -> list[Path]:
    """HTML and PDF files under the corpus, in a stable order; hidden files are left out."""
    return sorted(
        path
        for path in corpus_dir.rglob("*")
        if path.suffix.lower() in SOURCE_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(corpus_dir).parts)
    )


def extract_all(
    files: Iterable[Source],
    settings: IndexerSettings,
    corpus_dir: Path | None,
    workers: Workers | None = None,
) -> Iterator[Document | Skipped]:
    """Each file's document, or why it was skipped, in the order given.

    Files are read by worker processes, several at once and each within the time limit, so
    reading uses every core while this process writes. Pages go in batches, as handing a
    worker one file costs about as long as reading a page. Pass ``workers`` to share them
    across calls; otherwise they are started here and stopped when the iteration ends.
    """
    with ExitStack() as stack:
        if workers is None:
            workers = stack.enter_context(Workers(settings))
        pending: deque[Job] = deque()
        for batch in _batches(files):
            pending.append(workers.submit(batch, corpus_dir))
            while pending and (len(pending) > LOOKAHEAD or pending[0].ready()):
                yield from _settle(pending.popleft(), workers, corpus_dir)
        while pending:
            yield from _settle(pending.popleft(), workers, corpus_dir)


def _batches(files: Iterable[Source]) -> Iterator[list[Source]]:
    """Consecutive pages, up to ``BATCH`` at a time; each PDF alone (one can take seconds)."""
    batch: list[Source] = []
    for path in files:
        if source_path(path).suffix.lower() in PDF_SUFFIXES:
            if batch:
                yield batch
                batch = []
            yield [path]
            continue
        batch.append(path)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _settle(job: Job, workers: Workers, corpus_dir: Path | None) -> Iterator[Document | Skipped]:
    try:
        outcomes = job.result()
    except TooSlowFile as error:
        if len(job.paths) == 1:
            yield _skipped(job.paths[0], corpus_dir, error)
            return
        # Stopped at the deadline with several files: each is read again alone, within its
        # own limit, so only the slow one is skipped.
        for path in job.paths:
            yield from _settle(workers.submit([path], corpus_dir), workers, corpus_dir)
        return
    for path, outcome in zip(job.paths, outcomes, strict=True):
        if isinstance(outcome, ExtractionError):
            yield _skipped(path, corpus_dir, outcome)
        else:
            yield outcome


def _skipped(source: Source, corpus_dir: Path | None, error: ExtractionError) -> Skipped:
    name = source.url if isinstance(source, WebSource) else relative_id(source, corpus_dir)
    return Skipped(path=name, code=error.code, message=error.message)


def index_fields(doc: Document) -> dict[str, object]:
    """A ``Document`` as the schema's fields."""
    fields: dict[str, object] = {
        "id": doc.id,
        "url": doc.url,
        "path": doc.path,
        "type": doc.type,
        "title": doc.title,
        "summary": doc.summary,
        "body": doc.body,
        "topic": ",".join(topic.replace(",", " ") for topic in doc.topics),
        "page_count": len(doc.pages),
        "content_hash": doc.content_hash,
        "source": doc.source,
    }
    if doc.date:
        fields["date"] = datetime(doc.date.year, doc.date.month, doc.date.day)
        fields["year"] = doc.year
    if doc.scope:
        fields["scope"] = doc.scope
    return fields


Progress = Callable[[int, int], None]
"""Called as files are read: (files read so far, files to read)."""

Verifier = Callable[[Path], None]
"""Called with a new version's folder before it is published; raises ``ChecksFailed`` (or
another ``BuildError``) to hold the build."""


def build_index(
    settings: IndexerSettings,
    on_file: Callable[[Document | Skipped], None] | None = None,
    progress: Progress | None = None,
    force: bool = False,
    verify: Verifier | None = None,
) -> BuildReport:
    """Reads every file of the corpus into a new index version and publishes it."""
    return _Build(settings, progress, force, on_file, verify).run(incremental=False)


def update_index(
    settings: IndexerSettings,
    progress: Progress | None = None,
    force: bool = False,
    verify: Verifier | None = None,
) -> BuildReport:
    """Publishes a new version that re-reads only new and changed files, drops the documents
    of files that are gone and carries everything else over from the current version. Falls
    back to a full build when there is no current version to start from, or when the schema,
    analysis, extractors or site profile have changed since it was built."""
    return _Build(settings, progress, force, verify=verify).run(incremental=True)


def crawl_index(
    settings: IndexerSettings,
    plan: CrawlPlan,
    progress: Progress | None = None,
    force: bool = False,
    verify: Verifier | None = None,
) -> BuildReport:
    """Crawls one site (``indexer.crawl``) and publishes a version with what changed there,
    and in the corpus folder, as ``update_index`` would; publishes nothing when neither
    changed. The corpus folder may be missing while the index holds no file of it."""
    return _Build(settings, progress, force, verify=verify, crawl=plan).run(incremental=True)


class _Build:
    def __init__(
        self,
        settings: IndexerSettings,
        progress: Progress | None,
        force: bool,
        on_file: Callable[[Document | Skipped], None] | None = None,
        verify: Verifier | None = None,
        crawl: CrawlPlan | None = None,
    ) -> None:
        self.settings = settings
        self.crawl = crawl
        self.progress = progress
        self.force = force
        self.on_file = on_file
        self.verify = verify
        self.store = IndexStore(settings.index_dir)
        self.started = time.perf_counter()

    def run(self, incremental: bool) -> BuildReport:
        if self.settings.site_profile:
            try:
                cached_profile(self.settings.site_profile)
            except ProfileError as error:
                raise BuildError(f"{error}; nothing was indexed") from error
        with BuildLock(self.settings.index_dir):
            self.store.remove_debris()
            try:
                try:
                    report = self._build(incremental)
                except OSError as error:  # a full disk, a folder that cannot be written
                    raise BuildError(
                        f"the new index version could not be written ({_os_reason(error)}); "
                        "nothing published: check the disk has space and the index folder "
                        "can be written, then build again"
                    ) from error
            except BuildError as error:
                with suppress(OSError):  # on a full disk the record may not fit either
                    self.store.record_last_build(
                        {
                            "ok": False,
                            "code": error.code,  # "checks_failed": held by the checks
                            "error": str(error),
                            "finished_at": utc_stamp(),
                        }
                    )
                raise
            self.store.record_last_build(
                {"ok": True, "finished_at": utc_stamp()} | report.to_json()
            )
            return report

    def _build(self, incremental: bool) -> BuildReport:
        corpus = self.settings.corpus_dir
        current = self.store.current()
        kept = Manifest.load(current) if current is not None else None
        if not corpus.is_dir() and (self.crawl is None or (kept and kept.files)):
            raise BuildError(f"corpus folder not found: {corpus}")
        files = {relative_id(path, corpus): path for path in source_files(corpus)}
        previous = kept
        manifest = Manifest(fingerprint(self.settings))
        vocabulary = WordCounts.load(current) if incremental and current else None
        if not (incremental and current and previous and vocabulary):
            previous, vocabulary = None, WordCounts()  # a full build: nothing is carried over
        elif previous.fingerprint != manifest.fingerprint:
            # The reading rules changed: everything is read again.
            previous, vocabulary = None, WordCounts()
        changes = compare(previous, files) if previous else Changes(added=sorted(files))
        urls_before = kept.urls if kept else {}
        corpus_unchanged = bool(
            previous and current and not changes.to_read and not changes.removed
        )
        if corpus_unchanged and current and self.crawl is None:
            return self._unchanged(current, len(changes.unchanged))
        version = self.store.new_version()
        try:
            crawled = self._crawl(urls_before, current, version) if self.crawl else None
            if corpus_unchanged and current and crawled and not crawled.changed_from(urls_before):
                shutil.rmtree(version)
                return self._unchanged(current, len(changes.unchanged), crawled)
            manifest.urls = _merged(urls_before, crawled)
            if previous is None:  # read every copy again, those that failed before too
                for record in manifest.urls.values():
                    record.code = record.message = None
            web = _web_changes(urls_before, manifest.urls, full=previous is None)
            _link_copies(current, version, manifest.urls)
            if previous and current:
                _link_index(current, version)
                index = open_dir(str(version))
                report = BuildReport(version=version.name, mode="update", indexed=0)
                manifest.files = {path: previous.files[path] for path in changes.unchanged}
                report.unchanged, report.removed = len(changes.unchanged), len(changes.removed)
                gone = [previous.files[path].doc_id for path in changes.removed + changes.changed]
                gone += web.gone
                report.removed += len(set(web.gone) - web.replaced)
            else:
                index = create_in(str(version), SCHEMA)
                report = BuildReport(version=version.name, mode="full", indexed=0)
                gone = []
            if crawled:
                report.crawl = crawled.summary()
            to_read = [(path, files[path]) for path in changes.to_read]
            self._write(index, to_read, web, version, previous, manifest, vocabulary, report, gone)
            self._check(version, report)
            vocabulary.save(version)
            manifest.save(version)
            if self.verify is not None:  # on the version as the service will open it
                self.verify(version)
            report.seconds = round(time.perf_counter() - self.started, 3)
            self.store.publish(
                version, report.to_json() | {"built_at": utc_stamp(), "corpus": str(corpus)}
            )
        except BaseException:
            shutil.rmtree(version, ignore_errors=True)
            raise
        self.store.prune(self.settings.keep_versions)
        return report

    def _crawl(
        self, urls_before: dict[str, UrlRecord], current: Path | None, version: Path
    ) -> CrawlResult:
        assert self.crawl is not None
        copies = current / WEB_FOLDER if current else None
        return Crawl(self.crawl, urls_before, version / WEB_FOLDER, self.progress, copies).run()

    def _unchanged(
        self, current: Path, files: int, crawled: CrawlResult | None = None
    ) -> BuildReport:
        """Nothing to do: the current version stays published, as it is."""
        info = self.store.build_info(current)
        return BuildReport(
            version=current.name,
            mode="update",
            indexed=info.get("indexed", info.get("documents", 0)),
            unchanged=files,
            skipped=[Skipped(**item) for item in info.get("skipped", [])],
            flagged=[Flagged(**item) for item in info.get("flagged", [])],
            crawl=crawled.summary() if crawled else None,
            published=False,
            seconds=round(time.perf_counter() - self.started, 3),
        )

    def _write(
        self,
        index: FileIndex,
        to_read: list[tuple[str, Path]],
        web: WebChanges,
        version: Path,
        previous: Manifest | None,
        manifest: Manifest,
        vocabulary: WordCounts,
        report: BuildReport,
        gone: list[str | None],
    ) -> None:
        gone_ids = [doc_id for doc_id in gone if doc_id]
        _count_out(index, gone_ids, vocabulary)
        writer = _writer(index, full=previous is None)
        try:
            for doc_id in gone_ids:
                writer.delete_by_term("id", doc_id)
            report.read = len(to_read) + len(web.to_read)
            stamps_before = {relative: stamps(path) for relative, path in to_read}
            sources: list[Source] = [path for _, path in to_read]
            sources += [
                WebSource(path=version / WEB_FOLDER / manifest.urls[url].body, url=doc_id)
                for doc_id, url in web.to_read
            ]
            keys = [relative for relative, _ in to_read] + [doc_id for doc_id, _ in web.to_read]
            for done, (key, item) in enumerate(
                zip(
                    keys,
                    extract_all(sources, self.settings, self.settings.corpus_dir),
                    strict=True,
                ),
                start=1,
            ):
                if done > len(to_read):
                    self._add_fetched(writer, key, item, web, manifest, vocabulary, report)
                else:
                    self._add_file(writer, key, item, stamps_before, previous, manifest, report)
                    if not isinstance(item, Skipped):
                        vocabulary.add(document_words((item.title, item.summary, item.body)))
                if self.on_file:
                    self.on_file(item)
                if self.progress:
                    self.progress(done, len(keys))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        for relative, record in sorted(manifest.files.items()):
            if record.doc_id is None:
                report.skipped.append(
                    Skipped(path=relative, code=record.code or "", message=record.message or "")
                )
            elif record.notes:
                report.flagged.append(Flagged(path=relative, notes=record.notes))
        with index.searcher() as searcher:
            report.indexed = searcher.doc_count()
        index.close()
        written = sum(1 for record in manifest.files.values() if record.doc_id is not None)
        written += len(_documents(manifest.urls))
        if previous is None and report.indexed != written:
            # A writer process that died leaves its segment out without saying so.
            raise BuildError(
                f"the new version holds {report.indexed} of the {written} documents written; "
                "nothing published"
            )

    def _add_file(
        self,
        writer: IndexWriter,
        relative: str,
        item: Document | Skipped,
        stamps_before: dict[str, tuple[Stamp | None, Stamp | None]],
        previous: Manifest | None,
        manifest: Manifest,
        report: BuildReport,
    ) -> None:
        """A corpus file read: its document written, its manifest record made."""
        stamp, sidecar = stamps_before[relative]
        record = FileRecord(stamp=stamp or (0, 0), sidecar=sidecar)
        if isinstance(item, Skipped):
            record.code, record.message = item.code, item.message
        else:
            writer.add_document(**index_fields(item))
            record.doc_id, record.content_hash, record.notes = (
                item.id,
                item.content_hash,
                item.notes,
            )
        old = previous.files.get(relative) if previous else None
        if old is None:
            report.added += 1
        elif old.content_hash and old.content_hash == record.content_hash:
            report.unchanged += 1  # touched, same content
        else:
            report.changed += 1
        manifest.files[relative] = record

    def _add_fetched(
        self,
        writer: IndexWriter,
        doc_id: str,
        item: Document | Skipped,
        web: WebChanges,
        manifest: Manifest,
        vocabulary: WordCounts,
        report: BuildReport,
    ) -> None:
        """A fetched copy read: its document written, or why not kept on its URLs' records."""
        if isinstance(item, Skipped):
            report.skipped.append(item)
            for record in manifest.urls.values():
                if record.doc_id == doc_id:
                    record.code, record.message = item.code, item.message
            return
        writer.add_document(**index_fields(item))
        vocabulary.add(document_words((item.title, item.summary, item.body)))
        if item.notes:
            report.flagged.append(Flagged(path=doc_id, notes=item.notes))
        if doc_id in web.replaced:
            report.changed += 1
        else:
            report.added += 1

    def _check(self, version: Path, report: BuildReport) -> None:
        """Refuses to publish a version that is empty, much smaller than the current one, or
        that cannot answer a query."""
        if report.indexed == 0:
            raise BuildError(
                f"no document could be indexed from {self.settings.corpus_dir}; nothing published"
            )
        current = self.store.current()
        info = self.store.build_info(current) if current else {}
        before = info.get("indexed", info.get("documents", 0))
        if not self.force and before and report.indexed < before * self.settings.min_kept_fraction:
            raise BuildError(
                f"the new index would hold {report.indexed} documents where the published one "
                f"holds {before}; nothing published (if that is right, build again with --force)"
            )
        _smoke_test(version, report.indexed)


@dataclass(slots=True, kw_only=True)
class WebChanges:
    """How a version's web documents differ from the current one's."""

    to_read: list[tuple[str, str]]  # (document id, URL of the copy to read)
    gone: list[str]  # document ids to delete, those about to be read again included
    replaced: set[str]  # document ids both gone and read again


def _merged(before: dict[str, UrlRecord], crawled: CrawlResult | None) -> dict[str, UrlRecord]:
    """Every site's records: the crawled site's from the crawl, the others' as they were."""
    if crawled is None:
        return dict(before)
    others = {url: record for url, record in before.items() if record.site != crawled.site}
    return others | crawled.records


def _documents(records: dict[str, UrlRecord]) -> dict[str, str]:
    """Each web document's id and the URL whose copy it is read from: several URLs with one
    canonical are one document, read from the canonical URL's own copy when there is one."""
    chosen: dict[str, str] = {}
    for url, record in sorted(records.items()):
        if not record.doc_id or record.role != "page" or record.skip or record.code:
            continue
        if record.doc_id not in chosen or url == record.doc_id:
            chosen[record.doc_id] = url
    return chosen


def _web_changes(
    before: dict[str, UrlRecord], after: dict[str, UrlRecord], full: bool
) -> WebChanges:
    documents_after = _documents(after)
    if full:  # a new index: every web document is read from its copy
        return WebChanges(to_read=sorted(documents_after.items()), gone=[], replaced=set())
    documents_before = _documents(before)
    to_read = [
        (doc_id, url)
        for doc_id, url in sorted(documents_after.items())
        if doc_id not in documents_before
        or after[url].content_hash != before[documents_before[doc_id]].content_hash
    ]
    reading = {doc_id for doc_id, _ in to_read}
    gone = [
        doc_id for doc_id in documents_before if doc_id not in documents_after or doc_id in reading
    ]
    return WebChanges(to_read=to_read, gone=gone, replaced=reading & set(documents_before))


def _link_copies(current: Path | None, version: Path, records: dict[str, UrlRecord]) -> None:
    """The saved copies the new version's records name and the crawl did not write, linked
    from the current version (copies never change once written: their name is their hash)."""
    folder = version / WEB_FOLDER
    for name in sorted({record.body for record in records.values() if record.body}):
        target = folder / name
        if target.exists():
            continue
        source = current / WEB_FOLDER / name if current else None
        if source is None or not source.exists():
            raise BuildError(
                f"the saved copy {name} of a web page is missing; crawl again with --full"
            )
        folder.mkdir(exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def _writer(index: FileIndex, full: bool) -> IndexWriter:
    """For a full build, sub-processes that analyse and write the documents while this one
    reads the next files: analysis and writing postings are most of a build's time, and a
    segment each (not merged) keeps both cores busy to the end. An update adds a few documents
    to what is there, in this process.

    Segments are written as separate files, not one compound file: opening a searcher on a
    compound segment copies it into memory (about 110 MB at 10,000 pages, 800 MB at 100,000),
    where separate files are mapped and opened in milliseconds.
    """
    if not full:
        return index.writer(compound=False)
    options: dict[str, object] = {"procs": WRITER_PROCESSES, "multisegment": True}
    # forkserver, not fork: builds may run in a thread of the admin service. (Whoosh 2.7's
    # writer has no such option and forks.)
    if "start_method" in inspect.signature(MpWriter.__init__).parameters:
        options["start_method"] = "forkserver"
    return index.writer(compound=False, **options)


def _count_out(index: FileIndex, doc_ids: list[str], vocabulary: WordCounts) -> None:
    """Counts down the words of documents about to be deleted, from their stored text."""
    if not doc_ids:
        return
    with index.searcher() as searcher:
        for doc_id in doc_ids:
            if (fields := searcher.document(id=doc_id)) is not None:
                vocabulary.remove(document_words(str(fields.get(name, "")) for name in WORD_FIELDS))


def _smoke_test(version: Path, expected: int) -> None:
    """Opens the new version as the service will and runs a query on it."""
    index = open_dir(str(version))
    try:
        with index.searcher() as searcher:
            if searcher.doc_count() != expected:
                raise BuildError(f"the new version holds {searcher.doc_count()} of {expected}")
            first: dict[str, object] = next(iter(searcher.all_stored_fields()), {})
            title = str(first.get("title", ""))
            words = [t.text for t in SCHEMA["title"].analyzer(title)]
            if words and not searcher.search(Term("title", words[0]), limit=1):
                raise BuildError("the new version does not answer a query; nothing published")
    finally:
        index.close()


def _link_index(source: Path, target: Path) -> None:
    """The index files of ``source`` in ``target``, hard-linked where the file system allows
    (Whoosh never rewrites a file, so sharing them between versions is safe)."""
    for path in source.iterdir():
        if path.is_file() and path.name not in (BUILD_INFO, MANIFEST, VOCABULARY):
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def _os_reason(error: OSError) -> str:
    """An operating-system error in a line: what went wrong, and where when it is known."""
    reason = error.strerror or str(error)
    return f"{reason}: {error.filename}" if error.filename else reason
