"""Cast a batch read from a source to the target schema; a value that does not fit is located.

Readers hand over batches with the source's own types (strings from CSV, ``decimal`` from
PostgreSQL, whatever a Parquet file holds); :func:`conform` selects the target's columns in its
order and casts each. A failing cast is searched by bisection (``log2(n)`` casts of halving
slices, error path only) for the first bad value, which the error names with its column, its
row (``row_label``) and the expected type.

Strings cast to ``timestamp[us, tz=UTC]`` may mix both forms: values with a zone offset
(``…Z``, ``…+02:00``) are converted to UTC, values without one are read as UTC.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ferryml.data.ingest.sources.base import missing_columns_error
from ferryml.errors import DataError

RowLabel = Callable[[int], str]
"""Names the row at a 0-based index of the source, e.g. ``"line 17"`` or ``"row 16"``."""

_ZONE = r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)\s*$"


def conform(
    batch: pa.RecordBatch,
    schema: pa.Schema,
    *,
    where: str,
    first_row: int,
    row_label: RowLabel,
) -> pa.RecordBatch:
    """``batch`` with the columns of ``schema``, in its order, cast to its types.

    ``where`` names the source (file, table); ``first_row`` is the index of the batch's first
    row in that source, so errors point at the right row. Columns of ``batch`` that are not in
    ``schema`` are left out (readers report them); missing ones are an error naming them all.
    """
    present = set(batch.schema.names)
    missing = [name for name in schema.names if name not in present]
    if missing:
        raise missing_columns_error(where, missing, batch.schema.names)
    arrays = [
        cast_column(
            batch.column(field.name),
            field,
            where=where,
            first_row=first_row,
            row_label=row_label,
        )
        for field in schema
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def cast_column(
    array: pa.Array, field: pa.Field, *, where: str, first_row: int, row_label: RowLabel
) -> pa.Array:
    """``array`` cast to ``field.type``; a value that does not fit is a located DataError."""
    if array.type == field.type:
        return array
    try:
        return _cast(array, field.type)
    except pa.ArrowNotImplementedError as exc:
        raise DataError(
            f"{where}: column {field.name!r} has type {array.type}, which cannot be converted "
            f"to {field.type}",
            hint=f"write {field.name!r} as {field.type} in the source, "
            "or change its type in the project's schema",
        ) from exc
    except pa.ArrowInvalid as exc:
        index = _first_bad(array, field.type)
        value = array[index].as_py() if index is not None else None
        at = row_label(first_row + index) if index is not None else "a row"
        raise DataError(
            f"{where}, {at}: column {field.name!r} has value {value!r}, which is not a valid "
            f"{field.type} ({exc})",
            hint=f"fix the value in the source, or change the type of {field.name!r} "
            "in the project's schema",
        ) from exc


def _cast(array: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(target) and target.tz is not None and pa.types.is_string(array.type):
        return _strings_to_utc(array, target)
    return pc.cast(array, target, safe=True)


def _strings_to_utc(array: pa.Array, target: pa.DataType) -> pa.Array:
    has_zone = pc.fill_null(pc.match_substring_regex(array, _ZONE), False)
    aware = pc.cast(pc.if_else(has_zone, array, None), target)
    naive = pc.cast(pc.if_else(has_zone, None, array), pa.timestamp(target.unit))
    return pc.if_else(has_zone, aware, pc.cast(naive, target))


def _first_bad(array: pa.Array, target: pa.DataType) -> int | None:
    """Index of the first value of ``array`` that does not cast, by bisection."""

    def fails(offset: int, length: int) -> bool:
        try:
            _cast(array.slice(offset, length), target)
        except pa.ArrowInvalid:
            return True
        return False

    low, high = 0, len(array)
    if high == 0 or not fails(low, high):
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if fails(low, middle - low):
            high = middle
        else:
            low = middle
    return low


__all__ = ["RowLabel", "cast_column", "conform"]
