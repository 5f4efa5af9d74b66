"""The Arrow schema of a project's columns: the one type mapping every reader casts to.

>>> from ferryml.config.schema import ColumnSpec
>>> arrow_schema({"id": ColumnSpec(type="string", role="id"),
...               "at": ColumnSpec(type="timestamp", role="event_time"),
...               "note": ColumnSpec(type="string", nullable=True)})
id: string not null
at: timestamp[us, tz=UTC] not null
note: string
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from ferryml.config.schema import ColumnSpec, ColumnType

ARROW_TYPES: Mapping[ColumnType, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}
"""Logical column type to Arrow type. Timestamps are microseconds in UTC, as the generator's."""


def arrow_schema(columns: Mapping[str, ColumnSpec]) -> pa.Schema:
    """The Arrow schema of ``columns``, in their order, with ``nullable`` from each spec."""
    return pa.schema(
        [
            pa.field(name, ARROW_TYPES[spec.type], nullable=spec.nullable)
            for name, spec in columns.items()
        ]
    )


__all__ = ["ARROW_TYPES", "arrow_schema"]
