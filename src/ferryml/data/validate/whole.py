"""Rules over the whole staged dataset, with DuckDB: ``unique`` keys and ``distribution``.

A duplicate key split across two chunks is invisible to per-chunk checks; here every staged
Parquet file is read at once (``read_parquet([...], filename=true, file_row_number=true)``).

Duplicates: the *first* occurrence of a key, in staged order (file name, then row in file),
is kept; every later occurrence is reported (and, for a ``warn`` rule, quarantined by
:func:`quarantine_duplicates`). Rows whose key has a null part are not compared (as GX's
uniqueness expectations do). Row numbers are global: staged files are numbered in name order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ferryml.data.validate import psi as psi_stat
from ferryml.data.validate.chunk import BROKEN_RULES_COLUMN, SAMPLE_SIZE, RuleFailure
from ferryml.data.validate.rules import Check, DistributionRule, Severity
from ferryml.errors import DataError, InvalidInputError
from ferryml.storage.atomic import atomic_path
from ferryml.storage.duckdb_session import connect, quote_ident, sql_string_list

FILE_COLUMN = "_file"
ROW_COLUMN = "_row"


@dataclass(frozen=True)
class DuplicateKeys:
    """Later occurrences of keys seen before: ``rows`` has ``_file``, ``_row`` (in file),
    ``_global_row`` and the key columns."""

    rule: str
    severity: Severity
    columns: tuple[str, ...]
    keys: int
    """Distinct keys that occur more than once."""
    rows: pa.Table

    def failure(self) -> RuleFailure:
        sample = self.rows.slice(0, SAMPLE_SIZE)
        keys = [
            "|".join("" if v is None else str(v) for v in row.values())
            for row in sample.select(list(self.columns)).to_pylist()
        ]
        return RuleFailure(
            rule=self.rule,
            severity=self.severity,
            columns=self.columns,
            count=self.rows.num_rows,
            sample_rows=sample.column("_global_row").to_pylist(),
            sample_values=list(keys),
            message=f"{self.keys} keys occur more than once",
        )


@dataclass(frozen=True)
class DistributionResult:
    """A distribution check: the statistic, its threshold and whether it held."""

    rule: str
    severity: Severity
    column: str
    statistic: str
    value: float
    threshold: float
    rows: int
    reference_rows: int

    @property
    def passed(self) -> bool:
        return self.value <= self.threshold

    def failure(self) -> RuleFailure:
        return RuleFailure(
            rule=self.rule,
            severity=self.severity,
            columns=(self.column,),
            count=self.rows,
            message=f"{self.statistic} = {self.value:.4f} > threshold {self.threshold}",
        )


@dataclass(frozen=True)
class WholeVerdict:
    """What the whole-dataset checks found; ``skipped`` names checks that could not run."""

    rows: int
    duplicates: list[DuplicateKeys]
    distributions: list[DistributionResult]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> list[RuleFailure]:
        found = [d.failure() for d in self.duplicates if d.rows.num_rows]
        return found + [d.failure() for d in self.distributions if not d.passed]

    @property
    def errors(self) -> list[RuleFailure]:
        return [f for f in self.failures if f.severity == "error"]


def validate_whole(
    staged_dir: Path, checks: Sequence[Check], *, reference: pa.Table | None = None
) -> WholeVerdict:
    """Run the ``unique`` and ``distribution`` checks over ``staged_dir/*.parquet``.

    ``reference`` is a table holding the distribution rules' columns (e.g. the previous
    published version, or a sample of it); without it those rules are reported as skipped.
    """
    files = _staged_files(staged_dir)
    offsets = _offsets(files)
    duplicates: list[DuplicateKeys] = []
    distributions: list[DistributionResult] = []
    skipped: dict[str, str] = {}
    with connect(staged_dir.parent, purpose="whole-dataset validation") as con:
        source = f"read_parquet({sql_string_list(files)}, filename=true, file_row_number=true)"
        rows = int(_scalar(con, f"SELECT count(*) FROM {source}"))
        for check in checks:
            if check.rule.rule == "unique":
                duplicates.append(_duplicates(con, source, check, offsets))
            elif isinstance(check.rule, DistributionRule):
                if reference is None or check.columns[0] not in reference.column_names:
                    skipped[check.rule_id] = "no reference sample with this column was given"
                    continue
                distributions.append(_distribution(con, source, check, check.rule, reference))
    return WholeVerdict(rows, duplicates, distributions, skipped)


def quarantine_duplicates(staged_dir: Path, verdict: WholeVerdict) -> pa.Table | None:
    """Remove the duplicates of ``warn`` rules from the staged files (each rewritten
    atomically); return the removed rows with ``_broken_rules``, or None if none."""
    broken: dict[tuple[str, int], list[str]] = {}
    for found in verdict.duplicates:
        if found.severity != "warn":
            continue
        for name, row in zip(
            found.rows.column(FILE_COLUMN).to_pylist(),
            found.rows.column(ROW_COLUMN).to_pylist(),
            strict=True,
        ):
            broken.setdefault((name, row), []).append(found.rule)
    if not broken:
        return None
    removed: list[pa.Table] = []
    for name in sorted({name for name, _ in broken}):
        path = staged_dir / name
        table = pq.read_table(path)
        positions = sorted(row for file, row in broken if file == name)
        mask = np.ones(table.num_rows, dtype=np.bool_)
        mask[positions] = False
        rules = [broken[(name, p)] for p in positions]
        removed.append(
            table.take(pa.array(positions, type=pa.int64())).append_column(
                pa.field(BROKEN_RULES_COLUMN, pa.list_(pa.string())),
                pa.array(rules, type=pa.list_(pa.string())),
            )
        )
        with atomic_path(path) as tmp:
            pq.write_table(table.filter(pa.array(mask)), tmp)
    return pa.concat_tables(removed)


def _duplicates(
    con: duckdb.DuckDBPyConnection,
    source: str,
    check: Check,
    offsets: dict[str, int],
) -> DuplicateKeys:
    keys = ", ".join(quote_ident(c) for c in check.columns)
    not_null = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in check.columns)
    query = f"""
        WITH ranked AS (
            SELECT filename, file_row_number, {keys},
                   row_number() OVER (PARTITION BY {keys} ORDER BY filename, file_row_number) AS k
            FROM {source} WHERE {not_null}
        )
        SELECT filename AS {FILE_COLUMN}, file_row_number AS {ROW_COLUMN}, {keys}
        FROM ranked WHERE k > 1 ORDER BY filename, file_row_number
    """
    later: pa.Table = con.sql(query).to_arrow_table()
    distinct = _scalar(con, f"SELECT count(DISTINCT ({keys})) FROM ({query})")
    names = [Path(str(f)).name for f in later.column(FILE_COLUMN).to_pylist()]
    rows = later.column(ROW_COLUMN).to_pylist()
    global_rows = [offsets[n] + int(r) for n, r in zip(names, rows, strict=True)]
    later = later.set_column(0, FILE_COLUMN, pa.array(names, type=pa.string()))
    later = later.set_column(1, ROW_COLUMN, pc.cast(later.column(ROW_COLUMN), pa.int64()))
    later = later.append_column("_global_row", pa.array(global_rows, type=pa.int64()))
    return DuplicateKeys(check.rule_id, check.severity, check.columns, int(distinct), later)


def _distribution(
    con: duckdb.DuckDBPyConnection,
    source: str,
    check: Check,
    rule: DistributionRule,
    reference: pa.Table,
) -> DistributionResult:
    column = check.columns[0]
    ref = pc.cast(reference.column(column), pa.float64()).to_numpy(zero_copy_only=False)
    ref = np.asarray(ref, dtype=np.float64)
    edges = psi_stat.quantile_edges(ref, bins=rule.bins)
    expected = psi_stat.bin_counts(ref, edges)
    value_sql = f"CAST({quote_ident(column)} AS DOUBLE)"
    bin_sql = " + ".join(f"({value_sql} >= ?)::INTEGER" for _ in edges) or "0"
    counted = con.execute(
        f"SELECT {bin_sql} AS b, count(*) FROM {source} WHERE {quote_ident(column)} IS NOT NULL "
        "GROUP BY b",
        [float(e) for e in edges],
    ).fetchall()
    actual = np.zeros(edges.size + 1, dtype=np.int64)
    for index, count in counted:
        actual[int(index)] = int(count)
    if actual.sum() == 0:
        raise DataError(f"distribution rule {check.rule_id!r}: column {column!r} is all null")
    value = psi_stat.psi(expected, actual)
    return DistributionResult(
        check.rule_id,
        check.severity,
        column,
        rule.statistic,
        value,
        rule.threshold,
        int(actual.sum()),
        int(expected.sum()),
    )


def _staged_files(staged_dir: Path) -> list[Path]:
    if not staged_dir.is_dir():
        raise InvalidInputError(f"staged directory {staged_dir} does not exist")
    files = sorted(
        p for p in staged_dir.glob("*.parquet") if p.is_file() and not p.name.startswith(".")
    )
    if not files:
        raise InvalidInputError(
            f"no Parquet files in {staged_dir}", hint="stage the chunks before validate_whole"
        )
    return files


def _offsets(files: Sequence[Path]) -> dict[str, int]:
    offsets: dict[str, int] = {}
    total = 0
    for path in files:
        offsets[path.name] = total
        total += pq.ParquetFile(path).metadata.num_rows
    return offsets


def _scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    rows = con.execute(query).fetchall()
    return int(rows[0][0]) if rows else 0


__all__ = [
    "DistributionResult",
    "DuplicateKeys",
    "WholeVerdict",
    "quarantine_duplicates",
    "validate_whole",
]
