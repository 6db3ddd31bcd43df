"""Why a source file could not be indexed.

    ExtractionError          any file the indexer read but cannot index (has a ``code``)
    ├── UnsupportedFile      not HTML or PDF, or not what its name says
    ├── UnreadableFile       missing or unreadable
    │   └── TooLargeFile     over the byte limit, or a PDF over the page limit
    ├── CorruptFile          the parser gave up on it
    ├── EncryptedFile        a PDF that needs a password to open
    ├── EmptyFile            no text worth indexing
    └── TooSlowFile          reading it took longer than the per-file time limit

Each error carries a stable machine-readable ``code`` (shown in build summaries and in
``blmk-index extract``) and a message written for the member of staff who uploaded the file.
Errors cross process boundaries (PDFs are read in worker processes), so they pickle: their
only argument is the message.
"""

from __future__ import annotations


class ExtractionError(Exception):
    code = "extraction_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
