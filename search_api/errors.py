"""Everything the search service raises on purpose, in one tree.

    ServiceError             a request the service cannot carry out (has a ``code``)
    ├── IndexUnavailable     no index version can be served
    ├── UploadRejected       an upload the corpus will not take: not what its name says,
    │   │                    empty, or a bad file name, folder or field
    │   └── UploadTooLarge   over the upload size limit
    ├── NotFound             no such thing to show or change
    │   ├── DocumentNotFound     no source file (or revision history) has this id
    │   ├── TrashEntryNotFound   nothing in the trash has this id
    │   ├── RevisionNotFound     the document has no revision with this id
    │   └── AccountNotFound      no staff account has this name
    ├── DocumentExists       a restore onto a name that is in the corpus again
    ├── AccountExists        an account with this name exists already
    ├── DocumentChanged      someone changed the document since it was read (If-Match)
    └── StorageFull          the disk is full: nothing was changed

A query whose syntax is broken is not an error: the engine reads it as plain words. The
indexer's own tree (``indexer.errors``) covers builds, locks and rollbacks. Neither knows
about HTTP: ``search_api.http.errors`` maps both to statuses, in one place, by ``code``.
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "service_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IndexUnavailable(ServiceError):
    """No index version can be served: none has been published at the configured location,
    or every one that could stand in is damaged."""

    code = "index_unavailable"


class UploadRejected(ServiceError):
    """The upload cannot be stored; the message says why, for the member of staff."""

    code = "invalid_upload"


class UploadTooLarge(UploadRejected):
    code = "too_large"


class NotFound(ServiceError):
    code = "not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class TrashEntryNotFound(NotFound):
    code = "trash_entry_not_found"


class RevisionNotFound(NotFound):
    code = "revision_not_found"


class AccountNotFound(NotFound):
    code = "account_not_found"


class DocumentExists(ServiceError):
    code = "document_exists"


class AccountExists(ServiceError):
    code = "account_exists"


class DocumentChanged(ServiceError):
    """The content hash the request expected (``If-Match``) is not the document's any more."""

    code = "document_changed"


class StorageFull(ServiceError):
    """The disk (or the quota) is full; whatever was being changed was left as it was."""

    code = "insufficient_storage"
