"""One ingestion run: read a source in chunks, pseudonymize PII, validate, stage, publish.

Raw values of PII columns exist only in memory, inside one chunk: everything written — staged
Parquet, quarantine, Data Docs, the validation summary — already holds pseudonyms. Each chunk
is validated by the project's Great Expectations suite: rows breaking a ``warn`` rule go to
quarantine with the rules they broke, a broken ``error`` rule rejects the whole input. Rules
over the whole input (unique keys, distribution) run on the staged data, so a duplicate key
across a chunk boundary is caught. Nothing is visible in the store until the whole input was
read and its version published atomically; a failure (bad input, rejection, a kill) leaves
only a staging directory, swept by the next run, never a partial version.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ferryml.config.schema import SchemaConfig
from ferryml.data.ingest.arrow_schema import arrow_schema
from ferryml.data.ingest.sources import SourceConfig, open_source
from ferryml.data.pseudonymize import Pseudonymizer
from ferryml.data.validate import (
    ChunkValidator,
    SummaryBuilder,
    ValidationSummary,
    quarantine_duplicates,
    validate_chunk,
    validate_whole,
    write_quarantine,
    write_summary,
)
from ferryml.data.versioning import DatasetStore, DatasetVersion
from ferryml.errors import DataError

RowProgress = Callable[[int], None]
"""Called with the number of rows read so far."""


@dataclass(frozen=True)
class IngestResult:
    """What an ingestion produced: the version, whether it was new, what validation did."""

    version: DatasetVersion
    created: bool
    rows: int
    source: dict[str, Any]
    validation: ValidationSummary | None = None
    quarantine_dir: Path | None = None
    quarantine_reasons: dict[str, int] | None = None
    data_docs: Path | None = None


@dataclass(frozen=True)
class Validation:
    """How to validate an ingestion: the suite, the clock reading, where reports go."""

    validator: ChunkValidator
    as_of: datetime
    quarantine_root: Path
    reports_root: Path


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
    validation: Validation | None = None,
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
    quarantined_dir = staged.with_name(staged.name + ".quarantine")
    summary_builder = SummaryBuilder(validation.validator) if validation else None
    docs_sample: pa.Table | None = None
    try:
        rows = 0
        batches = reader.batches(target, chunk_rows)
        if pseudonymizer is not None and pii:
            batches = (pseudonymizer.apply(batch, pii) for batch in batches)
        quarantined_parts: list[pa.Table] = []
        for index, chunk in enumerate(_regroup(batches, target, chunk_rows)):
            accepted = chunk
            if validation is not None and summary_builder is not None:
                verdict = validate_chunk(
                    chunk, validation.validator, row_offset=rows, as_of=validation.as_of
                )
                _reject_on_errors(dataset, verdict.errors)
                summary_builder.add_chunk(verdict)
                accepted = verdict.accepted
                if verdict.quarantined.num_rows:
                    quarantined_parts.append(verdict.quarantined)
                docs_sample = chunk if docs_sample is None else docs_sample
            _refuse_nulls(dataset, accepted, chunk, first_row=rows)
            pq.write_table(accepted, staged / f"part-{index:06d}.parquet")
            rows += chunk.num_rows
            if progress is not None:
                progress(rows)
        description = reader.describe()
        if rows == 0:
            raise DataError(
                f"source of dataset {dataset!r} has no rows: {description}",
                hint="check the source path or query; an empty input is never published",
            )
        summary = None
        if validation is not None and summary_builder is not None:
            whole = validate_whole(
                staged,
                validation.validator.whole_checks,
                reference=reference_table(store.latest(dataset), validation.validator),
            )
            _reject_on_errors(dataset, whole.errors)
            removed = quarantine_duplicates(staged, whole)
            summary_builder.add_whole(whole, quarantined=0 if removed is None else removed.num_rows)
            if removed is not None:
                quarantined_parts.append(removed)
            summary = summary_builder.build()
        result = store.publish(
            dataset,
            staged,
            key_columns=key_columns(schema),
            source=description,
            validation=None if summary is None else summary.model_dump(mode="json"),
            extra={"pii_columns": pii, "pseudonymization": "hmac-sha256" if pii else None},
        )
        reports = _write_reports(
            result.version, validation, summary, quarantined_parts, docs_sample
        )
    finally:
        for leftover in (staged, quarantined_dir):  # a published version was moved away
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    return IngestResult(
        version=result.version,
        created=result.created,
        rows=rows,
        source=description,
        validation=summary,
        **reports,
    )


def _reject_on_errors(dataset: str, errors: list[Any]) -> None:
    if errors:
        lines = "\n".join(f"  - {failure.render()}" for failure in errors)
        raise DataError(
            f"input of dataset {dataset!r} rejected: {len(errors)} error rule(s) broken; "
            f"nothing was published\n{lines}",
            hint="fix the source, or lower a rule's severity to `warn` to quarantine such rows",
        )


def _refuse_nulls(dataset: str, accepted: pa.Table, chunk: pa.Table, *, first_row: int) -> None:
    """Refuse nulls that reached a column the schema declares non-nullable.

    A ``not_null`` rule rejects or quarantines them first; without one, Parquet would refuse
    them with a bare Arrow error. ``chunk`` starts at row ``first_row`` of the source;
    ``accepted`` is what validation kept of it.
    """
    for field in accepted.schema:
        column = accepted.column(field.name)
        if field.nullable or not column.null_count:
            continue
        if accepted is chunk:  # nothing quarantined: the index is the row
            at = f"the first at row {first_row + pc.index(pc.is_null(column), True).as_py() + 1}"
        else:
            at = f"among rows {first_row + 1}-{first_row + chunk.num_rows}"
        raise DataError(
            f"input of dataset {dataset!r} rejected: column {field.name!r} is declared "
            f"non-nullable but {column.null_count} value(s) are missing ({at}); "
            "nothing was published",
            hint=f"fill the values, set `nullable: true` on {field.name!r} in the schema, or "
            "add a validation rule `{rule: not_null, severity: warn}` to quarantine such rows",
        )


def reference_table(version: DatasetVersion | None, validator: ChunkValidator) -> pa.Table | None:
    """The columns of ``version`` that distribution rules compare against, if any."""
    columns = sorted(
        {
            c
            for check in validator.whole_checks
            if check.rule.rule == "distribution"
            for c in check.columns
        }
    )
    if version is None or not columns:
        return None
    files = sorted(Path(version.path).glob("*.parquet"))
    return ds.dataset(files, format="parquet").to_table(columns=columns)


def _write_reports(
    version: DatasetVersion,
    validation: Validation | None,
    summary: ValidationSummary | None,
    quarantined: list[pa.Table],
    docs_sample: pa.Table | None,
) -> dict[str, Any]:
    if validation is None or summary is None:
        return {}
    reports = validation.reports_root / version.dataset / version.version
    write_summary(summary, reports / "summary.json")
    found: dict[str, Any] = {}
    if quarantined:
        directory = validation.quarantine_root / version.dataset / version.version
        rows = pa.concat_tables(quarantined, promote_options="permissive")
        found["quarantine_reasons"] = write_quarantine(rows, directory)
        found["quarantine_dir"] = directory
    if docs_sample is not None:
        found["data_docs"] = validation.validator.suite.build_data_docs(
            docs_sample.to_pandas(), as_of=validation.as_of, directory=reports / "data-docs"
        )
    return found


def _regroup(batches: Iterator[Any], schema: Any, rows: int) -> Iterator[Any]:
    """Tables of exactly ``rows`` rows (the last one fewer) from batches of any size.

    Readers yield what their format gives (a Parquet row group, a CSV block); staging files of
    ``chunk_rows`` keep the file count and the memory bound the same for every source.
    """
    buffer: list[Any] = []
    buffered = 0
    for batch in batches:
        buffer.append(batch)
        buffered += batch.num_rows
        while buffered >= rows:
            table = pa.Table.from_batches(buffer, schema=schema)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            buffer, buffered = rest.to_batches(), rest.num_rows
    if buffered:
        yield pa.Table.from_batches(buffer, schema=schema)


__all__ = ["IngestResult", "Validation", "ingest_dataset", "key_columns", "reference_table"]
