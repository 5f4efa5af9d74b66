"""Data that arrives with time: the generated days land in the ingested source as the story
reaches them, and the same days are what the API is sent.

``ferry quickstart`` generates the whole period once, into ``data/raw/generated``; the
project's source (``data/raw/synth``) holds only the days the story has reached, as a feed
would: ingesting the future would quarantine it (the not-in-future rule) or, worse, let the
first model train on it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from ferryml.features.build import read_events
from ferryml.features.graph import FeatureSet

PARTITION_PREFIX = "date="


@dataclass(frozen=True)
class Arrival:
    """The generated data and the source it arrives in."""

    generated: Path
    """Where the generator wrote the whole period (``transactions/date=…`` + entity tables)."""
    source: Path
    """The directory the project's source reads (``data.sources``)."""
    table: str = "transactions"

    def days(self, first: date, end: date) -> list[Path]:
        """The generated day partitions of ``[first, end)``, in order."""
        return [
            part
            for part in sorted((self.generated / self.table).iterdir())
            if part.name.startswith(PARTITION_PREFIX)
            and first <= date.fromisoformat(part.name.removeprefix(PARTITION_PREFIX)) < end
        ]

    def land(self, until: datetime) -> int:
        """Copy every generated day before ``until`` that the source lacks (and the entity
        tables, once); returns how many days landed."""
        self.source.mkdir(parents=True, exist_ok=True)
        for table in sorted(self.generated.glob("*.parquet")):
            if not (self.source / table.name).exists():
                shutil.copy2(table, self.source / table.name)
        landed = 0
        for part in self.days(date.min, until.date()):
            target = self.source / self.table / part.name
            if not target.exists():
                partial = target.with_name(f".{part.name}.partial")
                shutil.rmtree(partial, ignore_errors=True)
                shutil.copytree(part, partial)
                partial.rename(target)  # a day lands whole or not at all
                landed += 1
        return landed

    def events(self, feature_set: FeatureSet, start: datetime, end: datetime) -> pa.Table:
        """The generated events of ``[start, end)`` as the API is sent them, in time order."""
        import pyarrow.compute as pc

        last = (end - timedelta(microseconds=1)).date()
        days = self.days(start.date(), last + timedelta(days=1))
        if not days:
            return read_events(feature_set, self.generated / self.table).slice(0, 0)
        table = pa.concat_tables([read_events(feature_set, day) for day in days])
        column = table.column(feature_set.event_time_column)
        return table.filter(pc.and_(pc.greater_equal(column, start), pc.less(column, end)))


__all__ = ["Arrival"]
