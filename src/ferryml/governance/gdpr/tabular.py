"""Rewriting the rows of one data file without the selected ones: Parquet, CSV, JSON lines.

A rewrite writes a new file beside the old one and renames it into place
(:func:`ferryml.storage.atomic.atomic_path`): a reader sees the old file or the new one,
never half of either, and a crash leaves the old file whole, so running the rewrite again
finishes it. Parquet keeps its schema (metadata included) and compression; CSV keeps its
header and column order (fields are re-quoted as the ``csv`` module writes them)::

    >>> import tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq
    >>> from ferryml.governance.gdpr.selection import ValueSelection
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pq.write_table(pa.table({"customer_id": ["C1", "C2"], "amount": [1.0, 2.0]}), path)
    >>> chosen = ValueSelection({"customer_id": frozenset({"C1"})})
    >>> count_selected(path, chosen), rewrite_file(path, chosen), count_selected(path, chosen)
    (1, 1, 0)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ferryml.errors import DataError
from ferryml.governance.gdpr.selection import RowSelection
from ferryml.storage.atomic import atomic_path, atomic_write_bytes

SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def kind_of(path: Path) -> str | None:
    """``parquet``, ``csv`` or ``jsonl`` by the file's suffix; None for other files."""
    return SUFFIXES.get(path.suffix.lower())


def read_columns(path: Path, columns: frozenset[str] | set[str]) -> pa.Table:
    """The columns of ``path`` among ``columns`` (CSV and JSON values as text)."""
    kind = kind_of(path)
    try:
        if kind == "parquet":
            handle = pq.ParquetFile(path)
            present = [c for c in handle.schema_arrow.names if c in columns]
            return handle.read(columns=present)
        if kind == "csv":
            header, rows = _csv_rows(path)
            wanted = [c for c in header if c in columns]
            return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in wanted})
        if kind == "jsonl":
            records = [orjson.loads(line) for line in _lines(path) if line.strip()]
            names = sorted({k for r in records for k in r if k in columns})
            return pa.table(
                {n: pa.array([_text(r.get(n)) for r in records], pa.string()) for n in names}
            )
    except (OSError, pa.ArrowException, orjson.JSONDecodeError, csv.Error) as exc:
        raise DataError(
            f"cannot read {path}: {exc}", hint="check the file; GDPR rewrites need it readable"
        ) from exc
    raise DataError(f"{path} is not a Parquet, CSV or JSON-lines file")


def count_selected(path: Path, selection: RowSelection) -> int:
    """How many rows of ``path`` the selection would change (0 when it has none of its
    columns)."""
    mask = effective_mask(read_columns(path, _needed(selection)), selection)
    return 0 if mask is None else int(pc.sum(mask).as_py() or 0)


def effective_mask(table: pa.Table, selection: RowSelection) -> pa.Array | None:
    """The rows the selection's action would change: for ``anonymize``, selected rows that
    still hold a value in a column to empty (anonymizing twice changes nothing)."""
    mask = selection.mask(table)
    if mask is None or selection.action == "delete":
        return mask
    held = [pc.is_valid(table.column(c)) for c in selection.blank if c in table.column_names]
    if not held:
        return pa.array([False] * len(table), pa.bool_())
    any_held = held[0]
    for other in held[1:]:
        any_held = pc.or_(any_held, other)
    combined = pc.and_(mask, any_held)
    return combined.combine_chunks() if isinstance(combined, pa.ChunkedArray) else combined


def selected_rows(path: Path) -> pa.Table:
    """Every column of ``path`` (for exports; CSV and JSON values as text)."""
    kind = kind_of(path)
    if kind == "parquet":
        return pq.ParquetFile(path).read()
    if kind == "csv":
        header, rows = _csv_rows(path)
        return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in header})
    records = [orjson.loads(line) for line in _lines(path) if line.strip()]
    names = list(dict.fromkeys(k for r in records for k in r))
    return pa.table({n: pa.array([_text(r.get(n)) for r in records], pa.string()) for n in names})


def rewrite_file(path: Path, selection: RowSelection) -> int:
    """Rewrite ``path`` without (``delete``) or with emptied columns in (``anonymize``) the
    selected rows; return how many rows were selected. A file with none is left untouched."""
    mask = effective_mask(read_columns(path, _needed(selection)), selection)
    selected = 0 if mask is None else int(pc.sum(mask).as_py() or 0)
    if mask is None or selected == 0:
        return 0
    kind = kind_of(path)
    keep = pc.invert(mask)
    if kind == "parquet":
        _rewrite_parquet(path, mask, keep, selection)
    elif kind == "csv":
        _rewrite_csv(path, mask.to_pylist(), selection)
    else:
        _rewrite_jsonl(path, mask.to_pylist(), selection)
    return selected


def filtered_table(table: pa.Table, selection: RowSelection) -> tuple[pa.Table, int]:
    """``table`` after the selection's action, and how many rows it changed."""
    mask = effective_mask(table, selection)
    selected = 0 if mask is None else int(pc.sum(mask).as_py() or 0)
    if mask is None or selected == 0:
        return table, 0
    if selection.action == "delete":
        return table.filter(pc.invert(mask)), selected
    return blank_rows(table, mask, selection.blank), selected


def blank_rows(table: pa.Table, mask: pa.Array, columns: frozenset[str]) -> pa.Table:
    """``table`` with ``columns`` set to null in the rows ``mask`` selects."""
    for name in columns:
        if name not in table.column_names:
            continue
        index = table.column_names.index(name)
        column = table.column(index)
        nulls = pa.nulls(len(table), column.type)
        field = table.schema.field(index).with_nullable(True)
        table = table.set_column(index, field, pc.if_else(mask, nulls, column))
    return table


def _rewrite_parquet(path: Path, mask: pa.Array, keep: pa.Array, selection: RowSelection) -> None:
    handle = pq.ParquetFile(path)
    compression = "snappy"
    if handle.metadata.num_row_groups and handle.metadata.num_columns:
        compression = handle.metadata.row_group(0).column(0).compression.lower()
        compression = "none" if compression == "uncompressed" else compression
    table = handle.read()
    handle.close()
    if selection.action == "delete":
        table = table.filter(keep)
    else:
        table = blank_rows(table, mask, selection.blank)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=compression)


def _rewrite_csv(path: Path, selected: list[bool], selection: RowSelection) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    reader = csv.reader(io.StringIO(text, newline=""))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=_line_end(text))
    header = next(reader, None)
    if header is None:
        return
    writer.writerow(header)
    blank = {i for i, name in enumerate(header) if name in selection.blank}
    for row, hit in zip(reader, selected, strict=False):
        if not hit:
            writer.writerow(row)
        elif selection.action == "anonymize":
            writer.writerow(["" if i in blank else v for i, v in enumerate(row)])
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))


def _rewrite_jsonl(path: Path, selected: list[bool], selection: RowSelection) -> None:
    out = bytearray()
    lines = [line for line in _lines(path) if line.strip()]
    for line, hit in zip(lines, selected, strict=True):
        if not hit:
            out += line + b"\n"
        elif selection.action == "anonymize":
            record = orjson.loads(line)
            record.update(dict.fromkeys(selection.blank & set(record)))
            out += orjson.dumps(record) + b"\n"
    atomic_write_bytes(path, bytes(out))


def _needed(selection: RowSelection) -> frozenset[str]:
    if selection.action == "anonymize":
        return selection.columns | selection.blank
    return selection.columns


def _csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _line_end(text: str) -> str:
    return "\r\n" if "\r\n" in text[:65536] else "\n"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


__all__ = [
    "SUFFIXES",
    "blank_rows",
    "count_selected",
    "effective_mask",
    "filtered_table",
    "kind_of",
    "read_columns",
    "rewrite_file",
    "selected_rows",
]
