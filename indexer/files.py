"""Files written whole or not at all.

Whoever reads a file this project writes (the search service opening ``CURRENT``, a build
reading an uploaded page, the next start loading the query counts) must find the previous
content or the new one, never half of it. So the data goes to a temporary file in the target's
own folder (the same file system, so that the rename is atomic) and is then renamed over the
target. Where the data must also outlive a power cut, the file and then its folder are flushed
to disk before the call returns: without the folder's flush the rename itself can be lost.
"""

from __future__ import annotations

import glob
import os
import secrets
import stat
from contextlib import suppress
from pathlib import Path

# Temporary files are named ``.<target name>.<random>.tmp``: hidden, and findable afterwards.
_TEMPORARY_SUFFIX = ".tmp"


def write_atomically(
    path: Path, data: bytes | str, *, durable: bool = True, mode: int | None = None
) -> None:
    """Replaces ``path`` with ``data`` (text is written as UTF-8) in one step.

    ``durable`` flushes the file and its folder to disk, for data that must survive a power
    cut; pass False for files that can be rebuilt. ``mode`` sets the file's permissions (0o600
    for a file only its owner may read), else a new file gets the usual ones and a replaced
    file keeps its own. On failure the target is left as it was and no temporary file stays
    behind.
    """
    content = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}{_TEMPORARY_SUFFIX}"
    # Created as any new file is (0666 less the umask), not private as mkstemp's are: the
    # search service, a web server or a colleague may read the file as another user. A file
    # replaced keeps the permissions it had.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode or 0o666)
    try:
        with os.fdopen(descriptor, "wb") as out:
            if mode is not None:
                os.chmod(out.fileno(), mode)
            else:
                with suppress(FileNotFoundError):
                    os.chmod(out.fileno(), stat.S_IMODE(path.stat().st_mode))
            out.write(content)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    if durable:
        flush_folder(path.parent)


def flush_to_disk(folder: Path) -> None:
    """Flushes every file in ``folder`` (not below it), then the folder itself: for files
    written by another library (Whoosh's segments) before something points at them."""
    for path in sorted(folder.iterdir()):
        if path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
    flush_folder(folder)


def leftover_temporaries(path: Path) -> list[Path]:
    """The temporary files that writes of ``path`` killed mid-way left in its folder."""
    if not path.parent.is_dir():
        return []
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*{_TEMPORARY_SUFFIX}"))


def flush_folder(folder: Path) -> None:
    """Flushes ``folder`` itself, so that a file made, renamed or removed in it stays so
    through a power cut: flushing the file alone does not keep its name."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
