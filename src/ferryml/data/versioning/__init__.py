"""Dataset versioning and lineage: immutable, content-addressed snapshots of accepted data.

Each accepted dataset is a directory of Parquet files whose version id is the leading 16 hex
chars of its content hash (rows and schema, independent of file chunking and row order), with a
``manifest.json`` inside and a row in the platform DB. Publishing identical content again
returns the existing version and writes nothing.

    >>> from ferryml.data.versioning import DatasetStore, content_hash
"""

from __future__ import annotations

from ferryml.data.versioning.hashing import (
    HASH_FORMAT,
    ColumnSpec,
    ContentSummary,
    content_hash,
    summarize,
)
from ferryml.data.versioning.manifest import MANIFEST_FORMAT
from ferryml.data.versioning.model import (
    VERSION_CHARS,
    DatasetDiff,
    DatasetVersion,
    PublishResult,
    RetypedColumn,
    parse_ref,
    validate_dataset_name,
)
from ferryml.data.versioning.store import DatasetStore

__all__ = [
    "HASH_FORMAT",
    "MANIFEST_FORMAT",
    "VERSION_CHARS",
    "ColumnSpec",
    "ContentSummary",
    "DatasetDiff",
    "DatasetStore",
    "DatasetVersion",
    "PublishResult",
    "RetypedColumn",
    "content_hash",
    "parse_ref",
    "summarize",
    "validate_dataset_name",
]
