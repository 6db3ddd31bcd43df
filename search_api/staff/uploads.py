"""The corpus as staff change it: uploads checked and stored, and the list of source files.

Plain functions; ``http/staff_resources.py`` puts them on HTTP. The writing itself is
``history.py``'s: a file replaced is kept as a revision, and every file is written whole, so a
build running meanwhile reads either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from indexer import (
    HTML_SUFFIXES,
    PDF_SUFFIXES,
    SCOPES,
    UnsupportedFile,
    check_content,
    source_files,
    utc_stamp,
)
from search_api.errors import DocumentNotFound, UploadRejected, UploadTooLarge
from search_api.staff.history import KEEP, DocumentHistory, Written

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_SAFE_FOLDER = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(slots=True, kw_only=True)
class Upload:
    filename: str
    data: bytes
    folder: str = ""
    topic: str = ""
    scope: str = ""
    title: str = ""


def store_upload(
    corpus: Path,
    history: DocumentHistory,
    upload: Upload,
    max_bytes: int,
    *,
    by: str,
    if_match: str | None = None,
) -> Written:
    """Checks an upload and writes it into the corpus (a file of that name is kept as a
    revision first); ``if_match`` is the content hash the uploader expects to replace."""
    if len(upload.data) > max_bytes:
        raise UploadTooLarge(
            f"file: {len(upload.data) / 1_048_576:.1f} MB is over the "
            f"{max_bytes / 1_048_576:g} MB upload limit"
        )
    name = _safe_file_name(upload.filename)
    _check_content(name, upload.data)
    folder = _safe_folder(upload.folder)
    if upload.scope and upload.scope not in SCOPES:
        raise UploadRejected(f"scope: must be one of {', '.join(SCOPES)}, not {upload.scope!r}")
    target = (corpus / folder / name).resolve()
    if not target.is_relative_to(corpus.resolve()):
        raise UploadRejected("folder: the file would land outside the corpus")
    overrides = {
        key: value
        for key, value in (("title", upload.title), ("scope", upload.scope))
        if value.strip()
    } | ({"topics": [upload.topic.strip()]} if upload.topic.strip() else {})
    sidecar = json.dumps(overrides, indent=1).encode() if overrides else KEEP
    doc_id = target.relative_to(corpus.resolve()).as_posix()
    return history.write(doc_id, upload.data, sidecar=sidecar, by=by, if_match=if_match)


def describe_document(corpus: Path, history: DocumentHistory, doc_id: str) -> dict[str, Any]:
    """One source file, for the admin page: id, size, modification time and content hash
    (the ETag a replace or delete sends back in ``If-Match``)."""
    path = corpus / doc_id
    try:
        status = path.stat()
    except OSError:
        status = None
    if status is None or not path.is_file():
        raise DocumentNotFound(f"no source file {doc_id!r} in the corpus")
    return {
        "id": doc_id,
        "bytes": status.st_size,
        "modified": utc_stamp(datetime.fromtimestamp(status.st_mtime, UTC)),
        "sha256": history.content_hash(doc_id),
    }


def list_documents(corpus: Path, history: DocumentHistory) -> list[dict[str, Any]]:
    """The corpus's source files, each as ``describe_document`` shows it."""
    documents = []
    for path in source_files(corpus) if corpus.is_dir() else []:
        doc_id = path.relative_to(corpus).as_posix()
        try:
            documents.append(describe_document(corpus, history, doc_id))
        except DocumentNotFound:  # deleted while the list was read
            continue
    return documents


def _safe_file_name(filename: str) -> str:
    base = PurePosixPath(filename.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in HTML_SUFFIXES | PDF_SUFFIXES:
        raise UploadRejected("file: only .pdf, .html and .htm files can be uploaded")
    stem = _SAFE_NAME.sub("-", stem).strip(".-_")[:120]
    if not stem:
        raise UploadRejected("file: the file name has no usable characters")
    return f"{stem}.{suffix.lower()}"


def _safe_folder(folder: str) -> str:
    parts = [part for part in folder.strip().strip("/").split("/") if part]
    for part in parts:
        if not _SAFE_FOLDER.match(part):
            raise UploadRejected(
                f"folder: {part!r} is not allowed (lower-case letters, digits, - and _ only)"
            )
    return "/".join(parts)


def _check_content(name: str, data: bytes) -> None:
    """The content decides, not the name: a PDF must be a PDF, a page must be HTML."""
    try:
        check_content(name, data)
    except UnsupportedFile as error:
        raise UploadRejected(f"file: {error.message}") from error
