"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Data is written to a temporary sibling, flushed and fsynced, then renamed over the target
(``os.replace`` is atomic on POSIX within one filesystem). A crash leaves at most a stray
``.tmp`` file that the next write of the same target removes.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "manifest.json"
    >>> atomic_write_text(target, '{"rows": 3}')
    >>> target.read_text()
    '{"rows": 3}'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically, creating parent directories."""
    with atomic_path(target) as tmp, tmp.open("wb") as handle:
        handle.write(data)


def atomic_write_text(target: Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``target`` atomically, creating parent directories."""
    atomic_write_bytes(target, text.encode(encoding))


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    For writers that want a path rather than bytes (``pyarrow.parquet.write_table`` …)::

        with atomic_path(out / "part-0.parquet") as tmp:
            pq.write_table(table, tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        fsync_path(tmp)
        tmp.replace(target)
        fsync_path(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; on success it becomes ``target``.

    An existing ``target`` is replaced as a whole: readers never see a mix of old and new files.
    Files are fsynced before the swap. The old directory is first renamed aside under a unique
    name; if putting the new one in place fails (or is interrupted), the old one is put back.
    """
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        _fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not target.exists():
        try:
            tmp.replace(target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_path(target.parent)
        return
    # rename(2) moves a directory onto an empty one, so a fresh mkdtemp name is safe to take.
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    target.replace(old)
    try:
        tmp.replace(target)
    except BaseException:
        old.replace(target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_path(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):  # entries before their directories
        fsync_path(path)
    fsync_path(root)


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's entries to disk (a rename is durable once its directory
    is fsynced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = [
    "atomic_directory",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_path",
]
