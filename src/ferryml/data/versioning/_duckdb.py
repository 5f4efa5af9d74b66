"""The DuckDB session behind versioning: UTC, spill files beside the data, errors wrapped.

One short-lived in-memory connection per operation. Two settings matter for reproducibility:
``TimeZone = 'UTC'`` (DuckDB labels ``TIMESTAMP WITH TIME ZONE`` columns it hands to Arrow with
the session time zone, which would otherwise leak the machine's zone into hashes), and a
``temp_directory`` beside the data, so that out-of-core sorts spill to the same disk as the
dataset instead of a possibly small ``/tmp``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ferryml.errors import DataError, InvalidInputError

MANIFEST_NAME = "manifest.json"

_BOUNDED: dict[str, str | int] = {"memory_limit": "512MB", "threads": 2}
"""DuckDB's default limit is 80 % of RAM, so a sort of the whole dataset stays in memory and
peak memory grows with the data (benchmarks/ingest.py: 2 GiB for 5M rows). With a limit the
sort spills to ``temp_directory`` instead."""


@contextmanager
def connect(spill_dir: Path, *, purpose: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection in UTC that spills under ``spill_dir``.

    ``duckdb.Error`` raised inside becomes a :class:`DataError` naming ``purpose``.
    """
    with tempfile.TemporaryDirectory(prefix=".ferryml-duckdb-", dir=spill_dir) as spill:
        con = duckdb.connect(":memory:", config={"temp_directory": spill, **_BOUNDED})
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        except duckdb.Error as exc:
            raise DataError(
                f"{purpose} failed in DuckDB: {' '.join(str(exc).split())}",
                hint="check that the Parquet files are readable and share one schema",
            ) from exc
        finally:
            con.close()


def parquet_files(directory: Path, *, allow_manifest: bool = True) -> list[Path]:
    """The Parquet files of a flat dataset directory, sorted by name.

    A dataset directory holds ``*.parquet`` files and, once published, ``manifest.json`` —
    nothing else: a stray file would sit in an "immutable" snapshot without being hashed.
    """
    if not directory.is_dir():
        raise InvalidInputError(
            f"dataset directory {directory} does not exist or is not a directory",
            hint="write the staged Parquet files into a directory and pass its path",
        )
    files: list[Path] = []
    strays: list[str] = []
    for entry in sorted(directory.iterdir()):
        if entry.is_file() and entry.suffix == ".parquet" and not entry.name.startswith((".", "_")):
            files.append(entry)
        elif not (allow_manifest and entry.name == MANIFEST_NAME and entry.is_file()):
            strays.append(entry.name + ("/" if entry.is_dir() else ""))
    if strays:
        raise InvalidInputError(
            f"dataset directory {directory} holds entries that are not Parquet files: "
            f"{', '.join(strays[:10])}{' …' if len(strays) > 10 else ''}",
            hint="stage a flat directory of *.parquet files only (no partition subdirectories, "
            "hidden or _-prefixed files)",
        )
    if not files:
        raise InvalidInputError(
            f"dataset directory {directory} holds no *.parquet files",
            hint="a dataset needs at least one Parquet file (it may hold zero rows)",
        )
    return files


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier: ``"a""b"`` for ``a"b``."""
    return '"' + name.replace('"', '""') + '"'


def sql_string_list(paths: Sequence[Path]) -> str:
    """A DuckDB list literal of string paths, for statements that take no parameters."""
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
