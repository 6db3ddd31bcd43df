"""Everything the search service raises on purpose, in one tree.

    ServiceError             a request the service cannot carry out (has a ``code``)
    ├── IndexUnavailable     no index version can be served
    └── UploadRejected       an upload the corpus will not take: not what its name says,
        │                    empty, or a bad file name, folder or field
        └── UploadTooLarge   over the upload size limit

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
