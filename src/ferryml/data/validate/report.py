"""The validation summary of a run, accumulated chunk by chunk and saved as JSON.

    builder = SummaryBuilder(validator)
    for verdict in verdicts:
        builder.add_chunk(verdict)
    builder.add_whole(whole_verdict, quarantined=removed_rows)
    write_summary(builder.build(), reports / "validation.json")

``rejected`` is true when any error-severity rule failed, in a chunk or on the whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ferryml.data.validate.chunk import SAMPLE_SIZE, ChunkValidator, ChunkVerdict, RuleFailure
from ferryml.data.validate.rules import Severity
from ferryml.data.validate.whole import WholeVerdict
from ferryml.storage.atomic import atomic_write_text


class RuleReport(BaseModel):
    """One check over the whole run."""

    model_config = ConfigDict(extra="forbid")

    rule: str
    kind: str
    severity: Severity
    columns: list[str]
    scope: Literal["row", "whole"]
    status: Literal["passed", "failed", "skipped"] = "passed"
    evaluated: int = 0
    failed: int = 0
    sample_rows: list[int] = Field(default_factory=list)
    sample_values: list[str | None] = Field(default_factory=list)
    detail: str = ""


class ValidationSummary(BaseModel):
    """What validation did to a run: per rule, and in total."""

    model_config = ConfigDict(extra="forbid")

    suite_name: str
    gx_version: str
    rows_in: int
    accepted: int
    quarantined: int
    rejected: bool
    rules: list[RuleReport]
    gx_seconds: float
    seconds: float

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


class SummaryBuilder:
    """Sums chunk verdicts (without keeping their rows) and the whole-dataset verdict."""

    def __init__(self, validator: ChunkValidator) -> None:
        self._validator = validator
        self._rules = {
            c.rule_id: RuleReport(
                rule=c.rule_id,
                kind=c.rule.rule,
                severity=c.severity,
                columns=list(c.columns),
                scope=c.scope,
            )
            for c in validator.checks
        }
        self._rows_in = self._accepted = self._quarantined = 0
        self._rejected = False
        self._gx_seconds = self._seconds = 0.0

    def add_chunk(self, verdict: ChunkVerdict) -> None:
        self._rows_in += verdict.rows_in
        self._accepted += verdict.accepted.num_rows
        self._quarantined += verdict.quarantined.num_rows
        self._rejected |= bool(verdict.errors)
        self._gx_seconds += verdict.gx_seconds
        self._seconds += verdict.seconds
        for tally in verdict.tallies:
            report = self._rules[tally.rule]
            report.evaluated += tally.evaluated
        for failure in verdict.failures:
            self._record(failure)

    def add_whole(self, verdict: WholeVerdict, *, quarantined: int = 0) -> None:
        """Record the whole-dataset checks; ``quarantined`` rows moved out of ``accepted``."""
        self._accepted -= quarantined
        self._quarantined += quarantined
        self._rejected |= bool(verdict.errors)
        for found in verdict.duplicates:
            self._rules[found.rule].evaluated += verdict.rows
        for dist in verdict.distributions:
            report = self._rules[dist.rule]
            report.evaluated += dist.rows
            report.detail = (
                f"{dist.statistic} = {dist.value:.4f} (fails above {dist.threshold}); "
                f"reference rows: {dist.reference_rows}"
            )
        for failure in verdict.failures:
            self._record(failure)
        for rule, reason in verdict.skipped.items():
            self._rules[rule].status = "skipped"
            self._rules[rule].detail = reason

    def build(self) -> ValidationSummary:
        return ValidationSummary(
            suite_name=self._validator.config.suite_name,
            gx_version=self._validator.suite.gx_version,
            rows_in=self._rows_in,
            accepted=self._accepted,
            quarantined=self._quarantined,
            rejected=self._rejected,
            rules=[r.model_copy() for r in self._rules.values()],
            gx_seconds=round(self._gx_seconds, 3),
            seconds=round(self._seconds, 3),
        )

    def _record(self, failure: RuleFailure) -> None:
        report = self._rules[failure.rule]
        report.status = "failed"
        report.failed += failure.count
        room = SAMPLE_SIZE - len(report.sample_rows)
        report.sample_rows.extend(failure.sample_rows[:room])
        report.sample_values.extend(failure.sample_values[:room])
        if failure.message and not report.detail:
            report.detail = failure.message


def write_summary(summary: ValidationSummary, path: Path) -> None:
    """Save ``summary`` as JSON at ``path``, atomically."""
    atomic_write_text(path, summary.to_json())


__all__ = ["RuleReport", "SummaryBuilder", "ValidationSummary", "write_summary"]
