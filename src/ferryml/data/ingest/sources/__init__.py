"""Where raw data comes from: one backend per module behind :class:`SourceReader`."""

from __future__ import annotations

from ferryml.data.ingest.sources.base import SourceReader
from ferryml.data.ingest.sources.csv import CsvReader, CsvSource
from ferryml.data.ingest.sources.parquet import ParquetReader, ParquetSource
from ferryml.data.ingest.sources.postgres import PostgresReader, PostgresSource
from ferryml.data.ingest.sources.registry import READERS, SourceConfig, open_source

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
