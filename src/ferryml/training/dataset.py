"""From a feature build's training set to the three periods a run trains, tunes and tests on.

:func:`prepare` reads the training set of a build, keeps the features the models may use,
applies the label rules (positives known at the cutoff only; events younger than the maturity
window left out), splits by time, weights the rare class and runs the input checks. Everything
a report must state comes back with it: the split, label completeness per week, class counts,
warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from ferryml.errors import InvalidInputError
from ferryml.features.values import arrow_to_columns
from ferryml.training.checks import check_classes, check_not_all_null, leaking_features
from ferryml.training.config import TrainingConfig
from ferryml.training.labels import PeriodLabels, label_completeness, labels_known_at
from ferryml.training.splits import TimeSplit, plan_split
from ferryml.training.trainers.base import TrainingData


@dataclass(frozen=True)
class Columns:
    """The roles of the training set's columns the run needs."""

    event_time: str
    label: str
    label_time: str | None
    features: Sequence[str]


@dataclass(frozen=True)
class Period:
    """One period's features, known labels and false-negative costs."""

    x: pd.DataFrame
    y: npt.NDArray[np.int8]
    fn_costs: npt.NDArray[np.float64]

    @property
    def positives(self) -> int:
        return int(self.y.sum())


@dataclass(frozen=True)
class PreparedData:
    """The periods of one run and what the run's report states about them."""

    train: Period
    validation: Period
    test: Period
    weights: npt.NDArray[np.float64]
    split: TimeSplit
    completeness: list[PeriodLabels]
    excluded_young: int
    """Events left out because their labels may still arrive."""
    warnings: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return [str(c) for c in self.train.x.columns]

    def training_data(self) -> TrainingData:
        return TrainingData(
            self.train.x, self.train.y, self.weights, self.validation.x, self.validation.y
        )

    def summary(self) -> dict[str, Any]:
        """Counts per period and the class weight, for run parameters and reports."""
        out: dict[str, Any] = {"excluded_young_events": self.excluded_young}
        for name, period in (
            ("train", self.train),
            ("validation", self.validation),
            ("test", self.test),
        ):
            out[f"{name}_rows"] = len(period.y)
            out[f"{name}_positives"] = period.positives
        out["positive_weight"] = float(self.weights.max()) if len(self.weights) else 1.0
        return out


def prepare(
    table: pa.Table,
    columns: Columns,
    config: TrainingConfig,
    *,
    cutoff_us: float | None = None,
) -> PreparedData:
    """The periods of ``table`` (a build's training set) as of ``cutoff_us`` (default: its
    latest event, i.e. training right after the data ends)."""
    features = [name for name in columns.features if name not in set(config.exclude_features)]
    unknown = sorted(set(config.exclude_features) - set(columns.features))
    if unknown:
        raise InvalidInputError(
            f"training.exclude_features names {unknown}, which the feature set does not have",
            hint=f"the features are: {list(columns.features)}",
        )
    labeled = read_labeled(table, columns, features, config, cutoff_us)
    data, times, split, known = labeled.data, labeled.times, labeled.split, labeled.known
    cutoff, labels, label_times = labeled.cutoff_us, labeled.labels, labeled.label_times
    fn_costs = false_negative_costs(data, config)
    x = pd.DataFrame({name: numeric_column(data[name], name) for name in features})
    periods = [
        Period(x[mask].reset_index(drop=True), known[mask], fn_costs[mask])
        for mask in split.masks(times)
    ]
    train, validation, test = periods
    for name, period in (("training", train), ("validation", validation), ("test", test)):
        check_classes(period.y, name)
    check_not_all_null(train.x)
    weights = _class_weights(train.y, balance=config.balance_classes)
    warnings = [
        f"feature {name!r} alone ranks the training labels with ROC-AUC {auc:.3f}: "
        "it probably leaks the label (a value known only after the outcome)"
        for name, auc in leaking_features(train.x, train.y, seed=config.seed).items()
    ]
    before = times <= cutoff
    young = int((before & (times >= split.mature_end_us)).sum())
    completeness = label_completeness(times[before], labels[before], label_times[before], cutoff)
    return PreparedData(train, validation, test, weights, split, completeness, young, warnings)


@dataclass(frozen=True)
class LabeledTable:
    """A build's columns with the labels known at the cutoff and the split at that cutoff."""

    data: dict[str, npt.NDArray[Any]]
    times: npt.NDArray[np.float64]
    labels: npt.NDArray[Any]
    label_times: npt.NDArray[np.float64]
    known: npt.NDArray[np.int8]
    cutoff_us: float
    split: TimeSplit


def read_labeled(
    table: pa.Table,
    columns: Columns,
    features: Sequence[str],
    config: TrainingConfig,
    cutoff_us: float | None,
) -> LabeledTable:
    """``features``, times, labels and costs of ``table``; labels known at ``cutoff_us``
    (default: the latest event) and the time split there. Training and the gates read a
    build through this one function, so both apply the same label rules."""
    needed = [columns.event_time, columns.label, *features]
    if columns.label_time is not None:
        needed.append(columns.label_time)
    if config.costs.false_negative_column and config.costs.false_negative_column not in needed:
        needed.append(config.costs.false_negative_column)
    missing = [name for name in needed if name not in table.column_names]
    if missing:
        raise InvalidInputError(
            f"the feature build lacks the columns {missing}",
            hint="rebuild it with `ferry features build`, or fix training.costs / the schema",
        )
    data = arrow_to_columns(table, list(dict.fromkeys(needed)))
    times = data[columns.event_time]
    if len(times) == 0:
        raise InvalidInputError("the feature build is empty", hint="ingest data first")
    cutoff = float(np.nanmax(times)) if cutoff_us is None else cutoff_us
    label_times = (
        data[columns.label_time] if columns.label_time is not None else np.full(len(times), np.nan)
    )
    labels = data[columns.label]
    split = plan_split(
        first_us=float(np.nanmin(times)),
        cutoff_us=cutoff,
        maturity_days=config.label_maturity_days,
        validation_days=config.split.validation_days,
        test_days=config.split.test_days,
        min_train_days=config.split.min_train_days,
    )
    known = labels_known_at(labels, label_times, cutoff)
    return LabeledTable(data, times, labels, label_times, known, cutoff, split)


def numeric_column(values: npt.NDArray[Any], name: str) -> npt.NDArray[np.float64]:
    if values.dtype == object:
        raise InvalidInputError(
            f"feature {name!r} holds text; models take numbers",
            hint="encode it (one_hot, ordinal or frequency) in the features section",
        )
    return values.astype(np.float64)


def false_negative_costs(
    data: dict[str, npt.NDArray[Any]], config: TrainingConfig
) -> npt.NDArray[np.float64]:
    costs = config.costs
    size = len(next(iter(data.values())))
    if costs.false_negative_column is None:
        return np.full(size, costs.false_negative, dtype=np.float64)
    column = costs.false_negative_column
    values = numeric_column(data[column], column)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InvalidInputError(
            f"the cost column {column!r} has {int(bad.sum())} missing, negative or infinite "
            "values; every event must say what missing it would cost",
            hint="choose another training.costs.false_negative_column, or a fixed "
            "training.costs.false_negative",
        )
    return values * costs.false_negative_factor


def _class_weights(y: npt.NDArray[np.int8], *, balance: bool) -> npt.NDArray[np.float64]:
    """1 for negatives; for positives, negatives/positives when balancing (their total weight
    then equals the negatives'), else 1."""
    weights = np.ones(len(y), dtype=np.float64)
    positives = int(y.sum())
    if balance and 0 < positives < len(y):
        weights[y == 1] = (len(y) - positives) / positives
    return weights


__all__ = [
    "Columns",
    "LabeledTable",
    "Period",
    "PreparedData",
    "false_negative_costs",
    "numeric_column",
    "prepare",
    "read_labeled",
]
