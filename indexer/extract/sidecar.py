"""Sidecar files: ``report.pdf.json`` beside ``report.pdf`` (or ``page.html.json`` beside a
page), where staff correct what a file says about itself (a title its writer filled in as
"Microsoft Word - draft3", a missing date). The admin API writes one for an upload's title,
topic and scope.

    {"title": "...", "summary": "...", "date": "2025-03-12",
     "topics": ["Green Plan and sustainability"], "scope": "local"}

Every key is optional and wins over the PDF and its folder. A sidecar is never a reason to
skip its PDF: what cannot be used (invalid JSON, an unknown key, a value of the wrong kind) is
left out and reported as a note, so staff see it in the build summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from indexer.document import SCOPE_NAMES, SCOPES, Scope
from indexer.text import clean_inline

MAX_SIDECAR_BYTES = 64 * 1024
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(slots=True, kw_only=True)
class Sidecar:
    # The file's bytes, part of its PDF's content hash: editing a sidecar changes the document.
    data: bytes = b""
    title: str | None = None
    summary: str | None = None
    date: date | None = None
    topics: list[str] | None = None
    scope: Scope | None = None
    notes: list[str] = field(default_factory=list)


def sidecar_path(pdf: Path) -> Path:
    return pdf.with_name(pdf.name + ".json")


def read_sidecar(pdf: Path) -> Sidecar | None:
    """The sidecar beside ``pdf``, or None when there is none."""
    path = sidecar_path(pdf)
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            limit = MAX_SIDECAR_BYTES // 1024
            return Sidecar(notes=[f"sidecar ignored: {path.name} is over {limit} KB"])
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        return Sidecar(notes=[f"sidecar ignored: {path.name} cannot be read ({error.strerror})"])
    return parse_sidecar(data, path.name)


def parse_sidecar(data: bytes, name: str) -> Sidecar:
    sidecar = Sidecar(data=data)
    try:
        values = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        sidecar.notes.append(f"sidecar ignored: {name} is not UTF-8 text")
        return sidecar
    except json.JSONDecodeError as error:
        sidecar.notes.append(
            f"sidecar ignored: invalid JSON in {name} "
            f"(line {error.lineno}, column {error.colno}: {error.msg})"
        )
        return sidecar
    if not isinstance(values, dict):
        sidecar.notes.append(f"sidecar ignored: {name} must hold one JSON object {{...}}")
        return sidecar
    for key, value in values.items():
        if key not in _READERS:
            known = ", ".join(_READERS)
            sidecar.notes.append(f"sidecar: unknown key {key!r} in {name} ignored ({known})")
            continue
        want, read = _READERS[key]
        parsed = read(value)
        if parsed is None:
            shown = json.dumps(value, ensure_ascii=False)[:60]
            sidecar.notes.append(f"sidecar: {key!r} in {name} ignored: must be {want}, not {shown}")
        else:
            setattr(sidecar, key, parsed)
    return sidecar


def _text(value: Any) -> str | None:
    return (clean_inline(value) or None) if isinstance(value, str) else None


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not _ISO_DAY.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _topics(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return list(dict.fromkeys(clean_inline(v) for v in value))


def _scope(value: Any) -> Scope | None:
    return SCOPE_NAMES.get(value) if isinstance(value, str) else None


# Each key: what it must be (for the note when it is not), and its reader (None: unusable).
_READERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "title": ("a non-empty string", _text),
    "summary": ("a non-empty string", _text),
    "date": ("a date written YYYY-MM-DD", _date),
    "topics": ("a list of non-empty strings", _topics),
    "scope": (f"one of {', '.join(SCOPES)}", _scope),
}
