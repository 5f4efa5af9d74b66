"""The same transactions ingested from a PostgreSQL table and from the generator's Parquet
give the same content hash: the version depends on the data, not on where it came from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pyarrow.dataset as ds
import pytest
from psycopg import sql
from sqlalchemy import Engine

from ferryml.config import load_config
from ferryml.data.ingest import ParquetSource, PostgresSource, arrow_schema
from ferryml.data.ingest.job import ingest_dataset
from ferryml.data.synth import SynthConfig, generate
from ferryml.data.versioning import DatasetStore

pytestmark = pytest.mark.postgres
PG_TYPES = {"string": "text", "timestamp": "timestamptz", "float": "double precision", "int": "int"}
KEY = b"k" * 32


def test_postgres_and_parquet_ingestion_agree(
    postgres_url: str, sqlite_engine: Engine, tmp_path: Path
) -> None:
    schema = load_config(environ={}).config.schema_
    generate(SynthConfig(start=date(2025, 2, 1), days=3, customers=150), tmp_path / "synth")
    rows = (
        ds.dataset(tmp_path / "synth" / "transactions", partitioning="hive")
        .to_table()
        .select(list(schema.columns))
        .cast(arrow_schema(schema.columns))
    )
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(PG_TYPES[spec.type]))
        for name, spec in schema.columns.items()
    ]
    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        conn.execute(sql.SQL("CREATE TABLE same_hash_tx ({})").format(sql.SQL(", ").join(columns)))
        copy_sql = sql.SQL("COPY same_hash_tx FROM STDIN")
        with conn.cursor().copy(copy_sql) as copy:
            # reversed: the table's physical order differs from the files'
            for row in reversed(rows.to_pylist()):
                copy.write_row(list(row.values()))

    store = DatasetStore(sqlite_engine, "demo", tmp_path / "processed")
    common = {"base_dir": tmp_path, "schema": schema, "store": store, "pii_key": KEY}
    from_parquet = ingest_dataset(
        "tx-parquet",
        ParquetSource(path=tmp_path / "synth" / "transactions"),
        chunk_rows=1000,
        **common,
    )
    from_postgres = ingest_dataset(
        "tx-postgres",
        PostgresSource(url=postgres_url, table="same_hash_tx"),
        chunk_rows=333,
        **common,
    )
    assert from_parquet.rows == from_postgres.rows == rows.num_rows
    assert from_parquet.version.content_hash == from_postgres.version.content_hash
