"""Parquet: one file, or a directory of them with Hive partitions (``date=2025-01-01/…``).

Files are read one at a time, row group by row group (``ParquetFile.iter_batches``), each with
its own physical schema, so a partition whose ``amount`` was written as a string is cast on its
own ("12.50" becomes 12.5; "n/a" is an error naming the file, the row and the value). Partition
keys the schema names become columns; the others are dropped and reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from ferryml.config.base import StrictModel
from ferryml.data.ingest.sources._conform import cast_column, conform
from ferryml.data.ingest.sources.base import SourceReader, missing_columns_error, resolve_path
from ferryml.errors import DataError


class ParquetSource(StrictModel):
    """``{format: parquet, path: data/raw/transactions}``: a file or a partitioned directory."""

    format: Literal["parquet"] = "parquet"
    path: Path = Field(description="A .parquet file or a directory of them; relative to the root.")

    def resolve(self, base_dir: Path | None) -> ParquetSource:
        """This source with ``path`` made absolute against ``base_dir``."""
        return self.model_copy(update={"path": resolve_path(self.path, base_dir)})


@dataclass(frozen=True)
class _File:
    path: Path
    partition: dict[str, str]
    columns: list[str]
    rows: int
    bytes: int


class ParquetReader(SourceReader):
    """Streams a Parquet file or a Hive-partitioned directory, file by file, in path order."""

    format = "parquet"

    def __init__(self, config: ParquetSource) -> None:
        super().__init__()
        self.root = config.path
        self._files: list[_File] | None = None

    @property
    def where(self) -> str:
        return str(self.root)

    def _describe(self) -> dict[str, Any]:
        files = self._scan()
        return {
            "path": str(self.root),
            "files": [
                {
                    "path": _relative(f.path, self.root),
                    "rows": f.rows,
                    "bytes": f.bytes,
                    **({"partition": f.partition} if f.partition else {}),
                }
                for f in files
            ],
        }

    def _batches(self, schema: pa.Schema, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        files = self._scan()
        problems = []
        for f in files:
            # Partition keys the schema does not name are the directory layout, not data: they
            # are listed per file in describe(), not reported as dropped columns.
            keys = [k for k in f.partition if k not in f.columns and k in schema.names]
            self._drop_extras(f.columns + keys, schema)
            found = f.columns + keys
            missing = [name for name in schema.names if name not in found]
            if missing:
                problems.append(missing_columns_error(str(f.path), missing, found).message)
        if problems:
            shown = problems[:5] + ([f"… and {len(problems) - 5} more files"] * (len(problems) > 5))
            raise DataError(
                "\n".join(shown),
                hint="add the columns to the data, or remove them from the project's schema",
            )
        for f in files:
            yield from self._file_batches(f, schema, chunk_rows)

    def _file_batches(
        self, f: _File, schema: pa.Schema, chunk_rows: int
    ) -> Iterator[pa.RecordBatch]:
        where = str(f.path)
        columns = [name for name in schema.names if name in f.columns]
        partition = {k: v for k, v in f.partition.items() if k in schema.names and k not in columns}
        offset = 0
        with _open(f.path) as handle:
            for raw in handle.iter_batches(batch_size=chunk_rows, columns=columns):
                batch = raw
                for name, value in partition.items():
                    constant = pa.array([value] * batch.num_rows, pa.string())
                    field = schema.field(name)
                    constant = cast_column(
                        constant,
                        field,
                        where=f"{where} (partition key {name}={value})",
                        first_row=offset,
                        row_label=_row,
                    )
                    batch = batch.append_column(field.with_nullable(True), constant)
                yield conform(batch, schema, where=where, first_row=offset, row_label=_row)
                offset += batch.num_rows

    def _scan(self) -> list[_File]:
        if self._files is None:
            self._files = [_inspect(path, self.root) for path in _parquet_files(self.root)]
        return self._files


def _parquet_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.exists():
        raise DataError(
            f"Parquet source {root} does not exist",
            hint="check `path` of the source (relative paths start at the project root)",
        )
    files = sorted(
        path
        for path in root.rglob("*.parquet")
        if path.is_file()
        and not any(part.startswith((".", "_")) for part in path.relative_to(root).parts)
    )
    if not files:
        raise DataError(
            f"Parquet source {root} is a directory without .parquet files",
            hint="point `path` at a .parquet file or at a directory that holds some",
        )
    return files


def _inspect(path: Path, root: Path) -> _File:
    with _open(path) as handle:
        columns = list(handle.schema_arrow.names)
        rows = handle.metadata.num_rows
    partition: dict[str, str] = {}
    if path != root:
        for part in path.relative_to(root).parent.parts:
            key, sep, value = part.partition("=")
            if sep:
                partition[unquote(key)] = unquote(value)
    return _File(path, partition, columns, rows, path.stat().st_size)


@contextmanager
def _open(path: Path) -> Iterator[Any]:
    """``pq.ParquetFile`` of ``path``, closed after use; an unreadable file is named."""
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{path} is not a readable Parquet file: {exc}",
            hint="remove or replace the file; a directory source reads every *.parquet in it",
        ) from exc
    try:
        yield handle
    finally:
        handle.close()


def _row(index: int) -> str:
    return f"row {index + 1}"


def _relative(path: Path, root: Path) -> str:
    return path.name if path == root else path.relative_to(root).as_posix()


__all__ = ["ParquetReader", "ParquetSource"]
