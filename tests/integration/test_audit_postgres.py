"""The platform DB and audit trail on a real PostgreSQL (a fresh database per session)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, column, insert, inspect, select, table, update

from conftest import RUN_ID, fresh_database
from ferryml.clock import ManualClock
from ferryml.errors import AuditChainBrokenError, ServiceUnavailableError
from ferryml.governance import GENESIS_HASH, AuditTrail, FileCheckpoint, entry_hash
from ferryml.storage.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    transaction,
    upgrade,
)
from ferryml.storage.tables import audit_log

pytestmark = pytest.mark.postgres

WRITERS, APPENDS = 8, 25
KEY = b"postgres-audit-key-0123456789"


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_upgrade_is_idempotent(postgres_url: str) -> None:
    engine = make_engine(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    assert engine.url.drivername == "postgresql+psycopg"
    assert upgrade(engine) == upgrade(engine) == head_revision() == current_revision(engine)
    assert "audit_log" in inspect(engine).get_table_names()
    engine.dispose()


def test_round_trip_and_tamper(pg_engine: Engine) -> None:
    start = datetime(2026, 5, 1, 8, 30, 0, 1, tzinfo=UTC)
    trail = AuditTrail(pg_engine, "pg-round-trip", clock=ManualClock(start), key=KEY)
    first = trail.append("user:ana", "data.ingest", "raw/x", {"rows": 3, "ü": [1.5, None]})
    second = trail.append("user:bo", "model.promote", "m/1")
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert trail.entries() == [first, second]
    assert trail.entries()[0].ts == start  # microseconds and UTC survive timestamptz
    assert trail.verify() == 2

    with pg_engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == first.id).values(object="raw/y"))
    with pytest.raises(AuditChainBrokenError) as caught:
        trail.verify()
    assert caught.value.entry_id == first.id


def test_concurrent_thread_appends_form_one_chain(pg_engine: Engine, postgres_url: str) -> None:
    # Each writer has its own engine (own connections), like separate serving processes.
    project = "pg-race"
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        engine = make_engine(postgres_url)
        try:
            trail = AuditTrail(engine, project, key=KEY)
            start.wait(timeout=30)
            for i in range(APPENDS):
                trail.append(f"writer:{writer}", "test.append", f"item-{i}", {"w": writer, "i": i})
        except BaseException as exc:
            failures.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert time.monotonic() - began < 30

    trail = AuditTrail(pg_engine, project, key=KEY)
    entries = trail.entries()
    assert trail.verify() == len(entries) == WRITERS * APPENDS
    assert [e.seq for e in entries] == list(range(1, WRITERS * APPENDS + 1))
    assert {(e.details["w"], e.details["i"]) for e in entries} == {
        (w, i) for w in range(WRITERS) for i in range(APPENDS)
    }


PROCESSES = 4


def append_in_process(url: str, heads: Path, writer: int, start: Any) -> None:
    """One writer process (module-level: the forkserver imports it by name)."""
    engine = make_engine(url)
    trail = AuditTrail(engine, "pg-procs", key=KEY, checkpoints=[FileCheckpoint(heads)])
    start.wait(timeout=60)
    for i in range(APPENDS):
        trail.append(f"writer:{writer}", "test.append", f"item-{i}", {"w": writer, "i": i})
    engine.dispose()


def test_concurrent_process_appends_form_one_chain_with_its_checkpoint(
    pg_engine: Engine, postgres_url: str, tmp_path: Path
) -> None:
    heads = tmp_path / ".ferryml-audit-head.json"
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ferryml.governance", "ferryml.storage.db"])
    start = context.Barrier(PROCESSES)
    workers = [
        context.Process(target=append_in_process, args=(postgres_url, heads, w, start))
        for w in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES

    trail = AuditTrail(pg_engine, "pg-procs", key=KEY, checkpoints=[FileCheckpoint(heads)])
    entries = trail.entries()
    assert trail.verify() == len(entries) == PROCESSES * APPENDS
    assert [e.seq for e in entries] == list(range(1, PROCESSES * APPENDS + 1))
    assert {(e.details["w"], e.details["i"]) for e in entries} == {
        (w, i) for w in range(PROCESSES) for i in range(APPENDS)
    }
    kept = trail.checkpoints[0].read()
    assert kept is not None and (kept.seq, kept.hash) == (entries[-1].seq, entries[-1].hash)


def test_a_chain_from_before_the_key_migrates_and_is_sealed(tmp_path: Path) -> None:
    with fresh_database(f"ferryml_audit_mig_{RUN_ID}") as url:
        engine = make_engine(url)
        with transaction(engine, lock="migrations") as conn:
            command.upgrade(alembic_config(conn), "0004")
        # audit_log as revision 0004 knew it: no scheme, no entry
        old = table("audit_log", *(column(name) for name in _OLD_COLUMNS))
        prev = GENESIS_HASH
        with engine.begin() as conn:
            for seq in (1, 2, 3):
                fields = {
                    "project": "pg-old",
                    "seq": seq,
                    "ts": datetime(2026, 2, 1, 9, seq, 0, 7, tzinfo=UTC),
                    "actor": "user:ana",
                    "action": "model.train",
                    "object": f"model/{seq}",
                    "prev_hash": prev,
                }
                prev = entry_hash(**fields, details={"i": seq})  # type: ignore[arg-type]
                conn.execute(insert(old).values(**fields, details=f'{{"i":{seq}}}', hash=prev))
        assert upgrade(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(select(audit_log.c.scheme)).scalars().all() == ["sha256"] * 3
        heads = tmp_path / ".ferryml-audit-head.json"
        trail = AuditTrail(engine, "pg-old", key=KEY, checkpoints=[FileCheckpoint(heads)])
        with pytest.raises(AuditChainBrokenError, match="3 unkeyed entries"):
            trail.verify()
        trail.append("user:bo", "data.ingest", "transactions@1")
        assert [e.action for e in trail.entries(after=3)] == ["audit.seal", "data.ingest"]
        assert trail.verify() == 5
        engine.dispose()


_OLD_COLUMNS = ("project", "seq", "ts", "actor", "action", "object", "details", "prev_hash", "hash")


def test_bad_port_is_unavailable_fast_with_masked_password() -> None:
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        make_engine("postgresql://ferry:s3cret-pw@127.0.0.1:1/ferryml")
    assert time.monotonic() - began < 5
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "postgresql+psycopg://ferry:***@127.0.0.1:1/ferryml" in message
    assert "pg_ctlcluster" in message  # the hint says how to start it
