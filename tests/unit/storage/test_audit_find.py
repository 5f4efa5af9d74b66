"""AuditTrail.find: filters by object, actor, action (exact or glob) and time, in SQL, on
SQLite and PostgreSQL alike; time bounds parsed with clear errors."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from ferryml.clock import ManualClock
from ferryml.errors import InvalidInputError
from ferryml.governance import AuditTrail
from ferryml.governance.audit_query import parse_time_bound
from ferryml.storage.db import make_engine, upgrade

START = datetime(2026, 3, 1, tzinfo=UTC)
ROWS = [  # actor, action, object; one entry an hour from START
    ("user:ana", "model.train", "fraud/1"),
    ("user:bo", "model.promote", "fraud/1"),
    ("admin@10.0.0.1", "serving.pin", "fraud/1"),
    ("user:ana", "data.ingest", "transactions@ab12"),
    ("user:ana", "model.train", "Fraud/2"),
    ("user:bo", "serving.routing", "fraud_1%"),
    ("user:ana", "model.train", "fraud[2]"),
]
_projects = itertools.count(1)


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest, sqlite_engine: Engine) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield sqlite_engine
        return
    engine = make_engine(request.getfixturevalue("postgres_url"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def trail(engine: Engine) -> AuditTrail:
    clock = ManualClock(START)
    trail = AuditTrail(engine, f"find-{next(_projects)}", clock=clock, key=b"k" * 16)
    for actor, action, obj in ROWS:
        trail.append(actor, action, obj)
        clock.advance(timedelta(hours=1))
    return trail


def _objects(trail: AuditTrail, **filters: object) -> list[tuple[int, str]]:
    return [(e.seq, e.object) for e in trail.find(**filters)]  # type: ignore[arg-type]


def test_object_exact_and_glob(trail: AuditTrail) -> None:
    assert _objects(trail, object="fraud/1") == [(1, "fraud/1"), (2, "fraud/1"), (3, "fraud/1")]
    assert [s for s, _ in _objects(trail, object="fraud/*")] == [1, 2, 3]  # not Fraud/2
    assert _objects(trail, object="?raud/2") == [(5, "Fraud/2")]
    # SQL's own wildcards and brackets are literal text
    assert _objects(trail, object="fraud_1%") == [(6, "fraud_1%")]
    assert _objects(trail, object="fraud_*") == [(6, "fraud_1%")]
    assert _objects(trail, object="fraud[2]") == [(7, "fraud[2]")]
    assert _objects(trail, object="fraud[*") == [(7, "fraud[2]")]


def test_actor_action_and_their_combination(trail: AuditTrail) -> None:
    assert [e.seq for e in trail.find(actor="user:bo")] == [2, 6]
    assert [e.seq for e in trail.find(action="serving.*")] == [3, 6]
    assert [e.seq for e in trail.find(actor="user:ana", action="model.*")] == [1, 5, 7]
    assert trail.find(actor="user:*", action="serving.pin") == []


def test_time_bounds_are_half_open_and_limit_keeps_the_newest(trail: AuditTrail) -> None:
    since, until = START + timedelta(hours=2), START + timedelta(hours=5)
    assert [e.seq for e in trail.find(since=since, until=until)] == [3, 4, 5]
    in_paris = since.astimezone(timezone(timedelta(hours=2)))  # the same instant
    assert [e.seq for e in trail.find(since=in_paris, until=until)] == [3, 4, 5]
    assert [e.seq for e in trail.find(limit=2)] == [6, 7]
    assert [e.seq for e in trail.find(action="model.train", limit=2)] == [5, 7]
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        trail.find(since=datetime(2026, 3, 1))
    with pytest.raises(InvalidInputError, match="limit must be a positive int"):
        trail.find(limit=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T12:30", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("2026-03-01T12:30:00Z", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("2026-03-01T12:30:00+02:00", datetime(2026, 3, 1, 10, 30, tzinfo=UTC)),
    ],
)
def test_time_bounds_parse_iso_8601(text: str, expected: datetime) -> None:
    assert parse_time_bound(text, "--since") == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "01/03/2026", ""])
def test_bad_time_bounds_name_the_option(text: str) -> None:
    with pytest.raises(InvalidInputError, match=f"--until {text!r} is not an ISO 8601") as caught:
        parse_time_bound(text, "--until")
    assert "2026-03-01T12:00" in (caught.value.hint or "")
