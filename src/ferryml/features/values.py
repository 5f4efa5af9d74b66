"""How feature inputs are represented: the same conventions in batch and in one request.

- strings: ``str`` or ``None`` (object arrays in batch);
- numbers: ``float``, NaN when missing (float64 arrays);
- timestamps and dates: float microseconds since the epoch, UTC, NaN when missing (exact for
  integers below 2**53 µs, i.e. until the year 2255).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ferryml.errors import InvalidInputError

Columns = dict[str, npt.NDArray[Any]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def arrow_to_columns(table: pa.Table, names: list[str] | None = None) -> Columns:
    """The columns of ``table`` in ferryml's feature-input representation."""
    columns: Columns = {}
    for name in names or table.column_names:
        columns[name] = arrow_to_array(table.column(name))
    return columns


def arrow_to_array(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[Any]:
    """One Arrow column as a numpy array in the feature-input representation."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
        return _float(micros)
    if pa.types.is_date(kind):
        days = pc.cast(pc.cast(column, pa.date32()), pa.int32())
        return _float(days) * 86_400_000_000.0
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return np.asarray(pc.cast(column, pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _float(column)
    raise InvalidInputError(f"columns of type {kind} cannot feed features")


def _float(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.float64]:
    return np.asarray(
        pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )


def to_micros(value: datetime | date) -> float:
    """A datetime (naive = UTC) or a date (midnight UTC) as float microseconds since the epoch."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return float((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def row_value(value: Any, value_type: str) -> Any:
    """One request value in the representation of its type (``value_type`` from the schema)."""
    if value is None:
        return None if value_type == "string" else math.nan
    if value_type == "string":
        return value if isinstance(value, str) else str(value)
    if value_type in ("timestamp", "date"):
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime | date):
            return to_micros(value)
        return float(value)
    return float(value)


def row_values(event: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """The values of ``event`` whose names are in ``types``, converted; absent ones missing."""
    return {name: row_value(event.get(name), kind) for name, kind in types.items()}
