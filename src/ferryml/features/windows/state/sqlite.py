"""Window state in one SQLite file: no service to run, safe for several serving processes.

WAL lets readers and the writer proceed together; each request is one ``BEGIN IMMEDIATE``
transaction (the write lock is taken up front, so two processes never deadlock upgrading a read
lock) and waits up to ``busy_timeout`` for another process's. ``synchronous=NORMAL`` skips the
fsync per commit: a power cut may lose the last few requests' events, never corrupt the file.
Requests never checkpoint the WAL: a :class:`~ferryml.storage.checkpoint.BackgroundCheckpointer`
does, from a thread of its own (a checkpoint in a request's ``COMMIT`` cost it 10 to 15 ms).
Events live in one ``WITHOUT ROWID`` table clustered on its primary key, so an entity's window
is one contiguous range scan. SQLite cannot store NaN (it stores NULL), so NULL means NaN here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy.typing as npt

from ferryml.errors import StorageError
from ferryml.features.windows.state.base import (
    Events,
    WindowStateStore,
    WindowUpdate,
    check_updates,
    check_view,
    prepare_bulk,
)
from ferryml.names import validate_project_name
from ferryml.storage.checkpoint import BackgroundCheckpointer
from ferryml.storage.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_MMAP_BYTES

_SCHEMA = """
CREATE TABLE IF NOT EXISTS window_events (
    project TEXT NOT NULL,
    view TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    t INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (project, view, entity_key, t, event_id)
) WITHOUT ROWID
"""
# The primary key leads with the project: several projects may share one file, and `clear`
# must stay within one. Event ids compare as UTF-8 bytes (BINARY), like Redis members.
_READ = (
    "SELECT t, value FROM window_events WHERE project = ? AND view = ? AND entity_key = ? "
    "AND t > ? AND t < ? ORDER BY t, event_id"
)
_APPEND = (
    "INSERT OR IGNORE INTO window_events (project, view, entity_key, t, event_id, value) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_TRIM = "DELETE FROM window_events WHERE project = ? AND view = ? AND entity_key = ? AND t <= ?"
_NAN = float("nan")
_BULK_BATCH = 50_000


class SqliteWindowStore(WindowStateStore):
    """Window state of ``project`` in the SQLite file at ``path`` (created if missing)."""

    type_name = "sqlite"

    def __init__(
        self, path: str | Path, *, project: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> None:
        self.project = validate_project_name(project)
        self.path = Path(path)
        self._lock = threading.Lock()  # one connection, shared by the threads of a process
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE … COMMIT
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"cannot open the window state file {self.path}: {exc}",
                hint="check that the directory exists and is writable, or choose another path",
            ) from exc
        try:
            with self._errors("set up the connection"):
                self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                self._conn.execute("PRAGMA synchronous = NORMAL")  # per connection
                if mode == "wal":  # persistent in the file; the checkpoints are the thread's
                    self._conn.execute("PRAGMA wal_autocheckpoint = 0")
                self._conn.execute(
                    f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}"
                )  # reads without read()
            with self._transaction("create the window_events table"):
                self._conn.execute(_SCHEMA)
        except StorageError:
            self._conn.close()
            raise
        self._cursor = self._conn.cursor()
        self._checkpointer = BackgroundCheckpointer(self.path) if mode == "wal" else None

    def read_and_append(self, updates: Sequence[WindowUpdate]) -> list[Events]:
        check_updates(updates)
        if not updates:
            return []
        project = self.project
        found: list[Events] = []
        with self._lock, self._transaction("read and append window events"):
            execute = self._cursor.execute
            for u in updates:
                start = u.t_us - u.horizon_us
                rows = execute(_READ, (project, u.view, u.entity_key, start, u.t_us)).fetchall()
                value = None if u.value != u.value else u.value
                execute(_APPEND, (project, u.view, u.entity_key, u.t_us, u.event_id, value))
                execute(_TRIM, (project, u.view, u.entity_key, start))
                found.append([(t, _NAN if v is None else v) for t, v in rows])
        return found

    def bulk_load(
        self,
        view: str,
        entity_keys: npt.ArrayLike,
        times_us: npt.ArrayLike,
        event_ids: npt.ArrayLike,
        values: npt.ArrayLike,
        horizon_us: int,
    ) -> int:
        events = prepare_bulk(view, entity_keys, times_us, event_ids, values, horizon_us)
        rows = [
            (self.project, view, key, t, event_id, None if value != value else value)
            for key, t, event_id, value in zip(
                events.entity_keys, events.times_us, events.event_ids, events.values, strict=True
            )
        ]
        with self._lock, self._transaction(f"bulk-load view {view!r}"):
            for begin in range(0, len(rows), _BULK_BATCH):
                self._cursor.executemany(_APPEND, rows[begin : begin + _BULK_BATCH])
        return len(rows)

    def clear(self, view: str | None = None) -> None:
        with self._lock, self._transaction("clear window events"):
            if view is None:
                self._cursor.execute("DELETE FROM window_events WHERE project = ?", (self.project,))
            else:
                self._cursor.execute(
                    "DELETE FROM window_events WHERE project = ? AND view = ?",
                    (self.project, check_view(view)),
                )

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._lock, self._errors("close"):
            self._conn.close()

    @contextmanager
    def _transaction(self, purpose: str) -> Iterator[None]:
        with self._errors(purpose):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # also when COMMIT itself failed
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _errors(self, purpose: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            hint = (
                "another process held the write lock longer than busy_timeout_ms; "
                "raise it or spread the load"
                if "locked" in str(exc) or "busy" in str(exc)
                else f"check that {self.path} is a writable ferryml window state file"
            )
            raise StorageError(
                f"SQLite window state {self.path} refused to {purpose}: {exc}", hint=hint
            ) from exc


__all__ = ["SqliteWindowStore"]
