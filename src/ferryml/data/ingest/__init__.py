"""Ingestion, reading half: sources streamed as Arrow batches of the project's schema, and
pseudonyms for its PII columns (:mod:`ferryml.data.pseudonymize`).

    >>> import tempfile, pathlib
    >>> from ferryml.config.schema import ColumnSpec
    >>> from ferryml.data.ingest import CsvSource, arrow_schema, open_source
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

from typing import TYPE_CHECKING

from ferryml._lazy import lazy_exports

# Imported now, not on first use: the function is named like its module, which would
# otherwise shadow it once imported. It needs only pyarrow.
from ferryml.data.ingest.arrow_schema import ARROW_TYPES, arrow_schema

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from ferryml.data.ingest.sources import (
        READERS,
        CsvSource,
        ParquetSource,
        PostgresSource,
        SourceConfig,
        SourceReader,
        open_source,
    )

# Names load on first use: the config loader imports the config models of this package,
# and a command (or a spawned worker) that only reads a config should not pay for pandas.
_EXPORTS = {
    "CsvSource": "ferryml.data.ingest.sources",
    "ParquetSource": "ferryml.data.ingest.sources",
    "PostgresSource": "ferryml.data.ingest.sources",
    "READERS": "ferryml.data.ingest.sources",
    "SourceConfig": "ferryml.data.ingest.sources",
    "SourceReader": "ferryml.data.ingest.sources",
    "open_source": "ferryml.data.ingest.sources",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

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
