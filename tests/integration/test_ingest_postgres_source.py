"""The PostgreSQL reader against a real server: generated data loaded into a table round-trips
through a server-side cursor; missing tables, columns and bad values are located."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from ferryml.config import load_config
from ferryml.data.ingest import PostgresSource, arrow_schema, open_source
from ferryml.data.synth import SynthConfig, generate
from ferryml.errors import DataError

pytestmark = pytest.mark.postgres

PG_TYPES = {
    pa.string(): "text",
    pa.timestamp("us", tz="UTC"): "timestamptz",
    pa.float64(): "double precision",
    pa.int64(): "smallint",  # narrower than the schema's int64 on purpose: it must be cast
}


def transaction_schema() -> pa.Schema:
    return arrow_schema(load_config(environ={}).config.schema_.columns)


def generated(tmp_path: Path) -> pa.Table:
    """A few hundred generated transactions, read whole and cast (the oracle)."""
    config = SynthConfig(
        start=date(2025, 1, 1), days=3, customers=100, merchants=20, transactions_per_day=120
    )
    generate(config, tmp_path)
    schema = transaction_schema()
    return pa.concat_tables(
        pq.read_table(path).select(schema.names).cast(schema)
        for path in sorted((tmp_path / "transactions").glob("date=*/part-0.parquet"))
    )


def read_all(batches: Iterator[pa.RecordBatch]) -> pa.Table:
    return pa.Table.from_batches(list(batches))


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def loaded(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, pa.Table]]:
    """Table ``ingest_tx``: the generated transactions plus an extra column ``loaded_by``."""
    expected = generated(tmp_path_factory.mktemp("synth") / "out")
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(PG_TYPES[f.type]))
        for f in expected.schema
    ]
    with psycopg.connect(libpq(postgres_url)) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE ingest_tx ({}, loaded_by text DEFAULT 'test')").format(
                sql.SQL(", ").join(columns)
            )
        )
        conn.execute("SET TIME ZONE 'America/Sao_Paulo'")  # the reader must not depend on it
        names = sql.SQL(", ").join(sql.Identifier(n) for n in expected.column_names)
        copy_sql = sql.SQL("COPY ingest_tx ({}) FROM STDIN").format(names)
        with conn.cursor().copy(copy_sql) as copy:
            for row in expected.to_pylist():
                copy.write_row(list(row.values()))
        conn.execute(
            "CREATE TABLE ingest_naive (id text, amount numeric(10, 2), at timestamp);"
            "INSERT INTO ingest_naive VALUES ('a', 12.50, '2025-01-01 10:00:00'),"
            " ('b', NULL, NULL);"
            "CREATE TABLE ingest_bad (id text, amount text);"
            "INSERT INTO ingest_bad VALUES ('a', '1.5'), ('b', '2'), ('c', 'lots')"
        )
    yield postgres_url, expected


def test_table_round_trips_in_small_batches(loaded: tuple[str, pa.Table]) -> None:
    url, expected = loaded
    in_sao_paulo = f"{url}?options=-c%20TimeZone%3DAmerica%2FSao_Paulo"  # not UTC on purpose
    reader = open_source(PostgresSource(url=in_sao_paulo, table="public.ingest_tx"))
    batches = list(reader.batches(transaction_schema(), chunk_rows=100))
    assert all(0 < b.num_rows <= 100 for b in batches)
    table = pa.Table.from_batches(batches).sort_by("transaction_id")
    assert table.schema == transaction_schema()
    assert table.equals(expected.sort_by("transaction_id"))
    info = reader.describe()
    assert info["dropped_columns"] == ["loaded_by"]
    assert info["table"] == "public.ingest_tx" and info["rows_read"] == expected.num_rows


def test_query_source_and_naive_timestamps_as_utc(loaded: tuple[str, pa.Table]) -> None:
    url, _ = loaded
    schema = pa.schema(
        [("id", pa.string()), ("amount", pa.float64()), ("at", pa.timestamp("us", tz="UTC"))]
    )
    query = "SELECT * FROM ingest_naive ORDER BY id;"
    table = read_all(open_source(PostgresSource(url=url, query=query)).batches(schema, 10))
    assert table.column("amount").to_pylist() == [12.5, None]
    assert table.column("at").cast(pa.int64()).to_pylist()[0] == 1_735_725_600_000_000


def test_missing_table_and_columns_are_named(loaded: tuple[str, pa.Table]) -> None:
    url, _ = loaded
    schema = pa.schema([("id", pa.string()), ("nope", pa.string()), ("nada", pa.int64())])
    with pytest.raises(DataError, match=r"missing column\(s\) nope, nada; found id, amount, at"):
        list(open_source(PostgresSource(url=url, table="ingest_naive")).batches(schema, 10))
    with pytest.raises(DataError, match="no_such_table"):
        list(open_source(PostgresSource(url=url, table="no_such_table")).batches(schema, 10))


def test_bad_value_is_located(loaded: tuple[str, pa.Table]) -> None:
    url, _ = loaded
    schema = pa.schema([("id", pa.string()), ("amount", pa.float64())])
    query = "SELECT * FROM ingest_bad ORDER BY id"
    with pytest.raises(DataError, match=r"row 3 of the result: column 'amount' has value 'lots'"):
        list(open_source(PostgresSource(url=url, query=query)).batches(schema, 2))


def test_empty_result_is_an_error(loaded: tuple[str, pa.Table]) -> None:
    url, _ = loaded
    schema = pa.schema([("id", pa.string())])
    query = "SELECT id FROM ingest_bad WHERE false"
    with pytest.raises(DataError, match="holds no rows"):
        list(open_source(PostgresSource(url=url, query=query)).batches(schema, 2))
