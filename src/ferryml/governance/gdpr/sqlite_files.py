"""Deleting rows from a SQLite file so that their bytes are gone, not only unreachable.

``DELETE`` leaves the row's bytes in free pages of the file, and in its write-ahead log until
a checkpoint: a byte search of ``ferryml.db`` or ``features.db`` still finds a deleted id.
:func:`compact` rebuilds the file without free pages (``VACUUM``) and truncates the WAL
(``wal_checkpoint(TRUNCATE)``); connections other processes hold open may delay the
checkpoint, which is why the result says whether the WAL is empty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ferryml.errors import StorageError
from ferryml.storage.db import SQLITE_BUSY_TIMEOUT_MS


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to an existing SQLite file (autocommit, the busy timeout set)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)) as c:
            c.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            yield c
    except sqlite3.Error as exc:
        raise StorageError(
            f"SQLite file {path} refused a GDPR rewrite: {exc}",
            hint="another process may hold it locked: stop it or retry later",
        ) from exc


def compact(path: Path) -> bool:
    """``VACUUM`` the file and truncate its WAL; True when no WAL bytes remain."""
    with connect(path) as conn:
        conn.execute("VACUUM")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    wal = path.with_name(path.name + "-wal")
    return not busy and (not wal.exists() or wal.stat().st_size == 0)


def tables_with(conn: sqlite3.Connection, column: str) -> list[str]:
    """The tables of a file that have ``column``."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [
        name
        for name in names
        if any(row[1] == column for row in conn.execute(f"PRAGMA table_info({quote(name)})"))
    ]


def quote(identifier: str) -> str:
    """``identifier`` quoted for SQL."""
    return '"' + identifier.replace('"', '""') + '"'


__all__ = ["compact", "connect", "quote", "tables_with"]
