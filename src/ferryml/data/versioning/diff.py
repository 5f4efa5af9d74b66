"""Diff two versions of a dataset: schema changes, row counts, rows by key, null counts.

Rows only in one version are found with DuckDB anti-joins on the key columns, out of core, using
``IS NOT DISTINCT FROM`` so that a NULL key matches a NULL key. A row whose key exists in both
versions but whose other values changed is in neither count; compare ``content_hash`` to know
that something changed at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ferryml.data.versioning._duckdb import parquet_files
from ferryml.data.versioning.model import DatasetDiff, DatasetVersion, RetypedColumn
from ferryml.errors import DataError
from ferryml.storage.duckdb_session import connect, quote_ident, sql_string_list

SAMPLE_SIZE = 10
"""How many keys of rows only in a / only in b a diff carries, for display."""


def diff_versions(
    a: DatasetVersion, b: DatasetVersion, *, spill_dir: Path, sample_size: int = SAMPLE_SIZE
) -> DatasetDiff:
    """Compare version ``a`` with version ``b`` of one dataset (``b`` is the newer, usually)."""
    types_a, types_b = a.column_types(), b.column_types()
    keys = b.key_columns
    missing = [k for k in keys if k not in types_a]
    if missing:
        raise DataError(
            f"cannot match rows of {a.ref} and {b.ref}: key column(s) {missing} of {b.ref} "
            f"are not in {a.ref} (its keys are {list(a.key_columns)})",
            hint="diff versions that share their key columns",
        )
    added = tuple(c for c in b.schema if c["name"] not in types_a)
    removed = tuple(c for c in a.schema if c["name"] not in types_b)
    retyped = tuple(
        RetypedColumn(name=c["name"], type_a=types_a[c["name"]], type_b=c["type"])
        for c in b.schema
        if c["name"] in types_a and types_a[c["name"]] != c["type"]
    )
    with connect(spill_dir, purpose=f"diffing {a.ref} with {b.ref}") as con:
        for alias, version in (("va", a), ("vb", b)):
            files = sql_string_list(parquet_files(version.path))
            con.execute(f"CREATE TEMP VIEW {alias} AS SELECT * FROM read_parquet({files})")
        only_a, sample_a = _anti_join(con, "va", "vb", keys, sample_size)
        only_b, sample_b = _anti_join(con, "vb", "va", keys, sample_size)
        nulls_a = _null_counts(con, "va", list(types_a))
        nulls_b = _null_counts(con, "vb", list(types_b))
    changes: dict[str, tuple[int | None, int | None]] = {}
    for name in [*types_a, *(n for n in types_b if n not in types_a)]:
        pair = (nulls_a.get(name), nulls_b.get(name))
        if pair[0] != pair[1]:
            changes[name] = pair
    return DatasetDiff(
        dataset=b.dataset,
        a=a.version,
        b=b.version,
        key_columns=keys,
        added_columns=added,
        removed_columns=removed,
        retyped_columns=retyped,
        rows_a=a.rows,
        rows_b=b.rows,
        only_in_a=only_a,
        only_in_b=only_b,
        sample_only_in_a=sample_a,
        sample_only_in_b=sample_b,
        null_count_changes=changes,
    )


def _anti_join(
    con: Any, left: str, right: str, keys: tuple[str, ...], sample_size: int
) -> tuple[int, tuple[dict[str, Any], ...]]:
    match = " AND ".join(
        f"{left}.{quote_ident(k)} IS NOT DISTINCT FROM {right}.{quote_ident(k)}" for k in keys
    )
    columns = ", ".join(f"{left}.{quote_ident(k)}" for k in keys)
    anti = f"SELECT {columns} FROM {left} ANTI JOIN {right} ON {match}"
    count = int(con.execute(f"SELECT count(*) FROM ({anti})").fetchone()[0])
    order = ", ".join(f"{quote_ident(k)} ASC NULLS LAST" for k in keys)
    rows = con.execute(f"SELECT * FROM ({anti}) ORDER BY {order} LIMIT {int(sample_size)}")
    sample = tuple(dict(zip(keys, row, strict=True)) for row in rows.fetchall())
    return count, sample


def _null_counts(con: Any, view: str, columns: list[str]) -> dict[str, int]:
    if not columns:
        return {}
    select = ", ".join(f"count(*) - count({quote_ident(c)})" for c in columns)
    row = con.execute(f"SELECT {select} FROM {view}").fetchone()
    return {c: int(n) for c, n in zip(columns, row, strict=True)}
