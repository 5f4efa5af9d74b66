"""WAL checkpoints of a SQLite file from a background thread, off the writers' path.

In WAL mode SQLite copies the log back into the database file (a *checkpoint*) inside the
``COMMIT`` that takes the log past ``wal_autocheckpoint`` pages (1000 by default). With one small
transaction per scoring request, every few hundred requests one of them paid for it: measured
on the embedded window store, a 10 to 15 ms stall every ~220 requests, the largest share of the
serving p99 (``benchmarks/serving.py``). A store that turns the automatic checkpoint off on its
own connection (``PRAGMA wal_autocheckpoint = 0``) runs a :class:`BackgroundCheckpointer`
instead: a ``PASSIVE`` checkpoint every ``interval`` seconds on a connection of its own, which
waits for no reader or writer; Python's sqlite3 releases the GIL while it runs.

    >>> import sqlite3, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "state.db"
    >>> writer = sqlite3.connect(path, isolation_level=None)
    >>> writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    'wal'
    >>> _ = writer.execute("PRAGMA wal_autocheckpoint = 0")
    >>> checkpointer = BackgroundCheckpointer(path, interval=0.05)
    >>> _ = writer.execute("CREATE TABLE t (x)")
    >>> checkpointer.checkpoint()  # what the thread does every interval: (busy, log, copied)
    (0, 2, 2)
    >>> checkpointer.close(); writer.close()
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.5
"""Half a second of single-event transactions is a few hundred WAL pages at most."""


class BackgroundCheckpointer:
    """Checkpoints the WAL of the SQLite file at ``path`` every ``interval`` seconds."""

    def __init__(self, path: str | Path, *, interval: float = DEFAULT_INTERVAL_S) -> None:
        self.path = Path(path)
        self.interval = interval
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(
            target=self._run, name=f"sqlite-checkpoint-{self.path.name}", daemon=True
        )
        self._thread.start()

    def checkpoint(self) -> tuple[int, int, int]:
        """One ``PASSIVE`` checkpoint: (1 if it could not finish, frames in the log, frames
        copied into the database)."""
        row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except sqlite3.Error as exc:
                # the log keeps growing until a checkpoint succeeds: say so once per outage
                if not self._failing:
                    log.warning("checkpointing %s failed (%s); retrying", self.path, exc)
                self._failing = True
            else:
                self._failing = False

    def close(self) -> None:
        """Stop the thread and close its connection (the writer's close checkpoints last)."""
        self._stop.set()
        self._thread.join()
        self._conn.close()


__all__ = ["DEFAULT_INTERVAL_S", "BackgroundCheckpointer"]
