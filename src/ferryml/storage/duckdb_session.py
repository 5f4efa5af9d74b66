"""The DuckDB session behind ferryml's out-of-core queries over staged and stored Parquet.

One short-lived in-memory connection per operation, used by dataset versioning (hashing,
diff) and whole-dataset validation (unique keys, distributions). Three settings matter:
``TimeZone = 'UTC'`` (DuckDB labels ``TIMESTAMP WITH TIME ZONE`` columns it hands to Arrow with
the session time zone, which would otherwise leak the machine's zone into hashes and bins), a
``temp_directory`` beside the data, so that out-of-core sorts spill to the same disk as the
dataset instead of a possibly small ``/tmp``, and a memory limit, so that they do spill.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ferryml.errors import DataError

_BOUNDED: dict[str, str | int] = {"memory_limit": "512MB", "threads": 2}
"""DuckDB's default limit is 80 % of RAM, so a sort of the whole dataset stays in memory and
peak memory grows with the data (benchmarks/ingest.py: 2 GiB for 5M rows). With a limit the
sort spills to ``temp_directory`` instead."""


@contextmanager
def connect(spill_dir: Path, *, purpose: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection in UTC, memory-bounded, that spills under ``spill_dir``.

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


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier: ``"a""b"`` for ``a"b``."""
    return '"' + name.replace('"', '""') + '"'


def sql_string_list(paths: Sequence[Path]) -> str:
    """A DuckDB list literal of string paths, for statements that take no parameters."""
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


__all__ = ["connect", "quote_ident", "sql_string_list"]
