"""The corpus as staff change it: uploads, deletions and the list of source files.

Plain functions; ``http/staff_resources.py`` puts them on HTTP. Files are written atomically,
so a build running meanwhile reads either the old file or the new one, never half of one.
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
    sidecar_path,
    source_files,
    utc_stamp,
    write_atomically,
)
from search_api.errors import UploadRejected, UploadTooLarge

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


def store_upload(corpus: Path, upload: Upload, max_bytes: int) -> str:
    """Checks an upload and writes it into the corpus; returns its corpus-relative path."""
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
    target.parent.mkdir(parents=True, exist_ok=True)
    overrides = {
        key: value
        for key, value in (("title", upload.title), ("scope", upload.scope))
        if value.strip()
    } | ({"topics": [upload.topic.strip()]} if upload.topic.strip() else {})
    if overrides:
        write_atomically(sidecar_path(target), json.dumps(overrides, indent=1))
    write_atomically(target, upload.data)
    return target.relative_to(corpus.resolve()).as_posix()


def delete_document(corpus: Path, doc_id: str) -> bool:
    """Removes a source file (and its sidecar) from the corpus; False when there is none."""
    target = (corpus / doc_id).resolve()
    if not target.is_relative_to(corpus.resolve()) or not target.is_file():
        return False
    if target.suffix.lower() not in HTML_SUFFIXES | PDF_SUFFIXES:
        return False
    target.unlink()
    sidecar_path(target).unlink(missing_ok=True)
    return True


def list_documents(corpus: Path) -> list[dict[str, Any]]:
    """The corpus's source files, for the admin page: id, size and modification time."""
    documents = []
    for path in source_files(corpus) if corpus.is_dir() else []:
        status = path.stat()
        documents.append(
            {
                "id": path.relative_to(corpus).as_posix(),
                "bytes": status.st_size,
                "modified": utc_stamp(datetime.fromtimestamp(status.st_mtime, UTC)),
            }
        )
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
