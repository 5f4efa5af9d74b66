"""Where raw data comes from: one backend per module behind :class:`SourceReader`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryml._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from ferryml.data.ingest.sources.base import SourceReader
    from ferryml.data.ingest.sources.csv import CsvReader, CsvSource
    from ferryml.data.ingest.sources.parquet import ParquetReader, ParquetSource
    from ferryml.data.ingest.sources.postgres import PostgresReader, PostgresSource
    from ferryml.data.ingest.sources.registry import READERS, SourceConfig, open_source

# Names load on first use: the config loader imports config models below this package,
# and a command (or a spawned process) that only reads a config should not pay for the rest.
_EXPORTS = {
    "CsvReader": "ferryml.data.ingest.sources.csv",
    "CsvSource": "ferryml.data.ingest.sources.csv",
    "ParquetReader": "ferryml.data.ingest.sources.parquet",
    "ParquetSource": "ferryml.data.ingest.sources.parquet",
    "PostgresReader": "ferryml.data.ingest.sources.postgres",
    "PostgresSource": "ferryml.data.ingest.sources.postgres",
    "READERS": "ferryml.data.ingest.sources.registry",
    "SourceConfig": "ferryml.data.ingest.sources.registry",
    "SourceReader": "ferryml.data.ingest.sources.base",
    "open_source": "ferryml.data.ingest.sources.registry",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "READERS",
    "CsvReader",
    "CsvSource",
    "ParquetReader",
    "ParquetSource",
    "PostgresReader",
    "PostgresSource",
    "SourceConfig",
    "SourceReader",
    "open_source",
]
