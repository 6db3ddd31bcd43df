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
    │   ├── AccountNotFound      no staff account has this name
    │   └── RuleRevisionNotFound the editorial rules have no revision with this number
    ├── DocumentExists       a restore onto a name that is in the corpus again
    ├── AccountExists        an account with this name exists already
    ├── DocumentChanged      someone changed the document since it was read (If-Match)
    ├── RulesChanged         someone published the editorial rules since a draft was made
    ├── InvalidRules         editorial rules that cannot be published (has ``problems``)
    ├── ChecksFailed         rules that would fail staff's quality checks: not published
    ├── InvalidUrl           a web address to crawl that is not http(s)
    ├── SiteNotConfigured    a web address on a site the index does not crawl
    ├── NoSitesConfigured    a crawl of every site asked for, and none is configured
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


class RuleRevisionNotFound(NotFound):
    code = "rule_revision_not_found"


class DocumentExists(ServiceError):
    code = "document_exists"


class AccountExists(ServiceError):
    code = "account_exists"


class DocumentChanged(ServiceError):
    """The content hash the request expected (``If-Match``) is not the document's any more."""

    code = "document_changed"


class RulesChanged(ServiceError):
    """A publish made from a revision of the editorial rules that is no longer the newest:
    publishing it would silently undo what was published since."""

    code = "rules_changed"


class InvalidRules(ServiceError):
    """Editorial rules that cannot be published. ``problems`` lists each one as
    ``{"file", "severity", "message"}``, for the editor to put right."""

    code = "invalid_rules"

    def __init__(self, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ChecksFailed(ServiceError):
    """Editorial rules that would make one of staff's quality checks fail (a search that must
    find a document in its first places): nothing was published. The indexer's own
    ``ChecksFailed`` holds a build the same way, under the same code."""

    code = "checks_failed"


class InvalidUrl(ServiceError):
    """A web address given to crawl or index that a crawler cannot fetch (not http or https,
    or not an address at all)."""

    code = "invalid_url"


class SiteNotConfigured(ServiceError):
    """A web address on a site that is not one of ``BLMK_CRAWL_SITES``: the admin API never
    sends the crawler anywhere else, whoever asks."""

    code = "site_not_configured"


class NoSitesConfigured(ServiceError):
    """A crawl of every configured site asked for on a server that has none."""

    code = "no_sites_configured"


class StorageFull(ServiceError):
    """The disk (or the quota) is full; whatever was being changed was left as it was."""

    code = "insufficient_storage"
