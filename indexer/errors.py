"""Everything the indexer raises on purpose, in one tree.

    IndexerError                 anything the indexer refuses or cannot do (has a ``code``)
    ├── ExtractionError          a file the indexer read but cannot index
    │   ├── UnsupportedFile      not HTML or PDF, or not what its name says
    │   ├── UnreadableFile       missing or unreadable
    │   │   └── TooLargeFile     over the byte limit, or a PDF over the page limit
    │   ├── CorruptFile          the parser gave up on it
    │   ├── EncryptedFile        a PDF that needs a password to open
    │   ├── EmptyFile            no text worth indexing
    │   └── TooSlowFile          reading it took longer than the per-file time limit
    ├── BuildError               a build produced nothing worth publishing
    │   ├── ChecksFailed         the new version fails staff's quality checks: held
    │   └── CrawlError           a crawl that cannot start (robots.txt unreadable, bad URL)
    ├── BuildInProgress          another build holds the index's lock
    ├── NothingToRollBack        no earlier published version to go back to
    └── ProfileError             a site profile file that cannot be used

Each error carries a stable machine-readable ``code`` (shown in build summaries, in
``blmk-index extract`` and in the admin API's error answers) and a message written for the
member of staff who will read it. Errors cross process boundaries (PDFs are read in worker
processes), so they pickle: their only argument is the message.
"""

from __future__ import annotations


class IndexerError(Exception):
    code = "indexer_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ExtractionError(IndexerError):
    code = "extraction_failed"


class UnsupportedFile(ExtractionError):
    code = "unsupported"


class UnreadableFile(ExtractionError):
    code = "unreadable"


class TooLargeFile(UnreadableFile):
    code = "too-large"


class CorruptFile(ExtractionError):
    code = "corrupt"


class EncryptedFile(ExtractionError):
    code = "encrypted"


class EmptyFile(ExtractionError):
    code = "empty"


class TooSlowFile(ExtractionError):
    code = "too-slow"


class BuildError(IndexerError):
    """The build produced nothing worth publishing; the live index is unchanged."""

    code = "build_failed"


class ChecksFailed(BuildError):
    """The new version fails one or more of staff's quality checks (a search that must find a
    document in its first places): the build is held, nothing published. The message lists
    the checks that failed and where their documents went."""

    code = "checks_failed"


class CrawlError(BuildError):
    """A crawl that cannot start or must stop: a start URL that is not a web address, a host
    not configured, a robots.txt that cannot be read (a crawler must not guess what a site
    allows). Nothing is published."""

    code = "crawl_failed"


class BuildInProgress(IndexerError):
    """Another build holds the index root's lock; this one did not start."""

    code = "build_in_progress"


class NothingToRollBack(IndexerError):
    """There is no earlier published version to go back to."""

    code = "nothing_to_roll_back"


class ProfileError(IndexerError):
    """A site profile file that cannot be used; the message names the file and the problem."""

    code = "bad_profile"
