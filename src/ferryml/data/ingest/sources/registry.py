"""Short names to readers, and the one place a source config becomes a reader.

Nothing else branches on a format name: a new backend is a config with a ``format`` literal, a
:class:`~ferryml.data.ingest.sources.base.SourceReader` subclass and one line in each of
:data:`SourceConfig` and :data:`READERS`.

    >>> from pathlib import Path
    >>> reader = open_source(CsvSource(path=Path("raw/tx.csv")), base_dir=Path("/project"))
    >>> reader.describe()["path"]
    '/project/raw/tx.csv'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from ferryml.data.ingest.sources.base import SourceReader
from ferryml.data.ingest.sources.csv import CsvReader, CsvSource
from ferryml.data.ingest.sources.parquet import ParquetReader, ParquetSource
from ferryml.data.ingest.sources.postgres import PostgresReader, PostgresSource

SourceConfig = Annotated[ParquetSource | CsvSource | PostgresSource, Field(discriminator="format")]
"""A source block of the project config, told apart by its ``format`` key."""

READERS: dict[str, type[SourceReader]] = {
    "parquet": ParquetReader,
    "csv": CsvReader,
    "postgres": PostgresReader,
}
"""Format name to reader class; each class takes its own config model."""


def open_source(
    config: ParquetSource | CsvSource | PostgresSource, base_dir: Path | None = None
) -> SourceReader:
    """The reader of ``config``, relative paths resolved against ``base_dir`` (the project root).

    Nothing is opened yet: a missing file or an unreachable server surfaces on ``batches()``.
    """
    reader_type: Any = READERS[config.format]
    reader: SourceReader = reader_type(config.resolve(base_dir))
    return reader


__all__ = ["READERS", "SourceConfig", "open_source"]
