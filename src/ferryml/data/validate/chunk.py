"""Row-level verdict on one chunk: which rows go on, which are quarantined and why.

Build a :class:`ChunkValidator` once per run (it builds the GX suite, seconds of work) and
call :func:`validate_chunk` on every chunk::

    validator = ChunkValidator(config, schema)
    for index, batch in enumerate(batches):
        verdict = validate_chunk(table, validator, row_offset=rows_so_far, as_of=clock.now())

Rows that break any rule (warn or error) land in ``quarantined`` with ``_broken_rules``
naming each rule; ``errors`` lists the error-severity failures, which reject the batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from ferryml.config.schema import SchemaConfig
from ferryml.data.validate.gx_suite import CheckOutcome, GxSuite
from ferryml.data.validate.rules import Check, Severity, ValidationConfig, resolve
from ferryml.errors import InvalidInputError

BROKEN_RULES_COLUMN = "_broken_rules"
SAMPLE_SIZE = 10
PII_MASK = "<pii>"


@dataclass(frozen=True)
class RuleFailure:
    """A check that failed: how many rows, and up to ten of them (global row numbers)."""

    rule: str
    severity: Severity
    columns: tuple[str, ...]
    count: int
    sample_rows: list[int] = field(default_factory=list)
    sample_values: list[str | None] = field(default_factory=list)
    message: str = ""

    def render(self) -> str:
        rows = ", ".join(map(str, self.sample_rows))
        text = f"{self.rule} ({self.severity}): {self.count} rows fail"
        if rows:
            text += f", e.g. rows {rows}"
        return text + (f": {self.message}" if self.message else "")


@dataclass(frozen=True)
class RuleTally:
    """How one check did on one chunk (or summed over a run)."""

    rule: str
    evaluated: int
    failed: int


@dataclass(frozen=True)
class ChunkVerdict:
    """The split of one chunk. ``rows_in == accepted.num_rows + quarantined.num_rows``."""

    rows_in: int
    accepted: pa.Table
    quarantined: pa.Table
    errors: list[RuleFailure]
    failures: list[RuleFailure]
    """Every failed check, warn and error."""
    tallies: list[RuleTally]
    gx_seconds: float
    seconds: float


class ChunkValidator:
    """The row-level checks of a run, with their GX suite built once."""

    def __init__(self, config: ValidationConfig, schema: SchemaConfig) -> None:
        self.config = config
        self.checks = resolve(config, columns={n: c.nullable for n, c in schema.columns.items()})
        self.pii_columns = frozenset(schema.pii_columns)
        self.suite = GxSuite(self.checks, suite_name=config.suite_name)
        self._by_id = {check.rule_id: check for check in self.checks}

    @property
    def row_checks(self) -> list[Check]:
        return [c for c in self.checks if c.scope == "row"]

    @property
    def whole_checks(self) -> list[Check]:
        return [c for c in self.checks if c.scope == "whole"]

    def check(self, rule_id: str) -> Check:
        return self._by_id[rule_id]


def validate_chunk(
    table: pa.Table, validator: ChunkValidator, *, row_offset: int, as_of: datetime
) -> ChunkVerdict:
    """Run the row-level checks on ``table``; ``row_offset`` is its first row's global number."""
    if as_of.tzinfo is None:
        raise InvalidInputError(f"as_of must be timezone-aware, got {as_of.isoformat()}")
    started = time.perf_counter()
    frame = table.to_pandas()  # default RangeIndex: GX's unexpected indices are positions
    gx_started = time.perf_counter()
    outcomes = validator.suite.run(frame, as_of=as_of)
    gx_seconds = time.perf_counter() - gx_started

    rows = table.num_rows
    broken: dict[int, list[str]] = {}
    failures: list[RuleFailure] = []
    tallies: list[RuleTally] = []
    for outcome in sorted(outcomes, key=lambda o: o.rule_id):
        check = validator.check(outcome.rule_id)
        positions = _failing_positions(outcome, rows)
        tallies.append(RuleTally(check.rule_id, outcome.evaluated, len(positions)))
        if outcome.success and not positions:
            continue
        for position in positions:
            broken.setdefault(position, []).append(check.rule_id)
        failures.append(_failure(table, check, outcome, positions, row_offset, validator))

    bad = np.zeros(rows, dtype=np.bool_)
    bad[list(broken)] = True
    accepted = table.filter(pa.array(~bad))
    bad_positions = np.flatnonzero(bad)
    quarantined = table.take(pa.array(bad_positions, type=pa.int64())).append_column(
        pa.field(BROKEN_RULES_COLUMN, pa.list_(pa.string())),
        pa.array([broken[int(p)] for p in bad_positions], type=pa.list_(pa.string())),
    )
    assert accepted.num_rows + quarantined.num_rows == rows, "rows lost while splitting a chunk"
    return ChunkVerdict(
        rows_in=rows,
        accepted=accepted,
        quarantined=quarantined,
        errors=[f for f in failures if f.severity == "error"],
        failures=failures,
        tallies=tallies,
        gx_seconds=gx_seconds,
        seconds=time.perf_counter() - started,
    )


def _failing_positions(outcome: CheckOutcome, rows: int) -> list[int]:
    if outcome.unexpected is None:  # the column as a whole failed (dtype, missing column)
        return [] if outcome.success else list(range(rows))
    return outcome.unexpected


def _failure(
    table: pa.Table,
    check: Check,
    outcome: CheckOutcome,
    positions: Sequence[int],
    row_offset: int,
    validator: ChunkValidator,
) -> RuleFailure:
    sample = list(positions[:SAMPLE_SIZE])
    column = check.columns[0]
    values: list[str | None] = []
    if column in validator.pii_columns:
        values = [PII_MASK] * len(sample)
    elif column in table.column_names and sample:
        picked = table.column(column).take(pa.array(sample, type=pa.int64())).to_pylist()
        values = [None if v is None else str(v) for v in picked]
    return RuleFailure(
        rule=check.rule_id,
        severity=check.severity,
        columns=check.columns,
        count=len(positions),
        sample_rows=[row_offset + p for p in sample],
        sample_values=values,
        message=outcome.exception or "",
    )


__all__ = [
    "BROKEN_RULES_COLUMN",
    "ChunkValidator",
    "ChunkVerdict",
    "RuleFailure",
    "RuleTally",
    "validate_chunk",
]
