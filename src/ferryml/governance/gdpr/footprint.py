"""A subject's footprint: the ids that lead from the person to data not keyed by them.

Rows keyed by the subject's own column are found directly. Other stores key the same person's
data by something else: window state and online rows by card, the labels table by event id. The
footprint collects, from every table holding a subject column, the values of the id and entity
columns in the subject's rows that **no other row** holds (a merchant id is shared, a card is
the subject's own), and the event ids of the subject's scoring requests::

    >>> import pyarrow as pa
    >>> from ferryml.governance.gdpr.subject import Subject
    >>> subject = Subject.resolve("C1", columns=("customer_id",), key=b"k" * 32)
    >>> tracer = FootprintTracer(subject, id_column="tx", entity_columns=("card", "shop"))
    >>> tracer.add_table(pa.table({"tx": ["t1", "t2"], "customer_id": ["C1", "C2"],
    ...                           "card": ["K1", "K2"], "shop": ["S", "S"]}))
    >>> found = tracer.footprint()
    >>> sorted(found.event_ids), {c: sorted(v) for c, v in found.linked.items()}
    (['t1'], {'card': ['K1']})

Stores are erased downstream first (prediction logs, window state, feature builds) and their
sources last (dataset versions, raw files): a run that stops half-way leaves the sources, so
the next run finds the same footprint again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ferryml.governance.gdpr.selection import ValueSelection, as_text
from ferryml.governance.gdpr.subject import Subject


@dataclass(frozen=True)
class Footprint:
    """The subject and the ids only their data holds."""

    subject: Subject
    id_column: str | None = None
    event_ids: frozenset[str] = frozenset()
    linked: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per entity column: the values only the subject's rows hold (their cards, devices…)."""

    def values(self, column: str) -> frozenset[str]:
        """What selects a row by ``column``: the subject's values, linked values, event ids."""
        if column in self.subject.columns:
            return self.subject.values
        if column == self.id_column:
            return self.event_ids
        return self.linked.get(column, frozenset())

    def selection(self) -> ValueSelection:
        """Rows holding the subject, one of their own entities or one of their events."""
        values = dict.fromkeys(self.subject.columns, self.subject.values)
        values.update(self.linked)
        if self.id_column is not None and self.event_ids:
            values[self.id_column] = self.event_ids
        return ValueSelection(values, record_values=self.tokens)

    @property
    def tokens(self) -> frozenset[str]:
        """Every value that names the subject or their data."""
        linked = {v for values in self.linked.values() for v in values}
        return self.subject.values | self.event_ids | linked

    def counts(self) -> dict[str, int]:
        """How many ids of each kind the footprint holds (no values: safe to record)."""
        return {"event_ids": len(self.event_ids)} | {
            f"linked.{column}": len(values) for column, values in sorted(self.linked.items())
        }


class FootprintTracer:
    """Accumulates a footprint from tables and records that hold the subject."""

    def __init__(
        self, subject: Subject, *, id_column: str | None, entity_columns: Iterable[str]
    ) -> None:
        self.subject = subject
        self.id_column = id_column
        own = set(subject.columns)
        linked = [c for c in dict.fromkeys(entity_columns) if c not in own]
        self._columns = [c for c in (id_column, *linked) if c is not None and c not in own]
        self._mine: dict[str, set[str]] = {c: set() for c in self._columns}
        self._others: dict[str, set[str]] = {c: set() for c in self._columns}
        self._request_ids: set[str] = set()
        self._find = ValueSelection(dict.fromkeys(subject.columns, subject.values))

    @property
    def columns(self) -> frozenset[str]:
        """The columns to read from a table for :meth:`add_table`."""
        return frozenset((*self.subject.columns, *self._columns))

    def add_table(self, table: pa.Table) -> None:
        """Take the ids of the subject's rows of ``table`` (a table without a subject column
        says nothing about whose rows are whose, and is ignored)."""
        mask = self._find.mask(table)
        if mask is None:
            return
        others = pc.invert(mask)
        for column in self._columns:
            if column not in table.column_names:
                continue
            text = as_text(table.column(column))
            self._mine[column].update(_distinct(text.filter(mask)))
            self._others[column].update(_distinct(text.filter(others)))

    def add_event_ids(self, ids: Iterable[str]) -> None:
        """Event ids of the subject's own scoring requests (they may be in no table)."""
        self._request_ids.update(i for i in ids if i)

    def footprint(self) -> Footprint:
        exclusive = {c: frozenset(self._mine[c] - self._others[c]) for c in self._columns}
        event_ids: frozenset[str] = frozenset()
        if self.id_column is not None:
            event_ids = exclusive.pop(self.id_column, frozenset()) | (
                self._request_ids - self._others.get(self.id_column, set())
            )
        linked = {c: values for c, values in exclusive.items() if values}
        return Footprint(self.subject, self.id_column, event_ids, linked)


def _distinct(values: pa.Array | pa.ChunkedArray) -> list[str]:
    return [v for v in pc.unique(values).to_pylist() if v is not None]


__all__ = ["Footprint", "FootprintTracer"]
