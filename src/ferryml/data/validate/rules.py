"""Validation rules as config: the ``validation:`` section of a project YAML.

Each rule is a small model discriminated by ``rule``; ``severity`` says what a failure does:

- ``warn``: the rows that break it are quarantined, the rest of the batch goes on;
- ``error``: the batch is rejected (the failing rows are quarantined too, so ``accepted`` is
  never dirty, but nothing is published).

Row-level rules run per chunk on Great Expectations; ``unique`` and ``distribution`` need the
whole dataset and run over the staged Parquet files with DuckDB (see ``whole``)::

    >>> config = ValidationConfig.model_validate(
    ...     {"rules": [{"rule": "range", "column": "amount", "min": 0, "strict_min": True}]}
    ... )
    >>> [check.rule_id for check in resolve(config, columns={"amount": False})]
    ['range:amount']
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel
from ferryml.config.schema import ColumnType
from ferryml.errors import ConfigError, ConfigIssue

Severity = Literal["error", "warn"]
Scalar = str | int | float | bool


class _Rule(StrictModel):
    name: str | None = Field(
        default=None, min_length=1, description="Id of the rule in reports; default rule:column."
    )
    severity: Severity = Field(
        default="warn", description="warn: quarantine the rows; error: reject the batch."
    )

    def referenced_columns(self) -> list[str]:
        raise NotImplementedError


class _ColumnRule(_Rule):
    column: str = Field(min_length=1, description="The column checked.")

    def referenced_columns(self) -> list[str]:
        return [self.column]


class NotNullRule(_Rule):
    """Columns that must never be null; ``auto`` means every schema column not ``nullable``."""

    rule: Literal["not_null"]
    severity: Severity = "error"
    columns: list[str] | Literal["auto"] = Field(default="auto", description="Columns or auto.")

    def referenced_columns(self) -> list[str]:
        return [] if self.columns == "auto" else list(self.columns)


class TypeRule(_ColumnRule):
    """The column holds values of a schema type (ingest casts; this catches what slips)."""

    rule: Literal["type"]
    severity: Severity = "error"
    type: ColumnType


class RangeRule(_ColumnRule):
    """Values within ``[min, max]``; ``strict_*`` excludes the bound itself."""

    rule: Literal["range"]
    min: float | None = None
    max: float | None = None
    strict_min: bool = False
    strict_max: bool = False

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError(f"range rule on {self.column!r} needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range rule on {self.column!r}: min ({self.min}) > max ({self.max})")
        return self


class OutliersRule(_ColumnRule):
    """Values far from the bulk of the *chunk* (statistics computed per batch by GX).

    ``zscore``: ``|x - mean| / std > threshold``; ``iqr``: outside
    ``[q1 - threshold * iqr, q3 + threshold * iqr]``.
    """

    rule: Literal["outliers"]
    method: Literal["zscore", "iqr"] = "zscore"
    threshold: float = Field(default=4.0, gt=0, description="z-score limit or IQR factor.")


class AllowedValuesRule(_ColumnRule):
    """Non-null values belong to a set."""

    rule: Literal["allowed_values"]
    values: list[Scalar] = Field(min_length=1)


class UniqueRule(_Rule):
    """Keys unique over the whole dataset (composite allowed). For ``warn``, every occurrence
    but the first (in staged file order) is quarantined."""

    rule: Literal["unique"]
    columns: list[str] = Field(min_length=1)

    def referenced_columns(self) -> list[str]:
        return list(self.columns)


class NullWhenRule(_ColumnRule):
    """``column`` must be null on rows where every ``when`` column equals its value."""

    rule: Literal["null_when"]
    when: dict[str, Scalar] = Field(min_length=1)

    def referenced_columns(self) -> list[str]:
        return [self.column, *self.when]


class NotInFutureRule(_ColumnRule):
    """A timestamp column is at most the run's ``as_of`` time (given when validating)."""

    rule: Literal["not_in_future"]


class DistributionRule(_ColumnRule):
    """The column's distribution over the whole dataset is close to a reference sample.

    The statistic is the population stability index over ``bins`` quantile bins of the
    reference; the rule fails when ``psi > threshold`` (higher means more drift).
    """

    rule: Literal["distribution"]
    statistic: Literal["psi"] = "psi"
    threshold: float = Field(default=0.2, gt=0, description="Fails when PSI exceeds it.")
    bins: int = Field(default=10, ge=2, le=50)


Rule = Annotated[
    NotNullRule
    | TypeRule
    | RangeRule
    | OutliersRule
    | AllowedValuesRule
    | UniqueRule
    | NullWhenRule
    | NotInFutureRule
    | DistributionRule,
    Field(discriminator="rule"),
]
WHOLE_RULES = ("unique", "distribution")


class ValidationConfig(StrictModel):
    """The ``validation`` section: the rules, and the suite's name in GX reports."""

    suite_name: str = Field(default="ferryml", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    rules: list[Rule] = Field(default_factory=list)


@dataclass(frozen=True)
class Check:
    """One rule applied to its column(s): ``not_null`` expands to one check per column."""

    rule_id: str
    severity: Severity
    columns: tuple[str, ...]
    rule: Rule

    @property
    def scope(self) -> Literal["row", "whole"]:
        return "whole" if self.rule.rule in WHOLE_RULES else "row"


def resolve(
    config: ValidationConfig, *, columns: Mapping[str, bool], source: str = "validation"
) -> list[Check]:
    """The checks of ``config`` against the schema's ``columns`` (name -> nullable).

    Raises :class:`ConfigError` listing every unknown column and every duplicate rule id.
    """
    issues: list[ConfigIssue] = []
    checks: list[Check] = []
    for index, rule in enumerate(config.rules):
        where = f"validation.rules[{index}]"
        for column in rule.referenced_columns():
            if column not in columns:
                close = difflib.get_close_matches(column, list(columns), n=1)
                issues.append(
                    ConfigIssue(
                        source=source,
                        key_path=where,
                        expected="a column of the schema"
                        + (f" (did you mean {close[0]!r}?)" if close else ""),
                        found=repr(column),
                    )
                )
        if isinstance(rule, NotNullRule):
            targets = (
                [name for name, nullable in columns.items() if not nullable]
                if rule.columns == "auto"
                else rule.columns
            )
            base = rule.name or "not_null"
            checks.extend(
                Check(f"{base}:{column}", rule.severity, (column,), rule) for column in targets
            )
        else:
            cols = tuple(rule.referenced_columns()[:1] if rule.rule != "unique" else rule.columns)
            rule_id = rule.name or f"{rule.rule}:{'+'.join(cols)}"
            checks.append(Check(rule_id, rule.severity, cols, rule))
    for rule_id, count in Counter(check.rule_id for check in checks).items():
        if count > 1:
            issues.append(
                ConfigIssue(
                    source=source,
                    key_path="validation.rules",
                    expected="unique rule ids (set `name` on one of them)",
                    found=f"{rule_id!r} {count} times",
                )
            )
    if issues:
        raise ConfigError("the validation rules do not fit the schema", issues=issues)
    return checks


__all__ = [
    "WHOLE_RULES",
    "AllowedValuesRule",
    "Check",
    "DistributionRule",
    "NotInFutureRule",
    "NotNullRule",
    "NullWhenRule",
    "OutliersRule",
    "RangeRule",
    "Rule",
    "Severity",
    "TypeRule",
    "UniqueRule",
    "ValidationConfig",
    "resolve",
]
