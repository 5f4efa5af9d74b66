"""The CSV reader: a CSV of generated data round-trips; every bad input names its line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from ingest_helpers import expected_table, generate_small, read_all, transaction_schema, write_csv

from ferryml.data.ingest import CsvSource, open_source
from ferryml.errors import DataError

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), False),
        pa.field("amount", pa.float64(), True),
        pa.field("at", pa.timestamp("us", tz="UTC"), True),
    ]
)


def read(
    path: Path, schema: pa.Schema = SCHEMA, chunk_rows: int = 1000, **options: object
) -> pa.Table:
    source = CsvSource.model_validate({"path": path, **options})
    return read_all(open_source(source).batches(schema, chunk_rows))


@pytest.fixture(scope="module")
def csv_of_transactions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    root = tmp_path_factory.mktemp("synth")
    expected = expected_table(generate_small(root / "out"))
    return write_csv(expected, root / "transactions.csv"), expected


def test_generated_data_round_trips(csv_of_transactions: tuple[Path, pa.Table]) -> None:
    path, expected = csv_of_transactions
    table = read(path, transaction_schema(), chunk_rows=100)
    assert table.schema == transaction_schema()
    assert table.equals(expected)


def test_batches_hold_at_most_chunk_rows(csv_of_transactions: tuple[Path, pa.Table]) -> None:
    path, expected = csv_of_transactions
    reader = open_source(CsvSource(path=path))
    batches = list(reader.batches(transaction_schema(), chunk_rows=100))
    assert len(batches) >= expected.num_rows // 100
    assert all(0 < b.num_rows <= 100 for b in batches)
    assert reader.describe()["rows_read"] == expected.num_rows
    assert reader.describe()["bytes"] == path.stat().st_size


def test_naive_timestamps_are_utc_and_aware_ones_converted(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "id,amount,at\n"
        "a,1,2025-01-01 10:00:00\n"
        "b,2,2025-01-01T10:00:00+02:00\n"
        "c,3,2025-01-01 10:00:00.5Z\n"
        "d,,\n"
    )
    assert read(path).column("at").to_pylist() == [
        datetime(2025, 1, 1, 10, tzinfo=UTC),
        datetime(2025, 1, 1, 8, tzinfo=UTC),
        datetime(2025, 1, 1, 10, 0, 0, 500_000, tzinfo=UTC),
        None,
    ]


def test_types_nulls_and_options(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a;1;true;2025-03-01;NA\nb;;false;;""\n', encoding="latin-1")
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("n", pa.int64()),
            ("ok", pa.bool_()),
            ("d", pa.date32()),
            ("country", pa.string()),
        ]
    )
    table = read(path, schema, delimiter=";", header=False, encoding="latin-1")
    assert table.to_pydict() == {
        "id": ["a", "b"],
        "n": [1, None],
        "ok": [True, False],
        "d": [date(2025, 3, 1), None],
        "country": ["NA", ""],  # "NA" is Namibia, "" an empty string, neither null
    }


def test_extra_columns_are_dropped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("note,id,amount,at\nx,a,1.5,\n")
    reader = open_source(CsvSource(path=path))
    assert read_all(reader.batches(SCHEMA, 10)).column_names == ["id", "amount", "at"]
    assert reader.describe()["dropped_columns"] == ["note"]


def test_missing_columns_are_all_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,other\na,1\n")
    with pytest.raises(DataError, match=r"missing column\(s\) amount, at; found id, other"):
        read(path)


def test_bad_value_names_column_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = "".join(f"r{i},{i}.5,\n" for i in range(5))
    path.write_text(f"id,amount,at\n{rows}r5,twelve,\n")
    with pytest.raises(DataError) as caught:
        read(path, chunk_rows=2)
    message = str(caught.value)
    assert "row 6 (line 7)" in message
    assert "'amount'" in message and "'twelve'" in message and "double" in message


def test_ragged_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,amount,at\na,1,\nb,2\nc,3,\n")
    with pytest.raises(DataError, match=r"line 3: expected 3 fields, found 2"):
        read(path)


def test_misencoded_file_names_encoding_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("id,amount,at\na,1,\ncafé,2,\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid utf-8 text at byte 22 \(line 3\)"):
        read(path)


@pytest.mark.parametrize(("content", "expected"), [("", "empty"), ("id,amount,at\n", "no rows")])
def test_empty_file_and_header_only_are_errors(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=expected):
        read(path)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv does not exist"):
        read(tmp_path / "nope.csv")


def test_unknown_encoding_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown encoding 'utf-99'"):
        CsvSource.model_validate({"path": "x.csv", "encoding": "utf-99"})
