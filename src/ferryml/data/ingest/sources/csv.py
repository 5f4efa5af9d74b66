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
import re
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

_RAGGED_ROW = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+)")
"""pyarrow's message for a row with too few or too many fields (``use_threads=False``)."""
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

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        # pyarrow's parser takes one ASCII byte, not a line break or NUL; a quote would split
        # every quoted field.
        usable = value == "\t" or (value.isascii() and value.isprintable())
        if not usable or value == '"':
            raise ValueError(
                "a tab or one printable ASCII character other than '\"', e.g. ',', ';' or '|'"
            )
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
            "".encode(value)  # refuses codecs that are not text encodings: rot13, base64, zlib
        except (LookupError, UnicodeError) as exc:
            raise ValueError(
                f"unknown encoding {value!r}, or not a text encoding; use e.g. utf-8 or latin-1"
            ) from exc
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
        repeated = sorted({name for name in schema.names if found.count(name) > 1})
        if repeated:
            raise DataError(
                f"{path}: the header names column(s) {', '.join(repeated)} more than once",
                hint="rename or remove the repeated columns: which one holds the data is unclear",
            )
        wanted = [name for name in found if name in set(schema.names)]
        reader = self._open(
            block_size,
            schema,
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
                    raise self._read_error(exc) from exc
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
        with self._open(block_size, schema, pcsv.ConvertOptions()) as reader:
            try:
                return list(reader.schema.names)
            except (pa.ArrowInvalid, UnicodeError) as exc:  # names are decoded here
                raise self._read_error(exc) from exc

    def _open(self, block_size: int, schema: pa.Schema, convert: Any) -> Any:
        try:
            return self._open_csv(block_size, schema, convert)
        except (pa.ArrowInvalid, UnicodeError) as exc:  # open_csv parses the first block
            raise self._read_error(exc) from exc

    def _open_csv(self, block_size: int, schema: pa.Schema, convert: Any) -> Any:
        config = self.config
        return pcsv.open_csv(
            config.path,
            read_options=pcsv.ReadOptions(
                block_size=block_size,
                use_threads=False,  # in order; errors name the row ("Row #N") only then
                encoding=config.encoding,
                column_names=None if config.header else list(schema.names),
            ),
            # No invalid_row_handler: pyarrow decodes a ragged row as UTF-8 before calling it,
            # and a row that is not UTF-8 would then print "Exception ignored" on stderr.
            parse_options=pcsv.ParseOptions(delimiter=config.delimiter),
            convert_options=convert,
        )

    def _read_error(self, exc: Exception) -> DataError:
        path, encoding = self.config.path, self.config.encoding
        if ragged := _RAGGED_ROW.search(str(exc)):
            line, expected, found = ragged.groups()
            return DataError(
                f"{path}, line {line}: expected {expected} fields, found {found}",
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
        if "straddling object" in str(exc):  # one row does not fit in a parsed block
            return DataError(
                f"{path}: a row is longer than {_BLOCK_BYTES:,} bytes, the most ferryml parses "
                "at once",
                hint="check that the file is CSV with a line break after each row; "
                "split fields this long",
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
            except UnicodeError:  # no position, e.g. UTF-16 without its byte-order mark
                return consumed - pending + 1, lines
            lines += chunk.count(b"\n")
            consumed += len(chunk)
    return None


__all__ = ["CsvReader", "CsvSource"]
