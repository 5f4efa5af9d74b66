"""Which rows a GDPR rewrite touches: the subject's (erasure, access) or the expired (retention).

Every store that rewrites rows asks a :class:`RowSelection` two questions: which rows of an
Arrow table are selected (:meth:`~RowSelection.mask`), and whether one JSON record of the
prediction log is (:meth:`~RowSelection.selects_record`). What happens to selected rows is the
selection's ``action``: ``delete`` drops them, ``anonymize`` empties its ``blank`` columns::

    >>> import pyarrow as pa
    >>> rows = pa.table({"customer_id": ["C1", "C2", "C1"], "amount": [1.0, 2.0, 3.0]})
    >>> chosen = ValueSelection({"customer_id": frozenset({"C1"})})
    >>> chosen.mask(rows).to_pylist()
    [True, False, True]
    >>> chosen.selects_record(b'{"request": {"customer_id": "C1"}}')
    True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc

Action = Literal["delete", "anonymize"]


class RowSelection(ABC):
    """Selects rows of tables and records of the prediction log."""

    action: Action = "delete"
    blank: frozenset[str] = frozenset()
    """Columns an ``anonymize`` action empties in the selected rows."""

    @property
    @abstractmethod
    def columns(self) -> frozenset[str]:
        """The columns :meth:`mask` reads (files are read for these only)."""

    @abstractmethod
    def mask(self, table: pa.Table) -> pa.Array | None:
        """A boolean per row, True where selected; None when ``table`` has none of
        :attr:`columns` (so nothing of it can be selected)."""

    @abstractmethod
    def selects_record(self, line: bytes) -> bool:
        """Whether one JSON line of the prediction log is selected."""

    def applies_to(self, names: Iterable[str]) -> bool:
        return not self.columns.isdisjoint(names)


class ValueSelection(RowSelection):
    """Rows holding one of the given values in the given columns (compared as text)."""

    def __init__(self, values: Mapping[str, frozenset[str]], record_values: Iterable[str] = ()):
        """``values``: per column, the values selecting a row; ``record_values``: values that
        select a prediction-log record wherever they stand as a JSON string (default: every
        value of ``values``)."""
        self.values = {column: frozenset(v) for column, v in values.items() if v}
        tokens = set(record_values) or {v for vs in self.values.values() for v in vs}
        self._tokens = tuple(orjson.dumps(value) for value in sorted(tokens))

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(self.values)

    def mask(self, table: pa.Table) -> pa.Array | None:
        result: pa.Array | None = None
        for column, values in self.values.items():
            if column not in table.column_names:
                continue
            text = as_text(table.column(column))
            hit = pc.fill_null(
                pc.is_in(text, value_set=pa.array(sorted(values), pa.string())), False
            )
            result = hit if result is None else pc.or_(result, hit)
        return None if result is None else _array(result)

    def selects_record(self, line: bytes) -> bool:
        return any(token in line for token in self._tokens)

    @property
    def record_tokens(self) -> tuple[bytes, ...]:
        """The JSON strings (quotes included) that select a record."""
        return self._tokens


class OlderThan(RowSelection):
    """Rows whose ``column`` is before ``cutoff`` (storage limitation), and records whose
    ``record_field`` is."""

    def __init__(
        self,
        column: str,
        cutoff: datetime,
        *,
        record_field: str = "ts",
        action: Action = "delete",
        blank: Iterable[str] = (),
    ) -> None:
        self.column = column
        self.cutoff = cutoff
        self.record_field = record_field
        self.action = action
        self.blank = frozenset(blank)

    @property
    def columns(self) -> frozenset[str]:
        return frozenset({self.column})

    def mask(self, table: pa.Table) -> pa.Array | None:
        if self.column not in table.column_names:
            return None
        column = table.column(self.column)
        if not pa.types.is_timestamp(column.type):
            column = pc.cast(as_text(column), pa.timestamp("us", tz="UTC"))
        elif column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        cutoff = pa.scalar(self.cutoff, pa.timestamp("us", tz="UTC"))
        return _array(pc.fill_null(pc.less(column, cutoff), False))

    def selects_record(self, line: bytes) -> bool:
        try:
            record: Any = orjson.loads(line)
            value = record.get(self.record_field)
            when = datetime.fromisoformat(str(value))
        except (orjson.JSONDecodeError, AttributeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.cutoff.tzinfo)
        return when < self.cutoff


def as_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A column as strings (ids may be stored as integers or dictionary-encoded)."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    if pa.types.is_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _array(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], pa.bool_())
    return values


__all__ = ["Action", "OlderThan", "RowSelection", "ValueSelection", "as_text"]
