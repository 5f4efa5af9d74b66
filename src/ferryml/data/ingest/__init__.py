"""Ingestion, reading half: sources streamed as Arrow batches of the project's schema, and
pseudonyms for its PII columns (:mod:`ferryml.data.pseudonymize`).

    >>> import tempfile, pathlib
    >>> from ferryml.config.schema import ColumnSpec
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "tx.csv").write_text("id,amount,extra\\ntx-1,12.5,x\\ntx-2,3,y\\n")
    >>> schema = arrow_schema({"id": ColumnSpec(type="string"), "amount": ColumnSpec(type="float")})
    >>> reader = open_source(CsvSource(path="tx.csv"), base_dir=root)
    >>> [batch.to_pydict() for batch in reader.batches(schema, chunk_rows=100)]
    [{'id': ['tx-1', 'tx-2'], 'amount': [12.5, 3.0]}]
    >>> reader.describe()["dropped_columns"]
    ['extra']
"""

from __future__ import annotations

from ferryml.data.ingest.arrow_schema import ARROW_TYPES, arrow_schema
from ferryml.data.ingest.sources import (
    READERS,
    CsvSource,
    ParquetSource,
    PostgresSource,
    SourceConfig,
    SourceReader,
    open_source,
)

__all__ = [
    "ARROW_TYPES",
    "READERS",
    "CsvSource",
    "ParquetSource",
    "PostgresSource",
    "SourceConfig",
    "SourceReader",
    "arrow_schema",
    "open_source",
]
