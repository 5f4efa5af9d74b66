"""content_hash: stable across reruns, chunking and row order; sensitive to content and schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from versioning_helpers import sample_table, write_chunks

from ferryml.data.versioning import content_hash, summarize
from ferryml.errors import DataError, InvalidInputError

KEYS = ["id"]


def test_hash_is_stable_across_reruns(tmp_path: Path) -> None:
    staged = write_chunks(sample_table(), tmp_path / "a", [50])
    first = content_hash(staged, KEYS)
    assert len(first) == 64 and int(first, 16) >= 0
    assert content_hash(staged, KEYS) == first


@pytest.mark.parametrize(
    ("sizes", "row_group_size"),
    [([50], 7), ([1] * 50, None), ([10, 0, 25, 15], 3), ([49, 1], 100)],
)
def test_hash_ignores_chunking(tmp_path: Path, sizes: list[int], row_group_size: int) -> None:
    table = sample_table()
    reference = content_hash(write_chunks(table, tmp_path / "ref", [50]), KEYS)
    assert content_hash(write_chunks(table, tmp_path / "x", sizes, row_group_size), KEYS) == (
        reference
    )


def test_hash_ignores_row_order_and_dictionary_encoding(tmp_path: Path) -> None:
    table = sample_table()
    reference = content_hash(write_chunks(table, tmp_path / "ref", [50]), KEYS)
    shuffled = table.take(np.random.default_rng(7).permutation(table.num_rows))
    out = tmp_path / "shuffled"
    out.mkdir()
    pq.write_table(shuffled, out / "a.parquet", use_dictionary=False)
    assert content_hash(out, KEYS) == reference


def test_hash_ignores_duplicate_key_arrival_order(tmp_path: Path) -> None:
    # Same key, different rows: ties on the key are broken by the other columns.
    table = pa.table({"id": [1, 1, 1, 2], "v": ["b", "a", "c", "a"]})
    a = write_chunks(table, tmp_path / "a", [4])
    b = write_chunks(table.take([2, 3, 1, 0]), tmp_path / "b", [1, 3])
    assert content_hash(a, KEYS) == content_hash(b, KEYS)


def _mutated(table: pa.Table, change: str) -> pa.Table:
    if change == "value":
        amounts = table["amount"].to_pylist()
        amounts[3] = 99.5
        return table.set_column(2, "amount", pa.array(amounts, pa.float64()))
    if change == "added column":
        return table.append_column("extra", pa.array([0] * table.num_rows, pa.int64()))
    if change == "type":
        return table.set_column(0, "id", pc.cast(table["id"], pa.int32()))
    if change == "renamed column":
        return table.rename_columns(["id", "label", "amount", "ts", "flag"])
    if change == "null":
        names = table["name"].to_pylist()
        names[1] = None
        return table.set_column(1, "name", pa.array(names, pa.string()))
    if change == "dropped row":
        return table.slice(1)
    raise AssertionError(change)


@pytest.mark.parametrize(
    "change", ["value", "added column", "type", "renamed column", "null", "dropped row"]
)
def test_hash_changes_with_content_or_schema(tmp_path: Path, change: str) -> None:
    table = sample_table()
    reference = content_hash(write_chunks(table, tmp_path / "ref", [50]), KEYS)
    changed = _mutated(table, change)
    assert content_hash(write_chunks(changed, tmp_path / "x", [changed.num_rows]), KEYS) != (
        reference
    )


def test_hash_depends_on_key_columns(tmp_path: Path) -> None:
    staged = write_chunks(sample_table(), tmp_path / "a", [50])
    assert content_hash(staged, ["id"]) != content_hash(staged, ["name", "id"])


def test_empty_string_and_null_differ(tmp_path: Path) -> None:
    a = write_chunks(pa.table({"id": [1], "s": pa.array([""])}), tmp_path / "a", [1])
    b = write_chunks(pa.table({"id": [1], "s": pa.array([None], pa.string())}), tmp_path / "b", [1])
    assert content_hash(a, KEYS) != content_hash(b, KEYS)


def test_string_boundaries_matter(tmp_path: Path) -> None:
    a = write_chunks(pa.table({"id": [1, 2], "s": ["ab", "c"]}), tmp_path / "a", [2])
    b = write_chunks(pa.table({"id": [1, 2], "s": ["a", "bc"]}), tmp_path / "b", [2])
    assert content_hash(a, KEYS) != content_hash(b, KEYS)


def test_summary_reports_rows_and_schema(tmp_path: Path) -> None:
    summary = summarize(write_chunks(sample_table(), tmp_path / "a", [20, 30]), KEYS)
    assert summary.rows == 50
    assert [c["name"] for c in summary.schema] == ["id", "name", "amount", "ts", "flag"]
    assert summary.schema[0]["type"] == "BIGINT"
    assert summary.schema[3]["type"] == "TIMESTAMP WITH TIME ZONE"


def test_zero_rows_hash(tmp_path: Path) -> None:
    staged = write_chunks(sample_table().slice(0, 0), tmp_path / "a", [0])
    assert summarize(staged, KEYS).rows == 0


@pytest.mark.parametrize(
    ("keys", "match"),
    [
        (["nope"], "not in the dataset"),
        ([], "at least one"),
        ("id", "sequence"),
        (["id", "id"], "repeat"),
    ],
)
def test_bad_key_columns_are_rejected(tmp_path: Path, keys: list[str], match: str) -> None:
    staged = write_chunks(sample_table(), tmp_path / "a", [50])
    with pytest.raises(InvalidInputError, match=match):
        content_hash(staged, keys)


def test_staged_directory_must_be_flat_parquet(tmp_path: Path) -> None:
    staged = write_chunks(sample_table(), tmp_path / "a", [50])
    (staged / "_SUCCESS").write_text("")
    with pytest.raises(InvalidInputError, match="_SUCCESS"):
        content_hash(staged, KEYS)
    (staged / "_SUCCESS").unlink()
    (staged / "date=2026-01-01").mkdir()
    with pytest.raises(InvalidInputError, match="date=2026-01-01/"):
        content_hash(staged, KEYS)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInputError, match=r"no \*\.parquet"):
        content_hash(empty, KEYS)
    with pytest.raises(InvalidInputError, match="does not exist"):
        content_hash(tmp_path / "missing", KEYS)


def test_mismatched_file_schemas_are_a_data_error(tmp_path: Path) -> None:
    staged = tmp_path / "a"
    staged.mkdir()
    pq.write_table(pa.table({"id": [1], "v": ["x"]}), staged / "1.parquet")
    pq.write_table(pa.table({"id": [2], "v": [[1, 2]]}), staged / "2.parquet")
    with pytest.raises(DataError, match="share one schema"):
        content_hash(staged, KEYS)


_rows = st.lists(
    st.tuples(
        st.integers(-5, 5),
        st.one_of(st.none(), st.text(max_size=4)),
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64)),
        st.one_of(st.none(), st.booleans()),
    ),
    max_size=30,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows, seed=st.integers(0, 2**32 - 1), data=st.data())
def test_property_hash_ignores_shuffle_and_rechunk(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[object, ...]],
    seed: int,
    data: st.DataObject,
) -> None:
    schema = pa.schema(
        [("k", pa.int64()), ("s", pa.string()), ("f", pa.float64()), ("b", pa.bool_())]
    )
    table = pa.Table.from_pylist(
        [dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema
    )
    order = np.random.default_rng(seed).permutation(table.num_rows)
    shuffled = table.take(pa.array(order, pa.int64()))
    cuts = sorted(data.draw(st.lists(st.integers(0, table.num_rows), max_size=4)))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, table.num_rows], strict=True)]
    base = tmp_path_factory.mktemp("prop")
    one = write_chunks(table, base / "one", [table.num_rows])
    many = write_chunks(shuffled, base / "many", sizes, row_group_size=data.draw(st.integers(1, 8)))
    assert content_hash(one, ["k"]) == content_hash(many, ["k"])
