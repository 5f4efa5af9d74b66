"""The content hash of a dataset: rows and schema, not files, chunks or arrival order.

Algorithm (``HASH_FORMAT`` = ``ferryml-dataset-content/v1``):

1. DuckDB reads the flat directory's ``*.parquet`` files and sorts the rows by ``key_columns``,
   then by every other column in schema order (``ASC NULLS LAST`` spelled out, so no DuckDB
   setting can change it). The sort runs out of core (it spills beside the data), and rows come
   back as Arrow record batches of :data:`READ_BATCH_ROWS` rows. Rows that tie on every column
   are identical, so the canonical order is unique up to identical rows.
2. Each column feeds three sha256 streams: *validity* (one byte per row, 1 = not null),
   *values* and *lengths*. Every encoding is a concatenation of per-row encodings, so the bytes
   fed to each stream do not depend on where DuckDB (or the Parquet writer) cut batches, row
   groups or files:

   - integers, dates, times, timestamps, durations: the physical integer, little-endian, at
     the type's width; booleans one byte; nulls as 0;
   - floats: widened to float64, little-endian; ``-0.0`` becomes ``0.0`` and every NaN the one
     canonical NaN (DuckDB sorts them as equal, so a different bit pattern must not change the
     hash through tie order); nulls as 0.0;
   - decimals, fixed-size binary: the fixed-width bytes, nulls zeroed;
   - strings and binary: the raw bytes (UTF-8 for strings) into *values*, each row's byte
     length as int64 into *lengths*;
   - nested and other types (lists, structs, maps, intervals): ``repr`` of the Python value,
     length-prefixed — a slow path for rare columns.

3. The hash is sha256 over the canonical JSON header (format, schema as ``[name, DuckDB
   type]`` pairs in column order, key columns, row count) followed by the three 32-byte digests
   of each column in order. Fixed-size digests make the framing unambiguous.

Dictionary-encoded Parquet columns are decoded first, and types come from DuckDB's binding of
the files, so a string column reads the same whether written dictionary-encoded or plain, from
PostgreSQL or from Parquet. The key columns are part of the header: they fix the canonical order
and what ``diff`` matches on, so the same rows under other keys are another version.

Cost: one full read of the data plus one sort (O(n log n), out of core), then sha256 over about
the in-memory size of the table. Measured 2.6-2.9 s for 1,013,640 synthetic transactions
(``SynthConfig(days=10, transactions_per_day=100_000)``, 18 columns, 10 files) on a 2-core
container, 2026-11-28; publish pays it once, re-publishing identical data pays it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ferryml.data.versioning._duckdb import parquet_files
from ferryml.errors import DataError, InvalidInputError
from ferryml.storage.duckdb_session import connect, quote_ident

HASH_FORMAT = "ferryml-dataset-content/v1"
"""Changes whenever the serialization changes; part of every hash."""

READ_BATCH_ROWS = 65_536
"""Rows per Arrow batch read back from DuckDB: bounds memory; the hash does not depend on it."""


class ColumnSpec(TypedDict):
    """One column of a dataset's schema: its name and DuckDB type (``BIGINT``, ``VARCHAR`` …)."""

    name: str
    type: str


@dataclass(frozen=True)
class ContentSummary:
    """What hashing a directory learns: the hash, the row count, the schema, the files."""

    content_hash: str
    rows: int
    schema: tuple[ColumnSpec, ...]
    key_columns: tuple[str, ...]
    files: tuple[Path, ...]


def content_hash(staged: Path, key_columns: Sequence[str]) -> str:
    """The sha256 (hex) of the rows and schema of the Parquet files in ``staged``.

    Independent of how the rows are split into files and row groups and of their order::

        >>> import tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq
        >>> a, b = (pathlib.Path(tempfile.mkdtemp()) for _ in range(2))
        >>> table = pa.table({"id": [1, 2, 3], "x": ["a", "b", None]})
        >>> pq.write_table(table, a / "p.parquet")
        >>> pq.write_table(table.slice(2), b / "1.parquet")
        >>> pq.write_table(table.take([1, 0]), b / "2.parquet")
        >>> content_hash(a, ["id"]) == content_hash(b, ["id"])
        True
    """
    return summarize(staged, key_columns).content_hash


def summarize(directory: Path, key_columns: Sequence[str]) -> ContentSummary:
    """Hash ``directory`` (see the module docstring) and return what was learned on the way."""
    directory = Path(directory)
    keys = _check_keys(key_columns)
    files = parquet_files(directory)
    _check_one_schema(files)
    with connect(directory.parent, purpose=f"hashing the dataset in {directory}") as con:
        params = {"files": [str(f) for f in files]}
        scan = "SELECT * FROM read_parquet($files)"
        probe = con.sql(scan + " LIMIT 0", params=params)
        names = list(probe.columns)
        schema = tuple(
            ColumnSpec(name=n, type=str(t)) for n, t in zip(names, probe.types, strict=True)
        )
        missing = [k for k in keys if k not in names]
        if missing:
            raise InvalidInputError(
                f"key column(s) {missing} are not in the dataset at {directory}; "
                f"its columns are {names}",
                hint="pass key_columns that identify a row, e.g. ['transaction_id']",
            )
        order = [*keys, *(n for n in names if n not in keys)]
        order_by = ", ".join(f"{quote_ident(c)} ASC NULLS LAST" for c in order)
        reader = con.sql(f"{scan} ORDER BY {order_by}", params=params).to_arrow_reader(
            READ_BATCH_ROWS
        )
        streams = [_ColumnStreams() for _ in names]
        rows = 0
        for batch in reader:
            rows += batch.num_rows
            for stream, column in zip(streams, batch.columns, strict=True):
                stream.update(column)
    header = {
        "format": HASH_FORMAT,
        "schema": [[c["name"], c["type"]] for c in schema],
        "key_columns": list(keys),
        "rows": rows,
    }
    digest = hashlib.sha256(_canonical_json(header).encode("ascii"))
    for stream in streams:
        digest.update(stream.digest())
    return ContentSummary(digest.hexdigest(), rows, schema, keys, tuple(files))


def _check_keys(key_columns: Sequence[str]) -> tuple[str, ...]:
    if isinstance(key_columns, str) or not all(isinstance(k, str) and k for k in key_columns):
        raise InvalidInputError(
            f"key_columns must be a sequence of column names. Got {key_columns!r} instead.",
            hint="e.g. key_columns=['transaction_id']",
        )
    keys = tuple(key_columns)
    if not keys:
        raise InvalidInputError(
            "key_columns must name at least one column. Got an empty sequence.",
            hint="pass the columns that identify a row, e.g. ['transaction_id']",
        )
    if len(set(keys)) != len(keys):
        raise InvalidInputError(f"key_columns must not repeat a column. Got {list(keys)!r}.")
    return keys


def _check_one_schema(files: Sequence[Path]) -> None:
    """Every file must have the first file's columns and types (DuckDB would silently cast)."""

    def columns(path: Path) -> list[tuple[str, Any]]:
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(
                f"cannot read the Parquet file {path}: {exc}",
                hint="re-stage the dataset; the file is damaged or not Parquet",
            ) from exc
        return [
            (f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in schema
        ]

    expected = columns(files[0])
    for path in files[1:]:
        found = columns(path)
        if found != expected:
            raise DataError(
                f"the Parquet files of one dataset must share one schema: {path.name} has "
                f"{_render(found)}, {files[0].name} has {_render(expected)}",
                hint="write every staged file with the same Arrow schema (names, order, types)",
            )


def _render(columns: list[tuple[str, Any]]) -> str:
    return "[" + ", ".join(f"{name}: {kind}" for name, kind in columns) + "]"


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class _ColumnStreams:
    """The validity, values and lengths sha256 streams of one column."""

    def __init__(self) -> None:
        self.validity = hashlib.sha256()
        self.values = hashlib.sha256()
        self.lengths = hashlib.sha256()

    def digest(self) -> bytes:
        return self.validity.digest() + self.values.digest() + self.lengths.digest()

    def update(self, column: Any) -> None:
        array = column
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        kind = array.type
        n = len(array)
        if n == 0:
            return
        valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
        self.validity.update(valid.astype(np.uint8).tobytes())
        if pa.types.is_null(kind):
            return
        if pa.types.is_boolean(kind):
            values = pc.fill_null(array, False).to_numpy(zero_copy_only=False)
            self.values.update(np.asarray(values, dtype=np.uint8).tobytes())
        elif pa.types.is_integer(kind):
            self._integers(array, kind.bit_width, signed=pa.types.is_signed_integer(kind))
        elif pa.types.is_floating(kind):
            floats = np.asarray(
                pc.fill_null(array.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False),
                dtype="<f8",
            )
            floats = floats + 0.0  # -0.0 + 0.0 == +0.0
            floats[np.isnan(floats)] = np.nan
            self.values.update(floats.tobytes())
        elif pa.types.is_temporal(kind) and not pa.types.is_interval(kind):
            width = kind.bit_width
            self._integers(array.view(pa.int32() if width == 32 else pa.int64()), width, True)
        elif pa.types.is_decimal(kind) or pa.types.is_fixed_size_binary(kind):
            width = kind.byte_width
            raw = np.frombuffer(
                array.buffers()[1], dtype=np.uint8, count=n * width, offset=array.offset * width
            ).reshape(n, width)
            raw = np.where(valid[:, None], raw, 0).astype(np.uint8)
            self.values.update(raw.tobytes())
        elif _is_binary_like(kind):
            self._binary(array)
        else:
            self._python_values(array, valid)

    def _integers(self, array: Any, bit_width: int, signed: bool) -> None:
        dtype = f"<{'i' if signed else 'u'}{bit_width // 8}"
        values = pc.fill_null(array, 0).to_numpy(zero_copy_only=False)
        self.values.update(np.asarray(values, dtype=dtype).tobytes())

    def _binary(self, array: Any) -> None:
        large = array.cast(pa.large_binary())
        large = pc.fill_null(large, pa.scalar(b"", pa.large_binary()))
        n = len(large)
        offsets = np.frombuffer(
            large.buffers()[1], dtype="<i8", count=n + 1, offset=large.offset * 8
        )
        self.lengths.update(np.diff(offsets).astype("<i8").tobytes())
        data = large.buffers()[2]
        if data is not None and offsets[-1] > offsets[0]:
            self.values.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])

    def _python_values(self, array: Any, valid: Any) -> None:
        encoded = [
            repr(value).encode() if ok else b""
            for value, ok in zip(array.to_pylist(), valid, strict=True)
        ]
        self.lengths.update(np.asarray([len(e) for e in encoded], dtype="<i8").tobytes())
        self.values.update(b"".join(encoded))


def _is_binary_like(kind: Any) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_binary_view(kind)
    )
