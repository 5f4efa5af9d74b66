"""DatasetStore round trip on a real PostgreSQL (a fresh database per session)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from ferryml.clock import ManualClock
from ferryml.data.versioning import DatasetStore
from ferryml.storage.db import make_engine, upgrade

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _stage(store: DatasetStore, table: pa.Table) -> Path:
    staged = store.new_staging_dir()
    pq.write_table(table, staged / "part-0.parquet")
    return staged


def test_round_trip(pg_engine: Engine, tmp_path: Path) -> None:
    start = datetime(2026, 5, 1, 8, 30, 0, 1, tzinfo=UTC)
    store = DatasetStore(pg_engine, "pg-datasets", tmp_path / "processed", ManualClock(start))
    table = pa.table({"id": [1, 2, 3], "v": ["a", None, "c"]})
    first = store.publish(
        "tx",
        _stage(store, table),
        key_columns=["id"],
        source={"kind": "postgres"},
        validation={"passed": True},
    )
    assert first.created
    again = store.publish("tx", _stage(store, table.take([2, 0, 1])), key_columns=["id"], source={})
    assert not again.created and again.version == first.version
    assert store.get("tx", first.version.version) == first.version
    assert store.latest("tx") == first.version
    assert store.list() == [first.version]
    assert first.version.created_at == start  # microseconds and UTC survive timestamptz
    assert DatasetStore(pg_engine, "other", tmp_path / "other").list() == []
    second = store.publish(
        "tx",
        _stage(store, table.slice(1)),
        key_columns=["id"],
        source={},
        parents=[first.version.ref],
    )
    diff = store.diff("tx", first.version.version, second.version.version)
    assert (diff.only_in_a, diff.only_in_b) == (1, 0)
