"""The prediction log: every answer is on disk before the client sees it, then in the database.

Acknowledged means durable against a killed process. Each worker appends one JSON line per
request to its own segment file with one ``write`` on an ``O_APPEND`` descriptor *before*
the response leaves: once ``write`` returns the line is in the kernel's page cache and
survives the process (SIGKILL included). ``fsync`` (surviving a power cut too) is grouped:
a background thread flushes at most every ``fsync_interval`` seconds.

A shipper moves complete lines to the platform DB (``predictions``) in batches, in a
background thread of every worker. Each segment has an offset file written after the batch
commits; a crash in between ships the batch again and the database ignores rows it already
has (unique ``(project, request_id)``), so nothing is lost and nothing counted twice. While
the database is down the lines wait on disk and ship when it is back. Segments of dead
processes are shipped by the survivors (a lock file per segment keeps two shippers apart)
and deleted once shipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from ferryml.errors import FerryError
from ferryml.storage.atomic import atomic_write_text
from ferryml.storage.db import insert_new, transaction
from ferryml.storage.tables import predictions

log = logging.getLogger(__name__)

SEGMENT_GLOB = "predictions-*.jsonl"
MAX_SEGMENT_BYTES = 64 * 1024 * 1024


class PredictionLog:
    """This process's append-only segment in ``directory``."""

    def __init__(self, directory: Path, *, fsync_interval: float = 0.05) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.fsync_interval = fsync_interval
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self._open_segment()
        self._flusher = threading.Thread(target=self._flush_loop, name="predlog-fsync", daemon=True)
        self._flusher.start()

    def _open_segment(self) -> None:
        name = f"predictions-{os.getpid()}-{time.time_ns()}.jsonl"
        self.path = self.directory / name
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._size = 0

    def append(self, record: dict[str, Any]) -> None:
        """Write one record (one line, one ``write``); returns once the kernel has it."""
        line = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        with self._lock:
            if self._size + len(line) > MAX_SEGMENT_BYTES:
                os.fsync(self._fd)
                os.close(self._fd)
                self._open_segment()
            written = os.write(self._fd, line)
            if written != len(line):  # a full disk: say so, never acknowledge half a record
                raise OSError(f"prediction log {self.path}: wrote {written} of {len(line)} bytes")
            self._size += written
            self._dirty = True

    def _flush_loop(self) -> None:
        while not self._closed.wait(self.fsync_interval):
            self.flush()

    def flush(self) -> None:
        """``fsync`` what was written since the last flush.

        The sync runs on a duplicate of the descriptor, outside the lock: ``fsync`` can take
        milliseconds, and requests appending meanwhile must not wait for it."""
        with self._lock:
            if not self._dirty:
                return
            fd = os.dup(self._fd)
            self._dirty = False
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._closed.set()
        self.flush()
        with self._lock:
            os.close(self._fd)


class Shipper:
    """Moves complete lines of every segment in ``directory`` to the ``predictions`` table."""

    def __init__(
        self,
        directory: Path,
        engine: Engine,
        project: str,
        *,
        interval: float = 0.5,
        batch_rows: int = 1000,
        keep: Path | None = None,
    ) -> None:
        self.directory = directory
        self.engine = engine
        self.project = project
        self.interval = interval
        self.batch_rows = batch_rows
        self.keep = keep
        """The segment being written by this process: never deleted while it is open."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="predlog-shipper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(FerryError):
            self.ship_once()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.ship_once()
            except FerryError as exc:  # the database is down: the lines wait on disk
                log.warning("prediction log not shipped yet: %s", exc.message)

    def ship_once(self) -> int:
        """Ship what every segment holds beyond its offset; returns the rows sent."""
        sent = 0
        for segment in sorted(self.directory.glob(SEGMENT_GLOB)):
            with segment_lock(segment) as mine:
                if mine:
                    sent += self._ship_segment(segment)
        return sent

    def _ship_segment(self, segment: Path) -> int:
        offset_file = segment.with_suffix(".offset")
        offset = int(offset_file.read_text()) if offset_file.exists() else 0
        sent = 0
        with segment.open("rb") as handle:
            handle.seek(offset)
            while True:
                chunk = handle.readlines(self.batch_rows * 2048)
                complete = [line for line in chunk if line.endswith(b"\n")]
                if not complete:
                    break
                rows = [self._row(orjson.loads(line)) for line in complete]
                self._insert(rows)
                offset += sum(len(line) for line in complete)
                atomic_write_text(offset_file, str(offset))
                sent += len(rows)
                if len(complete) < len(chunk):  # a line still being written
                    break
        shipped = offset >= segment.stat().st_size
        if shipped and segment != self.keep and not _writer_alive(segment):
            segment.unlink()
            offset_file.unlink(missing_ok=True)
        return sent

    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        model = record.get("model") or {}
        return {
            "project": self.project,
            "request_id": record["request_id"],
            "ts": _time(record["ts"]),
            "event_id": record.get("event_id"),
            "event_time": _time(record.get("event_time")),
            "status": record["status"],
            "model_name": model.get("name"),
            "model_version": model.get("version"),
            "arm": record.get("arm"),
            "score": record.get("score"),
            "decision": record.get("decision"),
            "threshold": record.get("threshold"),
            "degraded": bool(record.get("degraded", False)),
            "latency_ms": record.get("latency_ms", 0.0),
            "record": orjson.dumps(record).decode(),
        }

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        with transaction(self.engine, purpose="ship the prediction log") as conn:
            insert_new(conn, predictions, rows, keys=["project", "request_id"])


@contextlib.contextmanager
def segment_lock(segment: Path) -> Iterator[bool]:
    """An exclusive, non-blocking lock on the segment's lock file: True when this process has
    it (another shipper, or an erasure rewriting the segment, is on it otherwise)."""
    lock_path = segment.with_suffix(".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
        if not segment.exists():
            lock_path.unlink(missing_ok=True)


def _writer_alive(segment: Path) -> bool:
    """Whether the process that writes ``segment`` (its pid is in the name) still runs."""
    try:
        pid = int(segment.name.split("-")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def iso_time(value: Any) -> Any:
    """A datetime as ISO 8601 text; anything else as it is (for JSON records)."""
    return value.isoformat() if isinstance(value, datetime) else value


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1e6, UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


__all__ = ["PredictionLog", "Shipper", "iso_time", "segment_lock"]
