"""Index versions on disk, published by switching a pointer file.

    <index root>/
        CURRENT                  name of the published version (replaced atomically)
        v-20251119T101500-ab12/  one complete Whoosh index plus build.json
        v-...

A build writes a new version directory and only then replaces ``CURRENT``, so the live index
is never half-written and a failed build leaves it untouched. Readers open whatever
``CURRENT`` names and notice when it changes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

POINTER = "CURRENT"
BUILD_INFO = "build.json"
_PREFIX = "v-"


class IndexStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def new_version(self) -> Path:
        """A fresh, empty directory for a build; names sort in creation order."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.root / f"{_PREFIX}{stamp}-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        return path

    def current(self) -> Path | None:
        """The published version directory, or None when nothing has been published."""
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        return path if name.startswith(_PREFIX) and path.is_dir() else None

    def publish(self, version: Path, info: dict[str, Any]) -> None:
        (version / BUILD_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
        staged = self.root / f"{POINTER}.{secrets.token_hex(4)}.tmp"
        staged.write_text(version.name + "\n", encoding="utf-8")
        os.replace(staged, self.pointer)

    def build_info(self, version: Path) -> dict[str, Any]:
        try:
            return json.loads((version / BUILD_INFO).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def versions(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX))

    def prune(self, keep: int) -> list[Path]:
        """Deletes versions older than the newest ``keep`` published ones.

        Directories newer than the current version may be builds in progress and are left.
        """
        current = self.current()
        if current is None:
            return []
        older = [v for v in self.versions() if v.name < current.name]
        doomed = older[: max(0, len(older) - (keep - 1))]
        for version in doomed:
            shutil.rmtree(version, ignore_errors=True)
        return doomed
