"""Validate data already stored (a published dataset version) with the current suite.

Rules change: a version accepted last month can be checked against today's rules without
ingesting it again. Nothing is moved or rewritten; the result is a summary (and Data Docs),
where ``quarantined`` counts the rows today's ``warn`` rules would set aside.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ferryml.data.validate.chunk import ChunkValidator, validate_chunk
from ferryml.data.validate.report import SummaryBuilder, ValidationSummary
from ferryml.data.validate.whole import validate_whole


def validate_stored(
    directory: Path,
    validator: ChunkValidator,
    *,
    as_of: datetime,
    chunk_rows: int,
    reference: pa.Table | None = None,
) -> tuple[ValidationSummary, pa.Table | None]:
    """Run the row rules chunk by chunk and the whole-data rules over ``directory/*.parquet``.

    Returns the summary and the first chunk (a sample for Data Docs), or None when empty.
    """
    builder = SummaryBuilder(validator)
    first: pa.Table | None = None
    offset = 0
    for path in sorted(directory.glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            chunk = pa.Table.from_batches([batch])
            builder.add_chunk(validate_chunk(chunk, validator, row_offset=offset, as_of=as_of))
            first = chunk if first is None else first
            offset += chunk.num_rows
    whole = validate_whole(directory, validator.whole_checks, reference=reference)
    would_quarantine = sum(d.rows.num_rows for d in whole.duplicates if d.severity == "warn")
    builder.add_whole(whole, quarantined=would_quarantine)
    return builder.build(), first
