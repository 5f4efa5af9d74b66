"""The Parquet reader: generated Hive-partitioned data round-trips; bad input is located."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import expected_table, generate_small, read_all, transaction_schema

from ferryml.data.ingest import ParquetSource, open_source
from ferryml.errors import DataError

SCHEMA = pa.schema([pa.field("id", pa.string(), False), pa.field("amount", pa.float64(), True)])


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_small(tmp_path_factory.mktemp("synth") / "out")


def test_partitioned_directory_round_trips(transactions: Path) -> None:
    reader = open_source(ParquetSource(path=transactions))
    table = read_all(reader.batches(transaction_schema(), chunk_rows=100))

    assert table.schema == transaction_schema()
    assert table.equals(expected_table(transactions))
    info = reader.describe()
    assert info["format"] == "parquet"
    assert info["rows_read"] == table.num_rows
    assert info["dropped_columns"] == []  # the Hive key is layout, listed per file below
    assert [f["partition"]["date"] for f in info["files"]] == [
        "2025-01-01",
        "2025-01-02",
        "2025-01-03",
    ]
    assert all(f["bytes"] > 0 and f["rows"] > 0 for f in info["files"])


def test_batches_hold_at_most_chunk_rows(transactions: Path) -> None:
    batches = list(open_source(ParquetSource(path=transactions)).batches(transaction_schema(), 100))
    assert len(batches) > 3
    assert all(0 < b.num_rows <= 100 for b in batches)


def test_relative_path_resolves_against_base_dir(transactions: Path) -> None:
    reader = open_source(ParquetSource(path=Path(transactions.name)), base_dir=transactions.parent)
    assert reader.describe()["path"] == str(transactions)


def test_single_file_and_partition_key_in_schema(tmp_path: Path) -> None:
    part = tmp_path / "day=2025-01-02" / "part-0.parquet"
    part.parent.mkdir()
    pq.write_table(pa.table({"id": ["a", "b"], "amount": [1.0, None]}), part)
    schema = SCHEMA.append(pa.field("day", pa.date32(), False))

    table = read_all(open_source(ParquetSource(path=tmp_path)).batches(schema, 10))
    assert table.column("day").to_pylist() == [date(2025, 1, 2)] * 2
    single = read_all(open_source(ParquetSource(path=part)).batches(SCHEMA, 10))
    assert single.to_pydict() == {"id": ["a", "b"], "amount": [1.0, None]}


def test_string_amounts_of_bad_data_partitions_are_cast(tmp_path: Path) -> None:
    scenario = {"bad_data": {"enabled": True, "amount_as_string": True}}
    transactions = generate_small(tmp_path / "out", scenarios=scenario)
    types = {pq.read_schema(p).field("amount").type for p in transactions.rglob("*.parquet")}
    assert types == {pa.string(), pa.float64()}  # the scenario really wrote strings

    table = read_all(
        open_source(ParquetSource(path=transactions)).batches(transaction_schema(), 64)
    )
    assert table.equals(expected_table(transactions))


def test_non_numeric_string_is_located(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"id": ["a", "b", "c"], "amount": ["1.5", "2", "12,50 EUR"]}),
        tmp_path / "p.parquet",
    )
    with pytest.raises(DataError) as caught:
        list(open_source(ParquetSource(path=tmp_path)).batches(SCHEMA, 2))
    message = str(caught.value)
    assert "p.parquet" in message
    assert "row 3" in message
    assert "'amount'" in message
    assert "'12,50 EUR'" in message
    assert "double" in message


def test_missing_columns_are_all_named(tmp_path: Path) -> None:
    pq.write_table(pa.table({"other": [1]}), tmp_path / "p.parquet")
    with pytest.raises(DataError, match=r"missing column\(s\) id, amount; found other"):
        list(open_source(ParquetSource(path=tmp_path)).batches(SCHEMA, 2))


def test_extra_columns_are_dropped_and_reported(tmp_path: Path) -> None:
    pq.write_table(pa.table({"amount": [1.0], "note": ["x"], "id": ["a"]}), tmp_path / "p.parquet")
    reader = open_source(ParquetSource(path=tmp_path))
    assert read_all(reader.batches(SCHEMA, 2)).column_names == ["id", "amount"]
    assert reader.describe()["dropped_columns"] == ["note"]


@pytest.mark.parametrize("kind", ["missing", "no_files", "empty"])
def test_missing_or_empty_sources_are_errors(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "data"
    if kind != "missing":
        target.mkdir()
    if kind == "empty":
        pq.write_table(
            pa.table({"id": pa.array([], pa.string()), "amount": pa.array([], pa.float64())}),
            target / "p.parquet",
        )
    expected = {"missing": "does not exist", "no_files": "without .parquet", "empty": "no rows"}
    with pytest.raises(DataError, match=expected[kind]) as caught:
        list(open_source(ParquetSource(path=target)).batches(SCHEMA, 2))
    assert str(target) in str(caught.value)


def test_a_corrupt_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"bad\.parquet is not a readable Parquet file"):
        list(open_source(ParquetSource(path=tmp_path)).batches(SCHEMA, 2))


def test_nulls_in_non_nullable_columns_are_counted(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"id": ["a", None, None], "amount": [1.0, 2.0, 3.0]}), tmp_path / "p.parquet"
    )
    reader = open_source(ParquetSource(path=tmp_path))
    list(reader.batches(SCHEMA, 2))
    assert reader.describe()["nulls_in_non_nullable"] == {"id": 2}
