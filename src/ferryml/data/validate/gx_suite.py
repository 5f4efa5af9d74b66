"""The one module that talks to Great Expectations: checks -> suite -> results.

``import great_expectations`` takes seconds, so it happens inside :class:`GxSuite`'s
constructor, never when ferryml is imported. A suite is built once (ephemeral context,
validation definition over a pandas DataFrame asset) and run on every chunk.

Every expectation carries ``meta.ferry_rule`` (the check's id): GX does not return results in
the order expectations were added. Runs use ``exclude_unexpected_values``: GX 1.24 ignores a
per-expectation ``result_format`` in ``ValidationDefinition.run``, so no column (PII or not)
has its values copied into results or rendered in Data Docs; ferryml reads sample values from
the Arrow chunk itself and masks the PII columns there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ferryml.data.validate.rules import (
    AllowedValuesRule,
    Check,
    NotInFutureRule,
    NotNullRule,
    NullWhenRule,
    OutliersRule,
    RangeRule,
    TypeRule,
)
from ferryml.errors import DataError

AS_OF_PARAMETER = "ferry_as_of"
RESULT_FORMAT: dict[str, Any] = {"result_format": "COMPLETE", "exclude_unexpected_values": True}
DOCS_RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "exclude_unexpected_values": True}

_INTS = [f"{p}{n}" for p in ("int", "uint", "Int", "UInt") for n in (8, 16, 32, 64)]
# GX 1.24 cannot name a tz-aware pandas dtype in a type list, so frames reach GX with their
# UTC timestamps made naive (see ``_naive_utc``); as_of is made naive the same way.
_TIMESTAMPS = [f"datetime64[{u}]" for u in ("s", "ms", "us", "ns")]
# What a value of each schema type looks like in a DataFrame made by ``Table.to_pandas()``:
# dtype names for typed columns, element type names for object columns (GX checks both).
TYPE_NAMES: dict[str, list[str]] = {
    "string": ["str", "string"],
    "int": _INTS,
    "float": ["float16", "float32", "float64", "Float32", "Float64"],
    "bool": ["bool", "boolean"],
    "timestamp": _TIMESTAMPS,
    "date": ["date"],
}


@dataclass(frozen=True)
class CheckOutcome:
    """What GX said about one check on one frame.

    ``unexpected`` holds the failing row positions; None when the verdict is about the column
    as a whole (a dtype mismatch), in which case every row counts as failing.
    """

    rule_id: str
    success: bool
    evaluated: int
    unexpected: list[int] | None
    exception: str | None = None


class GxSuite:
    """A GX expectation suite built once from ``checks`` and run on DataFrames."""

    def __init__(self, checks: Sequence[Check], *, suite_name: str) -> None:
        self.checks = [c for c in checks if c.scope == "row"]
        self.suite_name = suite_name
        gx = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx_version: str = gx.__version__
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._definition = _populate(self._context, self.checks, suite_name)

    def run(self, frame: pd.DataFrame, *, as_of: datetime) -> list[CheckOutcome]:
        """Run the suite on ``frame`` (a default RangeIndex: positions are row numbers)."""
        if not self.checks:
            return []
        result = self._definition.run(
            batch_parameters={"dataframe": _naive_utc(frame)},
            expectation_parameters={AS_OF_PARAMETER: _naive(as_of)},
            result_format=RESULT_FORMAT,
        )
        return [_outcome(item, len(frame)) for item in result.results]

    def build_data_docs(self, frame: pd.DataFrame, *, as_of: datetime, directory: Path) -> Path:
        """Validate ``frame`` with a Checkpoint in a file-mode context rooted in ``directory``
        and build its Data Docs; returns the path of ``index.html``."""
        gx = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        directory.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(directory))
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        for name in [s.name for s in context.suites.all()]:  # a rerun in the same directory
            for checkpoint in context.checkpoints.all():
                context.checkpoints.delete(checkpoint.name)
            for definition in context.validation_definitions.all():
                context.validation_definitions.delete(definition.name)
            context.suites.delete(name)
        for source in list(context.data_sources.all()):
            context.data_sources.delete(source)
        definition = _populate(context, self.checks, self.suite_name)
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{self.suite_name}-checkpoint",
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
                result_format=DOCS_RESULT_FORMAT,
            )
        )
        checkpoint.run(
            batch_parameters={"dataframe": _naive_utc(frame)},
            expectation_parameters={AS_OF_PARAMETER: _naive(as_of)},
        )
        sites = context.get_docs_sites_urls()
        for site in sites:
            url = site.get("site_url") or ""
            if url.startswith("file://"):
                return Path(url.removeprefix("file://"))
        raise DataError(f"Great Expectations built no local Data Docs site under {directory}")


def _naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    aware = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not aware:
        return frame
    return frame.assign(**{c: frame[c].dt.tz_convert("UTC").dt.tz_localize(None) for c in aware})


def _naive(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None)


def _gx() -> Any:
    import great_expectations
    import great_expectations.checkpoint

    return great_expectations


def _populate(context: Any, checks: Sequence[Check], suite_name: str) -> Any:
    gx = _gx()
    source = context.data_sources.add_pandas(f"{suite_name}-source")
    asset = source.add_dataframe_asset(f"{suite_name}-chunk")
    batch = asset.add_batch_definition_whole_dataframe(f"{suite_name}-batch")
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for check in checks:
        suite.add_expectation(_expectation(check))
    return context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}-validation", data=batch, suite=suite)
    )


def _expectation(check: Check) -> Any:
    from great_expectations.expectations.row_conditions import Column

    ex = _gx().expectations

    rule = check.rule
    common: dict[str, Any] = {
        "severity": "critical" if check.severity == "error" else "warning",
        "meta": {"ferry_rule": check.rule_id},
    }
    column = check.columns[0]
    if isinstance(rule, NotNullRule):
        return ex.ExpectColumnValuesToNotBeNull(column=column, **common)
    if isinstance(rule, TypeRule):
        return ex.ExpectColumnValuesToBeInTypeList(
            column=column, type_list=TYPE_NAMES[rule.type], **common
        )
    if isinstance(rule, RangeRule):
        return ex.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=rule.min,
            max_value=rule.max,
            strict_min=rule.strict_min,
            strict_max=rule.strict_max,
            **common,
        )
    if isinstance(rule, OutliersRule):
        return ex.ExpectColumnValuesToNotBeOutliers(
            column=column,
            method="std" if rule.method == "zscore" else "iqr",
            multiplier=rule.threshold,
            **common,
        )
    if isinstance(rule, AllowedValuesRule):
        return ex.ExpectColumnValuesToBeInSet(column=column, value_set=rule.values, **common)
    if isinstance(rule, NullWhenRule):
        condition: Any = None
        for name, value in rule.when.items():
            term = Column(name) == value
            condition = term if condition is None else condition & term
        return ex.ExpectColumnValuesToBeNull(column=column, row_condition=condition, **common)
    if isinstance(rule, NotInFutureRule):
        return ex.ExpectColumnValuesToBeBetween(
            column=column, max_value={"$PARAMETER": AS_OF_PARAMETER}, **common
        )
    raise AssertionError(f"{rule.rule} is not a row-level rule")  # pragma: no cover


def _outcome(item: Any, rows: int) -> CheckOutcome:
    rule_id = str(item.expectation_config.meta["ferry_rule"])
    info = item.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "the expectation raised")
        return CheckOutcome(rule_id, False, rows, None, exception=message)
    result = item.result or {}
    indices = result.get("unexpected_index_list")
    evaluated = int(result.get("element_count", rows))
    if indices is None and not item.success:
        return CheckOutcome(rule_id, False, evaluated, None)
    return CheckOutcome(rule_id, bool(item.success), evaluated, [int(i) for i in indices or []])


__all__ = ["AS_OF_PARAMETER", "TYPE_NAMES", "CheckOutcome", "GxSuite"]
