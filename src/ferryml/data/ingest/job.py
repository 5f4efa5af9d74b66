"""One ingestion run: read a source in chunks, pseudonymize PII, stage, publish a version.

Raw values of PII columns exist only in memory, inside one chunk: the staged Parquet files
already hold pseudonyms. Nothing is visible in the store until the whole input was read and
its version published atomically; a failure (bad input, a kill) leaves only a staging
directory under the store's ``.staging``, never a partial version.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ferryml.config.schema import SchemaConfig
from ferryml.data.ingest.arrow_schema import arrow_schema
from ferryml.data.ingest.sources import SourceConfig, open_source
from ferryml.data.pseudonymize import Pseudonymizer
from ferryml.data.versioning import DatasetStore, DatasetVersion
from ferryml.errors import DataError

RowProgress = Callable[[int], None]
"""Called with the number of rows read so far."""


@dataclass(frozen=True)
class IngestResult:
    """What an ingestion produced: the version, and whether it was new."""

    version: DatasetVersion
    created: bool
    rows: int
    source: dict[str, Any]


def key_columns(schema: SchemaConfig) -> list[str]:
    """The columns that identify a row: the ``id`` column, else entities and event time."""
    return schema.columns_with_role("id") or [
        *schema.columns_with_role("entity"),
        *schema.columns_with_role("event_time"),
    ]


def ingest_dataset(
    dataset: str,
    source: SourceConfig,
    *,
    base_dir: Path,
    schema: SchemaConfig,
    store: DatasetStore,
    chunk_rows: int,
    pii_key: bytes | None,
    progress: RowProgress | None = None,
) -> IngestResult:
    """Read ``source`` into a new (or the existing identical) version of ``dataset``."""
    pii = schema.pii_columns
    if pii and pii_key is None:
        raise DataError(f"dataset {dataset!r} has PII columns {pii} but no key was given")
    pseudonymizer = Pseudonymizer(pii_key) if pii_key is not None else None
    reader = open_source(source, base_dir=base_dir)
    target = arrow_schema(schema.columns)
    staged = store.new_staging_dir()
    try:
        rows = 0
        for index, batch in enumerate(reader.batches(target, chunk_rows)):
            if pseudonymizer is not None and pii:
                batch = pseudonymizer.apply(batch, pii)
            pq.write_table(pa.Table.from_batches([batch]), staged / f"part-{index:06d}.parquet")
            rows += batch.num_rows
            if progress is not None:
                progress(rows)
        description = reader.describe()
        if rows == 0:
            raise DataError(
                f"source of dataset {dataset!r} has no rows: {description}",
                hint="check the source path or query; an empty input is never published",
            )
        result = store.publish(
            dataset,
            staged,
            key_columns=key_columns(schema),
            source=description,
            extra={"pii_columns": pii, "pseudonymization": "hmac-sha256" if pii else None},
        )
    finally:
        if staged.exists():  # published versions were moved away; anything left is ours
            shutil.rmtree(staged, ignore_errors=True)
    return IngestResult(
        version=result.version, created=result.created, rows=rows, source=description
    )


__all__ = ["IngestResult", "ingest_dataset", "key_columns"]
