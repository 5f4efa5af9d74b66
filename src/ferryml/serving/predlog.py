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
and deleted once shipped. ``ferry_prediction_log_backlog_bytes`` says how much waits.

A line that cannot be written (the disk is full) is not acknowledged: :meth:`PredictionLog.append`
removes what part of it reached the file and raises :class:`ServiceUnavailableError` (503),
counted in ``ferry_prediction_log_write_errors_total``; appends succeed again once there is
space.
"""

from __future__ import annotations

import contextlib
import errno
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

from ferryml.errors import FerryError, ServiceUnavailableError
from ferryml.serving import metrics
from ferryml.storage.atomic import atomic_write_text
from ferryml.storage.db import insert_new, transaction
from ferryml.storage.tables import predictions

log = logging.getLogger(__name__)

SEGMENT_GLOB = "predictions-*.jsonl"
MAX_SEGMENT_BYTES = 64 * 1024 * 1024
REJECT_AFTER = 3
"""Readings of a line that does not parse before it is set aside (see ``Shipper._parsed``)."""


class PredictionLog:
    """This process's append-only segment in ``directory``."""

    def __init__(self, directory: Path, *, fsync_interval: float = 0.05) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.fsync_interval = fsync_interval
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self.path, self._fd = self._new_segment()
        self._size = 0
        self._flusher = threading.Thread(target=self._flush_loop, name="predlog-fsync", daemon=True)
        self._flusher.start()

    def _new_segment(self) -> tuple[Path, int]:
        path = self.directory / f"predictions-{os.getpid()}-{time.time_ns()}.jsonl"
        return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record (one line, one ``write``); returns once the kernel has it.

        Raises :class:`ServiceUnavailableError` when the line cannot be written whole."""
        line = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        with self._lock:
            try:
                if self._size + len(line) > MAX_SEGMENT_BYTES:
                    self._rotate()
                self._write(line)
            except OSError as exc:
                metrics.PREDICTION_LOG_WRITE_ERRORS.inc()
                raise ServiceUnavailableError(
                    f"the prediction log cannot be written ({exc.strerror or exc}) at "
                    f"{self.path}: the answer is not given, since every answer is logged "
                    "before it is sent",
                    hint="free space on the disk of serving.prediction_log.directory; "
                    "answers resume by themselves",
                ) from exc
            self._size += len(line)
            self._dirty = True

    def _write(self, line: bytes) -> None:
        """The whole line at the end of the segment, or none of it and an ``OSError``."""
        written = 0
        try:
            # one write, but for a disk (or a file size limit) that takes only part of it: the
            # rest is written again, which fails with the kernel's reason when it is full
            while written < len(line):
                taken = os.write(self._fd, line[written:])
                if taken == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += taken
        except OSError:
            if written:  # cut the part off, or the next line is glued to it, unparsable
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - written)
            raise

    def _rotate(self) -> None:
        """Continue in a new segment; the old one is kept when the new one cannot be made."""
        path, fd = self._new_segment()
        old, self.path, self._fd, self._size = self._fd, path, fd, 0
        try:
            os.fsync(old)
        finally:
            os.close(old)

    def _flush_loop(self) -> None:
        while not self._closed.wait(self.fsync_interval):
            try:
                self.flush()
            except OSError as exc:  # the lines stay in the page cache; the next flush retries
                with self._lock:
                    self._dirty = True
                log.error("prediction log %s not synced to disk: %s", self.path, exc)

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
        self._unreadable: dict[tuple[Path, int], int] = {}
        """(segment, byte offset) of a line that did not parse → times it was read."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="predlog-shipper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(FerryError, OSError):  # what is left ships at the next start
            self.ship_once()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.ship_once()
            except FerryError as exc:  # the database is down: the lines wait on disk
                metrics.PREDICTION_LOG_SHIP_FAILURES.inc()
                log.warning("prediction log not shipped yet: %s", exc.message)
            except OSError as exc:  # its disk is full (an offset not written): shipped again
                metrics.PREDICTION_LOG_SHIP_FAILURES.inc()
                log.warning("prediction log not shipped yet: %s", exc)
            except Exception:  # anything else: said, and tried again; the thread lives on
                metrics.PREDICTION_LOG_SHIP_FAILURES.inc()
                log.exception("prediction log not shipped yet: unexpected error")
            metrics.PREDICTION_LOG_BACKLOG.set(self.backlog_bytes())

    def backlog_bytes(self) -> int:
        """Bytes of every segment in the directory not shipped yet."""
        waiting = 0
        for segment in self.directory.glob(SEGMENT_GLOB):
            try:
                offset_file = segment.with_suffix(".offset")
                offset = int(offset_file.read_text()) if offset_file.exists() else 0
                waiting += max(segment.stat().st_size - offset, 0)
            except (OSError, ValueError):  # shipped and removed meanwhile, or being replaced
                continue
        return waiting

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
                rows, parsed = self._parsed(segment, offset, complete)
                if rows:
                    self._insert(rows)
                offset += sum(len(line) for line in complete[:parsed])
                if parsed:
                    atomic_write_text(offset_file, str(offset))
                sent += len(rows)
                if not complete or parsed < len(chunk):  # a line still being written
                    break
        shipped = offset >= segment.stat().st_size
        if shipped and segment != self.keep and not _writer_alive(segment):
            segment.unlink()
            offset_file.unlink(missing_ok=True)
        return sent

    def _parsed(
        self, segment: Path, offset: int, lines: list[bytes]
    ) -> tuple[list[dict[str, Any]], int]:
        """The rows of ``lines`` (read at ``offset``) up to the first that does not parse,
        and how many lines they took (a rejected line counts, without a row).

        A line that does not parse is read again at the next ship: on a loaded machine a
        shipper once read a line that did not parse while the segment was being written, and
        the same bytes parsed afterwards (the cause is not known; the shipper thread died of
        it then). Still unreadable at its :data:`REJECT_AFTER`-th reading, it is moved to
        ``<segment>.rejected``, logged and counted, and shipping goes on after it."""
        rows = []
        for index, line in enumerate(lines):
            try:
                rows.append(self._row(orjson.loads(line)))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                at = offset + sum(len(before) for before in lines[:index])
                seen = self._unreadable.get((segment, at), 0) + 1
                self._unreadable[(segment, at)] = seen
                if seen < REJECT_AFTER:
                    return rows, index
                with segment.with_suffix(".rejected").open("ab") as rejected:
                    rejected.write(line)
                metrics.PREDICTION_LOG_REJECTED.inc()
                log.error(
                    "prediction log line at byte %d of %s is not a record (%s): moved to %s",
                    at, segment, exc, segment.with_suffix(".rejected"),
                )  # fmt: skip
                del self._unreadable[(segment, at)]
        return rows, len(lines)

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
