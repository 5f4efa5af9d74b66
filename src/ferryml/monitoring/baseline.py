"""What production is compared with: the model's own training data.

- **Features** (data drift): the last ``monitoring.windows.reference_days`` of the feature
  build the model was trained on, up to its label cutoff. Each row keeps its weekday, so a
  window shorter than a week is compared with the reference's same weekdays only.
- **Scores, performance, decisions** (prediction and concept drift, business KPIs): the
  model's held-out period — the rows the gates judged it on and it never trained on. Scores
  of training rows would be too confident to compare with production's.
- **Labels** (label drift): every matured event of the model's training history. A fraud rate
  varies from week to week (fraud comes in waves and bursts): one held-out week is too short a
  reference for it.

A reference's profiles (sorted samples, bins, category counts) are computed once per weekday
set and reused for every window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from ferryml.errors import InvalidInputError
from ferryml.features.build import TRAINING_FILE
from ferryml.features.values import arrow_to_array, arrow_to_columns
from ferryml.monitoring.config import MonitoringConfig
from ferryml.monitoring.drift import Reference
from ferryml.monitoring.explanations import Contributions, attention_shares
from ferryml.monitoring.performance import Outcomes
from ferryml.monitoring.times import US_PER_DAY, iso_us, weekdays_of
from ferryml.training.dataset import Columns
from ferryml.training.tracking import TAG_PREFIX

if TYPE_CHECKING:
    from ferryml.config.loader import LoadedConfig
    from ferryml.registered import RegisteredModel
    from ferryml.registry import ModelRegistry

ALL_WEEKDAYS = frozenset(range(7))


@dataclass
class Baseline:
    """One model's reference: its training data's recent features, its held-out answers."""

    model: dict[str, str]
    columns: dict[str, npt.NDArray[Any]]
    """The reference period's monitored columns, aligned with ``weekdays``."""
    weekdays: npt.NDArray[np.int8]
    """Each reference row's weekday (UTC, Monday 0)."""
    period_us: tuple[float, float]
    held_out: Outcomes
    """The held-out period's scores, decisions and labels, and its amounts at risk."""
    held_out_weekdays: npt.NDArray[np.int8]
    """Each held-out row's weekday (for streams ranked like with like)."""
    held_out_period: dict[str, str]
    config: MonitoringConfig
    features: list[str] = field(default_factory=list)
    """The model's features, in its column order."""
    explain: Contributions | None = None
    """The model's per-feature contributions of a feature matrix (None: not explained)."""
    held_out_shares: dict[str, float] | None = None
    """Each feature's share of the model's attention on the held-out period."""
    importance: dict[str, float] = field(default_factory=dict)
    """The model's importance of each feature (which features matter to a verdict)."""
    history_labels: npt.NDArray[np.float64] | None = None
    """Labels of the model's matured training history (label drift's reference; None: the
    held-out period's)."""
    _profiles: dict[frozenset[int], Reference] = field(default_factory=dict, repr=False)

    def reference(self, weekdays: frozenset[int] = ALL_WEEKDAYS) -> Reference:
        """The features' reference over ``weekdays`` (profiled once, then reused)."""
        key = weekdays if weekdays else ALL_WEEKDAYS
        if key not in self._profiles:
            mask = np.isin(self.weekdays, sorted(key))
            chosen = {name: values[mask] for name, values in self.columns.items()}
            self._profiles[key] = Reference.of(chosen, self.config.drift)
        return self._profiles[key]

    @property
    def label_reference(self) -> npt.NDArray[np.float64]:
        """The labels label drift compares a window's with."""
        if self.history_labels is not None:
            return self.history_labels
        return self.held_out.label[self.held_out.matured]

    def top_features(self, count: int) -> list[str]:
        """The model's ``count`` most important features."""
        return by_importance(self.importance)[:count]

    def describe(self) -> dict[str, Any]:
        start, end = self.period_us
        return {
            "model": self.model,
            "features": {
                "from": iso_us(start),
                "until": iso_us(end),
                "rows": len(self.weekdays),
                "columns": list(self.columns),
            },
            "held_out": {**self.held_out_period, **self.held_out.summary()},
        }


def by_importance(importance: Mapping[str, float]) -> list[str]:
    """Feature names, the most important first."""
    return [name for name, _ in sorted(importance.items(), key=lambda kv: -kv[1])]


def monitored_columns(loaded: LoadedConfig, model_features: Sequence[str]) -> list[str]:
    """The model's features, then the raw attributes a request carries (e.g. a category):
    attributes found only in profiles are not logged with the answers, so not monitored."""
    config = loaded.config
    requested = set(config.schema_.columns)
    extra = [a for a in config.features.attributes if a in requested and a not in model_features]
    return [*model_features, *extra]


def baseline_of(
    loaded: LoadedConfig,
    registered: RegisteredModel,
    registry: ModelRegistry,
    columns: Sequence[str],
) -> Baseline:
    """The baseline of ``registered`` (read from the feature build it was trained on)."""
    from ferryml.evaluation.data import held_out

    config = loaded.config
    version = registry.get(registered.version)
    tags = registry.tracker.get_run(version.run_id).data.tags if version.run_id else {}
    cutoff_text = tags.get(TAG_PREFIX + "label_cutoff_us")
    if cutoff_text is None:
        raise InvalidInputError(
            f"model {registered.name!r} v{registered.version} has no label cutoff "
            f"({TAG_PREFIX}label_cutoff_us): its held-out period cannot be found",
            hint="monitor models trained by `ferry train`",
        )
    cutoff_us = float(cutoff_text)
    table = pq.read_table(registered.build / TRAINING_FILE)
    schema = config.schema_
    label_time = schema.columns_with_role("label_time")
    roles = Columns(
        event_time=schema.columns_with_role("event_time")[0],
        label=schema.columns_with_role("label")[0],
        label_time=label_time[0] if label_time else None,
        features=list(registered.model.features),
    )
    data = held_out(table, roles, config.training, attributes=[], cutoff_us=cutoff_us)
    scores = registered.model.predict(data.x)
    held = Outcomes(
        scores=scores,
        blocked=scores >= registered.threshold,
        label=data.y.astype(np.float64),
        amount=data.fn_costs,
    )
    window = config.monitoring.windows
    times = _times_us(table, roles.event_time)
    start = cutoff_us - window.reference_days * US_PER_DAY
    mask = (times >= start) & (times < cutoff_us)
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise InvalidInputError(
            f"the feature build of model v{registered.version} lacks the monitored columns "
            f"{missing}",
            hint="rebuild the features (attributes are kept once features.attributes lists "
            "them) and retrain",
        )
    period = table.filter(pa.array(mask))
    values = arrow_to_columns(period, list(columns))
    reference_times = times[mask]
    weekdays = weekdays_of(reference_times)
    features = list(registered.model.features)
    explain = registered.model.contributions
    contributions = explain(data.x[features].to_numpy(np.float64))
    return Baseline(
        model=registered.info,
        columns=values,
        weekdays=weekdays,
        period_us=(start, cutoff_us),
        held_out=held,
        held_out_period=data.describe(),
        held_out_weekdays=weekdays_of(data.times_us),
        config=config.monitoring,
        features=features,
        explain=explain if contributions is not None else None,
        held_out_shares=None
        if contributions is None
        else attention_shares(contributions, features),
        importance=registered.model.importance(),
        history_labels=data.history_labels.astype(np.float64),
    )


def _times_us(table: pa.Table, column: str) -> npt.NDArray[np.float64]:
    return np.asarray(arrow_to_array(table.column(column)), dtype=np.float64)


__all__ = ["ALL_WEEKDAYS", "Baseline", "baseline_of", "by_importance", "monitored_columns"]
