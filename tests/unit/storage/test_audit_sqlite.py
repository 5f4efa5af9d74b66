"""The audit trail on SQLite: round trip, tamper detection, projects, clock, JSON checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update

from ferryml.clock import ManualClock
from ferryml.errors import AuditChainBrokenError, InvalidInputError, StorageError
from ferryml.governance import (
    GENESIS_HASH,
    AuditEntry,
    AuditTrail,
    entry_hash,
    entry_mac,
    signed_entry,
)
from ferryml.governance.audit_format import key_id
from ferryml.storage.tables import audit_log

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
KEY = b"test-audit-key-0123456789abcdef"


def _trail(engine: Engine, project: str = "fraud", n: int = 0) -> AuditTrail:
    trail = AuditTrail(engine, project, clock=ManualClock(START), key=KEY)
    for i in range(n):
        trail.append(f"user:u{i}", "model.train", f"model/{i}", {"i": i, "tags": ["a", "b"]})
    return trail


def _edit(engine: Engine, entry_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == entry_id).values(**values))


def _broken(trail: AuditTrail) -> AuditChainBrokenError:
    with pytest.raises(AuditChainBrokenError) as caught:
        trail.verify()
    return caught.value


def test_round_trip(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine)
    assert trail.verify() == 0
    assert trail.head() is None
    first = trail.append("user:ana", "data.ingest", "raw/2026-03-01", {"rows": 10, "ok": True})
    second = trail.append("user:bo", "model.promote", "fraud-lgbm/3")
    assert isinstance(first, AuditEntry)
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash, second.details) == (2, first.hash, {})
    assert trail.entries() == [first, second]
    assert trail.head() == second
    assert trail.verify() == 2


def test_entries_after_and_limit(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=5)
    assert [e.seq for e in trail.entries(after=2)] == [3, 4, 5]
    assert [e.seq for e in trail.entries(limit=2)] == [1, 2]
    assert [e.seq for e in trail.entries(after=1, limit=2)] == [2, 3]
    with pytest.raises(InvalidInputError, match="limit must be a positive int"):
        trail.entries(limit=0)


def test_hash_is_the_hmac_of_the_documented_stored_entry(sqlite_engine: Engine) -> None:
    entry = _trail(sqlite_engine).append("user:ana", "x.y", "obj", {"b": 1, "a": "ü"})
    # Written out independently of canonical_json/signed_entry: the format is a public contract.
    key_name = hmac.new(KEY, b"ferryml audit key id", hashlib.sha256).hexdigest()[:16]
    expected = (
        '{"action":"x.y","actor":"user:ana","details":{"a":"\\u00fc","b":1},'
        f'"key_id":"{key_name}","object":"obj",'
        f'"prev_hash":"{GENESIS_HASH}","project":"fraud","scheme":"hmac-sha256","seq":1,'
        '"ts":"2026-03-01T12:00:00.123456+00:00"}'
    )
    assert entry.hash == hmac.new(KEY, expected.encode(), hashlib.sha256).hexdigest()
    with sqlite_engine.connect() as conn:
        stored = conn.execute(audit_log.select()).one()
    assert (stored.entry, stored.scheme) == (expected, "hmac-sha256")
    assert key_id(KEY) == key_name


def test_injected_clock_times_appear(sqlite_engine: Engine) -> None:
    clock = ManualClock(START)
    trail = AuditTrail(sqlite_engine, "fraud", clock=clock, key=KEY)
    trail.append("a", "b", "c")
    clock.advance(timedelta(days=2, microseconds=7))
    trail.append("a", "b", "c")
    assert [e.ts for e in trail.entries()] == [START, START + timedelta(days=2, microseconds=7)]
    assert all(e.ts.tzinfo is not None for e in trail.entries())


def test_default_clock_is_the_system_clock(sqlite_engine: Engine) -> None:
    before = datetime.now(UTC)
    entry = AuditTrail(sqlite_engine, "fraud", key=KEY).append("a", "b", "c")
    assert before <= entry.ts <= datetime.now(UTC)


def test_projects_are_independent(sqlite_engine: Engine) -> None:
    fraud, churn = _trail(sqlite_engine, "fraud", n=3), _trail(sqlite_engine, "churn", n=2)
    assert (fraud.verify(), churn.verify()) == (3, 2)
    assert churn.entries()[0].prev_hash == GENESIS_HASH
    _edit(sqlite_engine, fraud.entries()[1].id, actor="mallory")
    assert churn.verify() == 2  # one project's broken chain does not touch the other's
    assert _broken(fraud).entry_id == fraud.entries()[1].id


@pytest.mark.parametrize(
    ("details", "where"),
    [
        ({"when": datetime(2026, 1, 1)}, "details['when'] is a datetime"),
        ({"a": {"b": [1, {1, 2}]}}, "details['a']['b'][1] is a set"),
        ({"x": float("nan")}, "details['x'] is nan"),
        ({"m": {3: "x"}}, "details['m'] has the key 3"),
        ({"o": object()}, "details['o'] is a object"),
    ],
)
def test_non_json_details_are_rejected_naming_the_key(
    sqlite_engine: Engine, details: dict[str, Any], where: str
) -> None:
    trail = _trail(sqlite_engine)
    with pytest.raises(InvalidInputError, match="JSON") as caught:
        trail.append("a", "b", "c", details)
    assert where in str(caught.value)
    assert trail.entries() == []  # nothing half-written


def test_cyclic_details_are_rejected(sqlite_engine: Engine) -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(InvalidInputError, match=r"details\['self'\] refers back to itself"):
        _trail(sqlite_engine).append("a", "b", "c", cyclic)


@pytest.mark.parametrize(("field", "value"), [("actor", ""), ("action", "  "), ("object", "a\0")])
def test_bad_text_fields_are_rejected(sqlite_engine: Engine, field: str, value: str) -> None:
    args = {"actor": "a", "action": "b", "object": "c", field: value}
    with pytest.raises(InvalidInputError, match=f"audit {field}"):
        _trail(sqlite_engine).append(**args)


def test_tuples_are_stored_as_lists(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine)
    entry = trail.append("a", "b", "c", {"pair": (1, 2)})
    assert entry.details == {"pair": [1, 2]} == trail.entries()[0].details
    assert trail.verify() == 1


def test_edited_details_are_detected(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=4)
    target = trail.entries()[2]
    _edit(sqlite_engine, target.id, details=json.dumps({"i": 99, "tags": ["a", "b"]}))
    error = _broken(trail)
    assert error.entry_id == target.id
    assert f"entry id {target.id} (seq 3)" in str(error)


def test_whitespace_only_details_edit_is_detected(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=2)
    target = trail.entries()[0]
    _edit(sqlite_engine, target.id, details='{"i": 0, "tags": ["a", "b"]}')
    assert "its details column differs from its signed entry" in str(_broken(trail))


def test_edited_actor_is_detected(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=3)
    target = trail.entries()[0]
    _edit(sqlite_engine, target.id, actor="user:mallory")
    error = _broken(trail)
    assert (error.entry_id, error.seq) == (target.id, 1)
    assert "its actor column differs from its signed entry" in str(error)


def test_edited_signed_entry_is_detected(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=3)
    target = trail.entries()[1]
    with sqlite_engine.connect() as conn:
        text = conn.execute(audit_log.select().where(audit_log.c.id == target.id)).one().entry
    # edited consistently in the text and the column: only the MAC can tell
    _edit(sqlite_engine, target.id, entry=text.replace("user:u1", "user:xx"), actor="user:xx")
    error = _broken(trail)
    assert error.entry_id == target.id
    assert "does not match its MAC" in str(error)


def test_deleted_middle_row_is_a_gap(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=5)
    entries = trail.entries()
    with sqlite_engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id == entries[2].id))
    error = _broken(trail)
    assert error.entry_id == entries[3].id
    assert "gap in seq: expected seq 3" in str(error)


def test_swapped_seq_is_reported_as_reorder(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=5)
    second, third = trail.entries()[1:3]
    _edit(sqlite_engine, second.id, seq=-1)  # swap via a free value: (project, seq) is unique
    _edit(sqlite_engine, third.id, seq=2)
    _edit(sqlite_engine, second.id, seq=3)
    error = _broken(trail)
    assert error.entry_id == third.id
    assert "reordered: it was written as seq 3 and now carries seq 2" in str(error)


def test_edited_hash_is_detected(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=3)
    target = trail.entries()[1]
    _edit(sqlite_engine, target.id, hash="f" * 64)
    assert _broken(trail).entry_id == target.id


def test_an_edit_rehashed_without_the_key_is_caught_at_the_entry(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=3)
    first = trail.entries()[0]
    # A forger without the key recomputes the plain sha256 (the pre-key scheme) ...
    _edit(sqlite_engine, first.id, actor="user:mallory", hash=_rehash(first, actor="user:mallory"))
    assert _broken(trail).entry_id == first.id
    # ... or re-signs the edited text with a key of their own.
    text, digest = _resign(first, b"mallory-key-0123456789", actor="user:mallory")
    _edit(sqlite_engine, first.id, actor="user:mallory", entry=text, hash=digest)
    error = _broken(trail)
    assert error.entry_id == first.id
    assert f"signed with another key (key id {key_id(b'mallory-key-0123456789')}" in str(error)


def test_an_edit_resigned_with_the_key_breaks_the_next_link(sqlite_engine: Engine) -> None:
    trail = _trail(sqlite_engine, n=3)
    first, second, _ = trail.entries()
    # Someone holding the key who re-signs one edited entry is caught at the next link.
    text, digest = _resign(first, KEY, actor="user:mallory")
    _edit(sqlite_engine, first.id, actor="user:mallory", entry=text, hash=digest)
    error = _broken(trail)
    assert error.entry_id == second.id
    assert "broken link" in str(error)


def _fields(entry: AuditEntry, **changes: Any) -> dict[str, Any]:
    fields = {
        "project": entry.project,
        "seq": entry.seq,
        "ts": entry.ts,
        "actor": entry.actor,
        "action": entry.action,
        "object": entry.object,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    fields.update(changes)
    return fields


def _rehash(entry: AuditEntry, **changes: Any) -> str:
    return entry_hash(**_fields(entry, **changes))


def _resign(entry: AuditEntry, key: bytes, **changes: Any) -> tuple[str, str]:
    text = signed_entry(**_fields(entry, **changes), key_id=key_id(key))
    return text, entry_mac(key, text)


class _NaiveClock:
    def now(self) -> datetime:
        return datetime(2026, 1, 1)  # naive on purpose


def test_naive_clock_is_rejected(sqlite_engine: Engine) -> None:
    trail = AuditTrail(sqlite_engine, "fraud", clock=_NaiveClock(), key=KEY)
    with pytest.raises(StorageError, match="naive datetime"):
        trail.append("a", "b", "c")
    assert trail.entries() == []
