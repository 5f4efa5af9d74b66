"""What every source reader is: describe yourself, stream batches cast to a schema.

A backend implements two methods, ``_describe`` and ``_batches`` (Kedro's ``_load`` pattern);
the public :meth:`SourceReader.batches` around them counts rows, records the dropped columns,
rejects a source with no rows and wraps any error that is not ferryml's own in a
:class:`~ferryml.errors.DataError` naming the source (``raise … from exc``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from ferryml.errors import DataError, FerryError, InvalidInputError

logger = logging.getLogger("ferryml.data.ingest")


class SourceReader(ABC):
    """Streams one source's rows as Arrow batches of the target schema.

    ``describe()`` is for lineage and the ingestion manifest; after :meth:`batches` has run it
    also says how many rows were read, which input columns were dropped because the schema does
    not name them, and how many nulls arrived in columns the schema declares non-nullable (they
    are passed on: rejecting them is the validation stage's call, which counts all of them).
    """

    format: ClassVar[str]
    """The short name in config (``format: parquet``) and in :data:`READERS`."""

    def __init__(self) -> None:
        self.rows_read = 0
        self.dropped_columns: list[str] = []
        self.nulls_in_non_nullable: dict[str, int] = {}

    @property
    @abstractmethod
    def where(self) -> str:
        """The source as a person finds it: a path, ``table t on postgresql://…``."""

    @abstractmethod
    def _describe(self) -> dict[str, Any]:
        """The source's own facts: path, files with sizes, table, … (JSON-serializable)."""

    @abstractmethod
    def _batches(self, schema: pa.Schema, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        """Batches of at most ``chunk_rows`` rows, already cast to ``schema`` (see ``conform``)."""

    def describe(self) -> dict[str, Any]:
        """Format, source facts and, once read, rows, dropped columns and null counts."""
        return {
            "format": self.format,
            **self._describe(),
            "rows_read": self.rows_read,
            "dropped_columns": list(self.dropped_columns),
            "nulls_in_non_nullable": dict(self.nulls_in_non_nullable),
        }

    def batches(self, schema: pa.Schema, chunk_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream the source as batches of at most ``chunk_rows`` rows with ``schema``'s columns."""
        if chunk_rows < 1:
            raise InvalidInputError(f"chunk_rows must be an int >= 1. Got {chunk_rows}.")
        self.rows_read = 0
        self.dropped_columns = []
        self.nulls_in_non_nullable = {}
        try:
            for batch in self._batches(schema, chunk_rows):
                self._count_nulls(batch)
                self.rows_read += batch.num_rows
                yield batch
        except FerryError:
            raise
        except Exception as exc:
            raise DataError(
                f"reading {self.where} failed: {type(exc).__name__}: {exc}",
                hint="check that the source is readable and in the configured format",
            ) from exc
        if self.rows_read == 0:
            raise DataError(
                f"{self.where} holds no rows",
                hint="point the source at data with at least one row",
            )

    def _drop_extras(self, found: Iterable[str], schema: pa.Schema) -> None:
        """Record the input columns the schema does not name; they are not read on."""
        wanted = set(schema.names)
        for name in found:
            if name not in wanted and name not in self.dropped_columns:
                self.dropped_columns.append(name)
                logger.warning(
                    "column %r of %s is not in the schema; it is dropped", name, self.where
                )

    def _count_nulls(self, batch: pa.RecordBatch) -> None:
        for field, column in zip(batch.schema, batch.columns, strict=True):
            if not field.nullable and column.null_count:
                counts = self.nulls_in_non_nullable
                counts[field.name] = counts.get(field.name, 0) + column.null_count


def missing_columns_error(where: str, missing: list[str], found: list[str]) -> DataError:
    """The error for a source that lacks columns of the schema: all of them, and what it has."""
    return DataError(
        f"{where}: missing column(s) {', '.join(missing)}; found {', '.join(found) or 'none'}",
        hint="add the columns to the data, or remove them from the project's schema",
    )


def resolve_path(path: Path, base_dir: Path | None) -> Path:
    """``path`` made absolute against ``base_dir`` (the project's root) when it is relative."""
    path = path.expanduser()
    if path.is_absolute() or base_dir is None:
        return path
    return Path(base_dir) / path


__all__ = ["SourceReader", "logger", "missing_columns_error", "resolve_path"]
