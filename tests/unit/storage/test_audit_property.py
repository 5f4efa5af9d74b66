"""Property: any single edit of any stored field of any entry makes verify() raise."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update

from ferryml.clock import ManualClock
from ferryml.errors import AuditChainBrokenError
from ferryml.governance import AuditTrail, canonical_json
from ferryml.storage.db import make_engine, upgrade
from ferryml.storage.tables import audit_log

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
FIELDS = ["seq", "ts", "actor", "action", "object", "details", "prev_hash", "hash"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    # One DB for all examples (each example gets its own project): a migration per example
    # would dominate the run time.
    path: Path = tmp_path_factory.mktemp("audit-property") / "ferryml.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@settings(max_examples=25, deadline=None)
@given(
    chain=st.lists(st.tuples(text_st, text_st, details_st), min_size=1, max_size=6),
    data=st.data(),
)
def test_any_field_edit_is_detected(
    engine: Engine, chain: list[tuple[str, str, dict[str, Any]]], data: st.DataObject
) -> None:
    trail = AuditTrail(
        engine, f"prop-{next(_projects)}", clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    )
    for actor, obj, details in chain:
        trail.append(actor, "test.edit", obj, details)
    assert trail.verify() == len(chain)

    target = data.draw(st.sampled_from(trail.entries()), label="entry")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    old = getattr(target, field)
    new: Any
    if field == "seq":  # beyond the chain: never collides with the unique (project, seq)
        new = len(chain) + data.draw(st.integers(1, 5))
    elif field == "ts":
        shift = data.draw(st.integers(1, 10**9) | st.integers(-(10**9), -1))
        new = old + timedelta(microseconds=shift)
    elif field == "details":
        replacement = data.draw(details_st)
        assume(canonical_json(replacement) != canonical_json(old))
        new = canonical_json(replacement)  # canonical, so only the hash can tell
    elif field in {"prev_hash", "hash"}:
        new = data.draw(hex64_st)
        assume(new != old)
    else:
        new = data.draw(text_st)
        assume(new != old)
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == target.id).values({field: new}))

    with pytest.raises(AuditChainBrokenError) as caught:
        trail.verify()
    # Only a seq edit moves the entry, so the chain breaks where it went missing.
    if field != "seq":
        assert caught.value.entry_id == target.id, (field, str(caught.value))
