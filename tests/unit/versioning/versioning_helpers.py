"""Small tables and writers shared by the versioning tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def sample_table(n: int = 50) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": pa.array([None if i % 7 == 0 else f"n{i % 5}" for i in range(n)]),
            "amount": pa.array([i * 1.25 if i % 11 else None for i in range(n)], pa.float64()),
            "ts": pa.array(
                [datetime(2026, 1, 1 + i % 28, tzinfo=UTC) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "flag": pa.array([i % 3 == 0 for i in range(n)]),
        }
    )


def write_chunks(
    table: pa.Table, directory: Path, sizes: list[int], row_group_size: int | None = None
) -> Path:
    """Write ``table`` into ``directory`` as consecutive files of ``sizes`` rows each."""
    directory.mkdir(parents=True, exist_ok=True)
    start = 0
    for number, size in enumerate(sizes):
        pq.write_table(
            table.slice(start, size),
            directory / f"part-{number:03d}.parquet",
            row_group_size=row_group_size,
        )
        start += size
    assert start == table.num_rows
    return directory
