"""The platform DB and audit trail on a real PostgreSQL (a fresh database per session)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, update

from ferryml.clock import ManualClock
from ferryml.errors import AuditChainBrokenError, ServiceUnavailableError
from ferryml.governance import GENESIS_HASH, AuditTrail
from ferryml.storage.db import current_revision, head_revision, make_engine, upgrade
from ferryml.storage.tables import audit_log

pytestmark = pytest.mark.postgres

WRITERS, APPENDS = 8, 25


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
    trail = AuditTrail(pg_engine, "pg-round-trip", clock=ManualClock(start))
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
            trail = AuditTrail(engine, project)
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

    trail = AuditTrail(pg_engine, project)
    entries = trail.entries()
    assert trail.verify() == len(entries) == WRITERS * APPENDS
    assert [e.seq for e in entries] == list(range(1, WRITERS * APPENDS + 1))
    assert {(e.details["w"], e.details["i"]) for e in entries} == {
        (w, i) for w in range(WRITERS) for i in range(APPENDS)
    }


def test_bad_port_is_unavailable_fast_with_masked_password() -> None:
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        make_engine("postgresql://ferry:s3cret-pw@127.0.0.1:1/ferryml")
    assert time.monotonic() - began < 5
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "postgresql+psycopg://ferry:***@127.0.0.1:1/ferryml" in message
    assert "pg_ctlcluster" in message  # the hint says how to start it
