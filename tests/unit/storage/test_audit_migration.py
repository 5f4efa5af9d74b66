"""A chain written before the audit key (schema 0004, plain sha256) after revision 0005: marked
``sha256``, sealed by the first keyed append, still tamper-evident; never blessed once keyed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import DateTime, Engine, insert, select, table, update
from sqlalchemy import column as col

from ferryml.clock import ManualClock
from ferryml.errors import AuditChainBrokenError
from ferryml.governance import GENESIS_HASH, AuditTrail, FileCheckpoint, entry_hash
from ferryml.storage.db import alembic_config, current_revision, make_engine, transaction, upgrade
from ferryml.storage.tables import audit_log

KEY = b"migration-audit-key-0123456789"
START = datetime(2026, 2, 1, 9, 0, 0, 250_000, tzinfo=UTC)
# audit_log as revision 0004 knew it: no scheme, no entry. The time column is typed, as the
# real table's is: an untyped one hands datetimes to sqlite3 raw, which stores them as a
# process-wide adapter says (Feast's SQLite online store registers one that writes epochs).
OLD_AUDIT_LOG = table(
    "audit_log",
    *(col(name) for name in ("project", "seq", "actor", "action", "object", "details")),
    col("ts", DateTime(timezone=True)),
    col("prev_hash"),
    col("hash"),
)


def write_legacy_chain(engine: Engine, project: str, n: int) -> list[str]:
    """Migrate to 0004 and append ``n`` entries as ferryml did then; their hashes."""
    with transaction(engine, lock="migrations") as conn:
        command.upgrade(alembic_config(conn), "0004")
    hashes, prev = [], GENESIS_HASH
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            fields = {
                "project": project,
                "seq": seq,
                "ts": START + timedelta(minutes=seq),
                "actor": f"user:u{seq}",
                "action": "model.train",
                "object": f"model/{seq}",
                "prev_hash": prev,
            }
            details = {"i": seq, "ü": [1.5, None]}
            prev = entry_hash(**fields, details=details)  # type: ignore[arg-type]
            conn.execute(
                insert(OLD_AUDIT_LOG).values(
                    **fields, details=f'{{"i":{seq},"\\u00fc":[1.5,null]}}', hash=prev
                )
            )
            hashes.append(prev)
    return hashes


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[tuple[Engine, AuditTrail]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'ferryml.db'}")
    write_legacy_chain(engine, "fraud", 4)
    assert current_revision(engine) == "0004"
    upgrade(engine)
    trail = AuditTrail(
        engine,
        "fraud",
        clock=ManualClock(START + timedelta(days=1)),
        key=KEY,
        checkpoints=[FileCheckpoint(tmp_path / ".ferryml-audit-head.json")],
    )
    yield engine, trail
    engine.dispose()


def test_the_migration_marks_old_entries_unkeyed(legacy: tuple[Engine, AuditTrail]) -> None:
    engine, trail = legacy
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.scheme, audit_log.c.entry)).all()
    assert rows == [("sha256", None)] * 4
    assert [e.scheme for e in trail.entries()] == ["sha256"] * 4


def test_an_unsealed_chain_does_not_verify_until_sealed(legacy: tuple[Engine, AuditTrail]) -> None:
    _, trail = legacy
    with pytest.raises(AuditChainBrokenError, match="4 unkeyed entries") as caught:
        trail.verify()
    assert caught.value.seq == 1 and "ferry audit anchor" in (caught.value.hint or "")

    entry = trail.append("user:ana", "data.ingest", "transactions@1")
    seal, appended = trail.entries(after=4)
    assert (seal.action, seal.seq, seal.prev_hash) == ("audit.seal", 5, trail.entries()[3].hash)
    assert seal.details == {"legacy_entries": 4, "legacy_head": trail.entries()[3].hash}
    assert appended == entry and entry.prev_hash == seal.hash
    assert trail.verify() == 6


def test_anchor_seals_and_checkpoints(legacy: tuple[Engine, AuditTrail], tmp_path: Path) -> None:
    _, trail = legacy
    verification = trail.anchor("user:ops")
    assert verification.entries == 6  # 4 old, the seal, the anchor
    assert [e.action for e in trail.entries(after=4)] == ["audit.seal", "audit.anchor"]
    assert trail.checkpoints[0].read() == verification.head
    assert [s.status for s in verification.checkpoints] == ["matches"]


def test_an_edited_old_entry_is_still_detected(legacy: tuple[Engine, AuditTrail]) -> None:
    engine, trail = legacy
    trail.append("user:ana", "data.ingest", "transactions@1")
    second = trail.entries()[1]
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == second.id).values(actor="mallory"))
    with pytest.raises(AuditChainBrokenError, match="content does not match its hash") as caught:
        trail.verify()
    assert caught.value.entry_id == second.id


def test_a_broken_old_chain_is_never_sealed(legacy: tuple[Engine, AuditTrail]) -> None:
    engine, trail = legacy
    third = trail.entries()[2]
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == third.id).values(object="x"))
    with pytest.raises(AuditChainBrokenError) as caught:
        trail.append("user:ana", "data.ingest", "transactions@1")
    assert caught.value.entry_id == third.id
    assert len(trail.entries()) == 4  # nothing was appended


def test_keyed_entries_turned_unkeyed_are_a_rewrite(legacy: tuple[Engine, AuditTrail]) -> None:
    engine, trail = legacy
    trail.append("user:ana", "data.ingest", "transactions@1")
    trail.append("user:ana", "data.ingest", "transactions@2")
    keyed = trail.entries(after=4)
    # A forger without the key recomputes the keyed tail as plain sha256 entries.
    prev = trail.entries()[3].hash
    with engine.begin() as conn:
        for entry in keyed:
            digest = entry_hash(
                project=entry.project,
                seq=entry.seq,
                ts=entry.ts,
                actor="user:mallory",
                action=entry.action,
                object=entry.object,
                details=entry.details,
                prev_hash=prev,
            )
            conn.execute(
                update(audit_log)
                .where(audit_log.c.id == entry.id)
                .values(
                    actor="user:mallory", prev_hash=prev, hash=digest, scheme="sha256", entry=None
                )
            )
            prev = digest
    with pytest.raises(AuditChainBrokenError, match="rewritten without the audit key") as caught:
        trail.verify()
    assert caught.value.entry_id == trail.entries()[0].id  # the whole chain is suspect
    # and it is never sealed as if it were old
    with pytest.raises(AuditChainBrokenError, match="refusing to seal it"):
        trail.append("user:ana", "data.ingest", "transactions@3")
