"""Shared data for the ingestion tests (not a test module): generated transactions and their
expected Arrow table, read by a route independent of the readers (whole files, then cast)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ferryml.config import load_config
from ferryml.data.ingest import arrow_schema
from ferryml.data.synth import SynthConfig, generate

SMALL = {"days": 3, "customers": 100, "merchants": 20, "transactions_per_day": 120}


@cache
def transaction_schema() -> pa.Schema:
    """The reference project's transaction schema as Arrow."""
    return arrow_schema(load_config(environ={}).config.schema_.columns)


def generate_small(out_dir: Path, **overrides: object) -> Path:
    """Generate a few hundred transactions into ``out_dir``; return the transactions directory."""
    config = SynthConfig.model_validate({"start": date(2025, 1, 1), **SMALL, **overrides})
    generate(config, out_dir)
    return out_dir / "transactions"


def expected_table(transactions: Path) -> pa.Table:
    """Every partition file read whole, in path order, cast to the schema (the oracle)."""
    schema = transaction_schema()
    tables = [
        pq.read_table(path).select(schema.names).cast(schema)
        for path in sorted(transactions.glob("date=*/part-0.parquet"))
    ]
    return pa.concat_tables(tables)


def write_csv(table: pa.Table, path: Path) -> Path:
    """``table`` as a CSV file (Arrow's writer: ISO timestamps with ``Z``, nulls as empty)."""
    pcsv.write_csv(table, path)
    return path


def read_all(batches: Iterable[pa.RecordBatch]) -> pa.Table:
    """The batches of a reader as one table."""
    return pa.Table.from_batches(list(batches))
