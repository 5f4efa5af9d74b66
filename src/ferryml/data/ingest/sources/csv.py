"""CSV: streamed block by block with ``pyarrow.csv.open_csv``, every column read as text.

Columns are read as strings and cast by :func:`conform`, so every bad value is reported the
same way as in other sources. Unquoted empty fields are null, quoted ones (``""``) empty
strings; no other text means null (``NA`` is Namibia's country code, not a missing value).
Rows are located as ``row N (line M)``: ``M`` counts the header and assumes no blank lines or
quoted line breaks before it. Ragged rows carry the physical line number from the parser;
mis-encoded bytes are located by re-scanning the file with Python's incremental decoder
(error path only).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pcsv
from pydantic import Field, field_validator

from ferryml.config.base import StrictModel
from ferryml.data.ingest.sources._conform import conform
from ferryml.data.ingest.sources.base import SourceReader, missing_columns_error, resolve_path
from ferryml.errors import DataError

_BLOCK_BYTES = 1 << 20
"""Bytes per parsed block. pyarrow's streaming reader keeps about 32 blocks read ahead, so
memory is ~32 x this whatever the file's size (benchmarks/ingest.py measured 803 MiB with
25.6 MB blocks, 137 MiB with 4 MB ones); the ingest job regroups blocks into chunk_rows."""
"""A guess at a row's size, to ask the parser for blocks of about ``chunk_rows`` rows."""


class CsvSource(StrictModel):
    """``{format: csv, path: data/raw/tx.csv, delimiter: ",", encoding: utf-8, header: true}``."""

    format: Literal["csv"] = "csv"
    path: Path = Field(description="The CSV file; relative to the project root.")
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="Field separator.")
    encoding: str = Field(default="utf-8", description="Text encoding of the file.")
    header: bool = Field(
        default=True, description="First line names the columns; false: schema order."
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r}; use e.g. utf-8 or latin-1") from exc
        return value

    def resolve(self, base_dir: Path | None) -> CsvSource:
        """This source with ``path`` made absolute against ``base_dir``."""
        return self.model_copy(update={"path": resolve_path(self.path, base_dir)})


class CsvReader(SourceReader):
    """Streams one CSV file in blocks; see the module docstring for nulls and line numbers."""

    format = "csv"

    def __init__(self, config: CsvSource) -> None:
        super().__init__()
        self.config = config

    @property
    def where(self) -> str:
        return str(self.config.path)

    def _describe(self) -> dict[str, Any]:
        path = self.config.path
        return {
            "path": str(path),
            "bytes": path.stat().st_size if path.is_file() else None,
            "delimiter": self.config.delimiter,
            "encoding": self.config.encoding,
            "header": self.config.header,
        }

    def _batches(self, schema: pa.Schema, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        path = self.config.path
        if not path.is_file():
            raise DataError(
                f"CSV source {path} does not exist or is not a file",
                hint="check `path` of the source (relative paths start at the project root)",
            )
        if path.stat().st_size == 0:
            raise DataError(
                f"CSV source {path} is empty: no header, no rows",
                hint="write a header line naming the columns, then the rows",
            )
        block_size = _BLOCK_BYTES
        found = self._header(block_size, schema)
        self._drop_extras(found, schema)
        missing = [name for name in schema.names if name not in found]
        if missing:
            raise missing_columns_error(str(path), missing, found)
        wanted = [name for name in found if name in set(schema.names)]
        invalid: list[Any] = []
        reader = self._open(
            block_size,
            schema,
            invalid,
            pcsv.ConvertOptions(
                column_types=dict.fromkeys(wanted, pa.string()),
                include_columns=wanted,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        offset = 0
        first_line = 2 if self.config.header else 1
        with reader:
            while True:
                try:
                    block = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeError) as exc:
                    raise self._read_error(exc, invalid) from exc
                for start in range(0, block.num_rows, chunk_rows):
                    batch = block.slice(start, chunk_rows)
                    yield conform(
                        batch,
                        schema,
                        where=str(path),
                        first_row=offset,
                        row_label=lambda i: f"row {i + 1} (line {i + first_line})",
                    )
                    offset += batch.num_rows

    def _header(self, block_size: int, schema: pa.Schema) -> list[str]:
        """The file's column names; reads the first block only."""
        with self._open(block_size, schema, [], pcsv.ConvertOptions()) as reader:
            return list(reader.schema.names)

    def _open(self, block_size: int, schema: pa.Schema, invalid: list[Any], convert: Any) -> Any:
        def on_invalid(row: Any) -> str:
            invalid.append(row)
            return "error"

        try:
            return self._open_csv(block_size, schema, on_invalid, convert)
        except (pa.ArrowInvalid, UnicodeError) as exc:  # open_csv parses the first block
            raise self._read_error(exc, invalid) from exc

    def _open_csv(self, block_size: int, schema: pa.Schema, on_invalid: Any, convert: Any) -> Any:
        config = self.config
        return pcsv.open_csv(
            config.path,
            read_options=pcsv.ReadOptions(
                block_size=block_size,
                use_threads=False,  # in order, with physical line numbers for ragged rows
                encoding=config.encoding,
                column_names=None if config.header else list(schema.names),
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=config.delimiter, invalid_row_handler=on_invalid
            ),
            convert_options=convert,
        )

    def _read_error(self, exc: Exception, invalid: list[Any]) -> DataError:
        path, encoding = self.config.path, self.config.encoding
        if invalid:
            row = invalid[0]
            line = f"line {row.number}" if row.number is not None else "a row"
            return DataError(
                f"{path}, {line}: expected {row.expected_columns} fields, "
                f"found {row.actual_columns}",
                hint=f"fix the row; fields that contain {self.config.delimiter!r} must be quoted",
            )
        if isinstance(exc, UnicodeError) or "UTF8" in str(exc):
            at = _locate_decode_error(path, encoding)
            detail = f" at byte {at[0]} (line {at[1]})" if at else ""
            return DataError(
                f"{path} is not valid {encoding} text{detail}",
                hint="set `encoding:` of the source to the file's encoding (e.g. latin-1), "
                "or re-encode the file",
            )
        if "Empty CSV file" in str(exc):
            return DataError(
                f"CSV source {path} is empty: no header, no rows",
                hint="write a header line naming the columns, then the rows",
            )
        return DataError(
            f"{path} cannot be parsed as CSV: {exc}",
            hint="check `delimiter`, `header` and `encoding` of the source",
        )


def _locate_decode_error(path: Path, encoding: str) -> tuple[int, int] | None:
    """Byte offset and line (both 1-based) of the first byte ``encoding`` cannot decode."""
    decoder = codecs.getincrementaldecoder(encoding)()
    consumed, lines = 0, 1  # bytes fed to the decoder before this chunk; lines before them
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            pending = len(decoder.getstate()[0])  # undecoded tail of the previous chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                before = bytes(exc.object[: exc.start])
                return consumed - pending + exc.start + 1, lines + before.count(b"\n")
            lines += chunk.count(b"\n")
            consumed += len(chunk)
    return None


__all__ = ["CsvReader", "CsvSource"]
