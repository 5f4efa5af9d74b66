"""The prediction log on a disk that fills up: a line the disk takes only in part is cut off
again and refused (503), never acknowledged, and the log goes on once there is space; a
shipper whose disk is full keeps trying, says so in its metrics, and ships everything once it
can. (With a real full tmpfs and a stopped PostgreSQL: tests/integration/
test_serving_storage_faults.py.)"""

from __future__ import annotations

import contextlib
import errno
import resource
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from ferryml.errors import ServiceUnavailableError
from ferryml.serving import metrics
from ferryml.serving.predlog import PredictionLog, Shipper
from ferryml.storage.tables import predictions

pytestmark = pytest.mark.faults


def record(n: int) -> dict[str, Any]:
    return {
        "request_id": f"r{n:04d}",
        "ts": "2026-01-01T00:00:00+00:00",
        "status": 200,
        "score": 0.5,
        "request": {"padding": "x" * 300},
    }


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """No file of this process grows past ``limit`` bytes: a write across it is short, one at
    it fails with EFBIG (Python ignores SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@pytest.fixture
def log(tmp_path: Path) -> Iterator[PredictionLog]:
    prediction_log = PredictionLog(tmp_path / "predictions", fsync_interval=10)
    yield prediction_log
    prediction_log.close()


def test_a_line_the_disk_takes_in_part_is_cut_off_and_refused(log: PredictionLog) -> None:
    for n in range(3):
        log.append(record(n))
    size = log.path.stat().st_size
    refused = metrics.PREDICTION_LOG_WRITE_ERRORS._value.get()

    with (
        file_size_limit(size + 100),  # room for a quarter of the next line
        pytest.raises(ServiceUnavailableError) as partial,
    ):
        log.append(record(3))
    assert log.path.stat().st_size == size  # the part written is cut off again
    with file_size_limit(size), pytest.raises(ServiceUnavailableError) as full:  # no room
        log.append(record(4))
    assert log.path.stat().st_size == size

    for refusal in (partial.value, full.value):
        assert refusal.http_status == 503
        assert refusal.message.startswith("the prediction log cannot be written (File too large)")
        assert "free space" in (refusal.hint or "")
        assert isinstance(refusal.__cause__, OSError) and refusal.__cause__.errno == errno.EFBIG
    assert metrics.PREDICTION_LOG_WRITE_ERRORS._value.get() - refused == 2

    log.append(record(5))  # space again: the log goes on, every line whole
    lines = [orjson.loads(line) for line in log.path.read_bytes().splitlines()]
    assert [line["request_id"] for line in lines] == ["r0000", "r0001", "r0002", "r0005"]


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(predictions)).scalar_one())


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"not within 10 s: {what}")


def test_a_shipper_whose_disk_is_full_keeps_trying_and_ships_everything(
    log: PredictionLog, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its offset file cannot be written (the lines reach the database, their offset not):
    the shipper thread goes on, counts the failures, shows the backlog; with space back it
    writes the offset, and the lines sent twice are stored once."""
    import ferryml.serving.predlog as predlog
    from ferryml.storage.atomic import atomic_write_text

    full = threading.Event()
    full.set()

    def offset_on_a_full_disk(target: Path, text: str) -> None:
        if full.is_set():
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        atomic_write_text(target, text)

    monkeypatch.setattr(predlog, "atomic_write_text", offset_on_a_full_disk)
    for n in range(20):
        log.append(record(n))
    failures = metrics.PREDICTION_LOG_SHIP_FAILURES._value.get()
    shipper = Shipper(log.directory, sqlite_engine, "p", interval=0.02, keep=log.path)
    shipper.start()
    try:
        wait_for(
            lambda: metrics.PREDICTION_LOG_SHIP_FAILURES._value.get() - failures >= 3,
            "three failed shipments",
        )
        assert shipper._thread is not None and shipper._thread.is_alive()
        assert metrics.PREDICTION_LOG_BACKLOG._value.get() == log.path.stat().st_size
        full.clear()
        wait_for(lambda: metrics.PREDICTION_LOG_BACKLOG._value.get() == 0, "no backlog")
    finally:
        shipper.stop()
    assert rows(sqlite_engine) == 20


def test_a_line_read_while_it_is_written_waits_and_a_line_that_never_parses_is_set_aside(
    log: PredictionLog, sqlite_engine: Engine
) -> None:
    """A shipper that reads a line racing its write (bytes not all in yet) ships the lines
    before it and reads it again later; a line that still does not parse after
    ``REJECT_AFTER`` readings is set aside in ``<segment>.rejected`` and counted, and
    everything after it ships. The shipper never stops over a line."""
    from ferryml.serving.predlog import REJECT_AFTER

    for n in range(3):
        log.append(record(n))
    good = log.path.stat().st_size
    with log.path.open("r+b") as segment:  # a racing read's view: the next line's page not in
        segment.seek(good)
        segment.write(b"\x00" * 40 + b"\n")
    shipper = Shipper(log.directory, sqlite_engine, "p", keep=log.path)
    assert shipper.ship_once() == 3 and rows(sqlite_engine) == 3
    with log.path.open("r+b") as segment:  # the write completed: the same bytes, now a record
        segment.seek(good)
        segment.write(orjson.dumps(record(3))[:40] + b"\n")
    for n in range(4, 6):
        log.append(record(n))
    rejected = metrics.PREDICTION_LOG_REJECTED._value.get()
    shipped = [shipper.ship_once() for _ in range(REJECT_AFTER - 1)]  # read once already
    assert shipped == [0] * (REJECT_AFTER - 2) + [2]
    assert rows(sqlite_engine) == 5  # 0-2, then 4 and 5 after the line set aside
    assert metrics.PREDICTION_LOG_REJECTED._value.get() - rejected == 1
    assert log.path.with_suffix(".rejected").read_bytes() == orjson.dumps(record(3))[:40] + b"\n"
