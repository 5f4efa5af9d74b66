"""Property: any edit, deletion, reordering or truncation of the audit log, and any rewrite of
the chain without the key, makes verify() raise naming the first bad entry."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, update

from ferryml.clock import ManualClock
from ferryml.errors import AuditChainBrokenError
from ferryml.governance import (
    AuditEntry,
    AuditTrail,
    FileCheckpoint,
    canonical_json,
    entry_hash,
    entry_mac,
    signed_entry,
)
from ferryml.governance.audit_format import key_id
from ferryml.storage.db import make_engine, upgrade
from ferryml.storage.tables import audit_log

KEY = b"property-audit-key-0123456789"
WRONG_KEY = b"mallory-audit-key-9876543210"
_projects = itertools.count(1)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
details_st = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
text_st = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() and "\0" not in s)
hex64_st = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
chain_st = st.lists(st.tuples(text_st, text_st, details_st), min_size=1, max_size=6)
FIELDS = ["seq", "ts", "actor", "action", "object", "details", "prev_hash", "hash", "entry"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    # One DB for all examples (each example gets its own project): a migration per example
    # would dominate the run time.
    path: Path = tmp_path_factory.mktemp("audit-property") / "ferryml.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def heads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit-heads")


def _written(
    engine: Engine, heads: Path, chain: list[tuple[str, str, dict[str, Any]]]
) -> tuple[AuditTrail, list[AuditEntry]]:
    project = f"prop-{next(_projects)}"
    trail = AuditTrail(
        engine,
        project,
        clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
        key=KEY,
        checkpoints=[FileCheckpoint(heads / f"{project}.json")],
    )
    for actor, obj, details in chain:
        trail.append(actor, "test.edit", obj, details)
    assert trail.verify() == len(chain)
    return trail, trail.entries()


def _set(engine: Engine, entry_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == entry_id).values(**values))


def _broken(trail: AuditTrail) -> AuditChainBrokenError:
    with pytest.raises(AuditChainBrokenError) as caught:
        trail.verify()
    return caught.value


@settings(max_examples=25, deadline=None)
@given(chain=chain_st, data=st.data())
def test_any_field_edit_is_detected_at_its_entry(
    engine: Engine, heads: Path, chain: list[tuple[str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    trail, entries = _written(engine, heads, chain)
    index = data.draw(st.integers(0, len(entries) - 1), label="index")
    target = entries[index]
    field = data.draw(st.sampled_from(FIELDS), label="field")
    new: Any
    if field == "seq":  # beyond the chain: never collides with the unique (project, seq)
        new = len(chain) + data.draw(st.integers(1, 5))
    elif field == "ts":
        shift = data.draw(st.integers(1, 10**9) | st.integers(-(10**9), -1))
        new = target.ts + timedelta(microseconds=shift)
    elif field == "details":
        replacement = data.draw(details_st)
        assume(canonical_json(replacement) != canonical_json(target.details))
        new = canonical_json(replacement)  # canonical: only the signature can tell
    elif field == "entry":  # the signed text, edited as a forger would: still canonical JSON
        replacement = data.draw(details_st)
        assume(canonical_json(replacement) != canonical_json(target.details))
        new = _text(target, details=replacement)
    elif field in {"prev_hash", "hash"}:
        new = data.draw(hex64_st)
        assume(new != getattr(target, field))
    else:
        new = data.draw(text_st)
        assume(new != getattr(target, field))
    _set(engine, target.id, **{field: new})

    error = _broken(trail)
    # A seq edit moves the entry to the end: the chain breaks where it went missing.
    expected = entries[index + 1] if field == "seq" and index + 1 < len(entries) else target
    assert error.entry_id == expected.id, (field, str(error))


@settings(max_examples=20, deadline=None)
@given(chain=chain_st, data=st.data())
def test_a_deleted_entry_is_detected(
    engine: Engine, heads: Path, chain: list[tuple[str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    trail, entries = _written(engine, heads, chain)
    index = data.draw(st.integers(0, len(entries) - 1), label="index")
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id == entries[index].id))

    error = _broken(trail)
    if index + 1 < len(entries):  # the next entry finds a gap before it
        assert error.entry_id == entries[index + 1].id
        assert f"gap in seq: expected seq {index + 1}" in str(error)
    else:  # the newest entry: only the checkpoint knows it existed
        assert (error.entry_id, error.seq) == (None, index + 1)
        assert f"entry seq {index + 1} was deleted" in str(error)


@settings(max_examples=20, deadline=None)
@given(chain=chain_st.filter(lambda chain: len(chain) >= 2), data=st.data())
def test_two_swapped_entries_are_detected(
    engine: Engine, heads: Path, chain: list[tuple[str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    trail, entries = _written(engine, heads, chain)
    first = data.draw(st.integers(0, len(entries) - 2), label="first")
    second = data.draw(st.integers(first + 1, len(entries) - 1), label="second")
    a, b = entries[first], entries[second]
    _set(engine, a.id, seq=-1)  # through a free value: (project, seq) is unique
    _set(engine, b.id, seq=a.seq)
    _set(engine, a.id, seq=b.seq)

    error = _broken(trail)
    assert error.entry_id == b.id  # now first in seq order, at a's place
    assert f"written as seq {b.seq} and now carries seq {a.seq}" in str(error)


@settings(max_examples=20, deadline=None)
@given(chain=chain_st, data=st.data())
def test_a_truncated_tail_is_detected(
    engine: Engine, heads: Path, chain: list[tuple[str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    trail, entries = _written(engine, heads, chain)
    kept = data.draw(st.integers(0, len(entries) - 1), label="kept")
    with engine.begin() as conn:
        conn.execute(
            delete(audit_log).where(audit_log.c.project == trail.project, audit_log.c.seq > kept)
        )

    error = _broken(trail)
    assert (error.entry_id, error.seq) == (None, kept + 1)
    assert "truncated" in str(error) and f"chain ends at seq {kept}" in str(error)


@settings(max_examples=20, deadline=None)
@given(chain=chain_st, data=st.data())
def test_a_rewrite_without_the_key_fails_at_its_first_entry(
    engine: Engine, heads: Path, chain: list[tuple[str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    trail, entries = _written(engine, heads, chain)
    start = data.draw(st.integers(0, len(entries) - 1), label="from")
    how = data.draw(st.sampled_from(["wrong key", "sha256 as keyed", "sha256 as unkeyed"]))
    prev_hash = entries[start].prev_hash
    # The forger rewrites every entry from `start` on, each consistent with the one before it.
    for entry in entries[start:]:
        changed = {"actor": "user:mallory", "prev_hash": prev_hash}
        if how == "wrong key":
            text = _text(entry, key=WRONG_KEY, **changed)
            values = {**changed, "entry": text, "hash": entry_mac(WRONG_KEY, text)}
        else:
            digest = entry_hash(**{**_fields(entry), **changed})
            values = {**changed, "hash": digest}
            if how == "sha256 as unkeyed":
                values.update(scheme="sha256", entry=None)
        _set(engine, entry.id, **values)
        prev_hash = values["hash"]

    error = _broken(trail)
    # Unkeyed rows after keyed ones fail at once; a fully unkeyed chain fails at its first entry.
    expected = entries[start] if how != "sha256 as unkeyed" or start else entries[0]
    assert error.entry_id == expected.id, (how, str(error))


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "project": entry.project,
        "seq": entry.seq,
        "ts": entry.ts,
        "actor": entry.actor,
        "action": entry.action,
        "object": entry.object,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }


def _text(entry: AuditEntry, key: bytes = KEY, **changes: Any) -> str:
    return signed_entry(**{**_fields(entry), **changes}, key_id=key_id(key))


def test_the_stored_entry_is_what_was_signed(engine: Engine, heads: Path) -> None:
    _, entries = _written(engine, heads, [("user:a", "obj", {"n": 1})])
    with engine.connect() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.id == entries[0].id)).one()
    assert row.entry == _text(entries[0]) and row.hash == entry_mac(KEY, row.entry)
