"""Index versions on disk, published by switching a pointer file.

    <index root>/
        CURRENT                  name of the published version (replaced atomically)
        build.lock               held by the build running now (see lock.py)
        last-build.json          the report of the last build, published or not
        v-20251119T101500-ab12/  one complete Whoosh index, manifest.json, and build.json
        v-...

A build writes a new version directory and only then replaces ``CURRENT``, so the live index
is never half-written and a failed build leaves it untouched. Readers open whatever
``CURRENT`` names and notice when it changes. A version was published when it has its
build.json (written just before the pointer moves); a version directory without one is what a
killed build left, and the next build removes it.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

from indexer.clock import utc_now
from indexer.errors import NothingToRollBack
from indexer.files import flush_to_disk, leftover_temporaries, write_atomically

POINTER = "CURRENT"
BUILD_INFO = "build.json"
LAST_BUILD = "last-build.json"
_PREFIX = "v-"


class IndexStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def new_version(self) -> Path:
        """A fresh, empty directory for a build; names sort in creation order."""
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%f")
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
        """Points ``CURRENT`` at ``version``, once every file of it is on disk: a power cut
        just after the pointer moved must not leave it pointing at segments still in cache."""
        write_atomically(version / BUILD_INFO, json.dumps(info, indent=2))
        flush_to_disk(version)
        self._point_to(version)

    def _point_to(self, version: Path) -> None:
        write_atomically(self.pointer, version.name + "\n")

    def published(self) -> list[Path]:
        """Versions that were published, oldest first."""
        return [v for v in self.versions() if (v / BUILD_INFO).is_file()]

    def rollback(self) -> Path:
        """Republishes the newest published version older than the current one."""
        current = self.current()
        earlier = [v for v in self.published() if current is None or v.name < current.name]
        if not earlier:
            raise NothingToRollBack("there is no earlier published version to roll back to")
        self._point_to(earlier[-1])
        return earlier[-1]

    def remove_debris(self) -> list[Path]:
        """Removes what killed builds left: unpublished version folders and half-written
        pointers and build records.

        Call only while holding the build lock, so no build in progress loses its folder.
        """
        debris = [v for v in self.versions() if not (v / BUILD_INFO).is_file()]
        debris += leftover_temporaries(self.pointer) + leftover_temporaries(self._last_build)
        for path in debris:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return debris

    def record_last_build(self, report: dict[str, Any]) -> None:
        write_atomically(self._last_build, json.dumps(report, indent=2))

    @property
    def _last_build(self) -> Path:
        return self.root / LAST_BUILD

    def last_build(self) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(self._last_build.read_text(encoding="utf-8"))
            return record
        except (FileNotFoundError, ValueError):
            return None

    def build_info(self, version: Path) -> dict[str, Any]:
        try:
            info: dict[str, Any] = json.loads((version / BUILD_INFO).read_text(encoding="utf-8"))
            return info
        except (FileNotFoundError, ValueError):
            return {}

    def versions(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX))

    def prune(self, keep: int) -> list[Path]:
        """Deletes published versions beyond the newest ``keep``; the current one always stays.

        Unpublished folders are left alone: they may be builds in progress.
        """
        current = self.current()
        if current is None:
            return []
        published = self.published()
        kept = {v.name for v in published[-keep:]} | {current.name}
        doomed = [v for v in published if v.name not in kept]
        for version in doomed:
            shutil.rmtree(version, ignore_errors=True)
        return doomed
