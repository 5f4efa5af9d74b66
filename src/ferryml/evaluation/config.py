"""The ``gates`` section: what a candidate model must prove before it may be promoted.

Five gates, each on by default and each with limits a team sets once ("fail deployment if
…"): quality on the held-out period, computational cost (latency, throughput, size), error
rates per subpopulation, creative edge cases, and the comparison with the current champion::

    >>> gates = GatesConfig(quality={"limits": {"roc_auc": {"min": 0.8}}})
    >>> gates.quality.limits["roc_auc"].min, gates.champion.margin
    (0.8, 0.01)
    >>> GatesConfig(quality={"limits": {"roc_auc": {"min": 0.9, "max": 0.8}}})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for GatesConfig
    ...
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel

QualityMetric = Literal[
    "roc_auc",
    "pr_auc",
    "recall_at_fpr",
    "precision",
    "recall",
    "expected_cost",
    "cost_per_1000",
]
"""Metrics of a scored period: the first three rank, the rest are at the model's threshold."""

LOWER_IS_BETTER: frozenset[str] = frozenset({"expected_cost", "cost_per_1000"})

SegmentMetric = Literal["false_positive_rate", "recall", "selection_rate"]
GateName = Literal["quality", "latency", "fairness", "edge_cases", "champion"]
GATE_NAMES: tuple[GateName, ...] = ("quality", "latency", "fairness", "edge_cases", "champion")

_NON_INFERIOR: tuple[QualityMetric, ...] = ("roc_auc", "pr_auc", "expected_cost")


def _metric_bounds(bounds: dict[QualityMetric, Bound]) -> dict[QualityMetric, Bound]:
    return bounds


SegmentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class Bound(StrictModel):
    """A metric's allowed range: ``min``, ``max`` or both."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("a bound needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class QualityGate(StrictModel):
    """Limits on the candidate's metrics on the held-out period (at its own threshold for
    precision, recall and costs)."""

    enabled: bool = True
    limits: dict[QualityMetric, Bound] = Field(
        default_factory=lambda: _metric_bounds({"roc_auc": Bound(min=0.7)}),
        description="metric -> {min, max}, e.g. pr_auc: {min: 0.3}, expected_cost: {max: 5000}.",
    )


class LatencyGate(StrictModel):
    """A micro-benchmark of the candidate inside the gate: single-row percentiles after a
    warm-up, batch throughput, model size; absolute limits and limits relative to the champion
    measured in the same run."""

    enabled: bool = True
    warmup: int = Field(default=50, ge=0, description="Untimed single-row calls first.")
    repetitions: int = Field(default=400, ge=10, description="Timed single-row calls.")
    batch_rows: int = Field(default=5000, ge=1, description="Rows per timed batch call.")
    batch_repetitions: int = Field(default=3, ge=1, description="Batch calls; the best counts.")
    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=20.0, gt=0)
    min_rows_per_second: float | None = Field(default=None, gt=0)
    max_model_mb: float | None = Field(default=200.0, gt=0)
    max_ratio_to_champion: float | None = Field(
        default=3.0,
        gt=0,
        description="Candidate p50 at most this many times the champion's, and throughput at "
        "least 1/this of it (both measured in this run). null: no relative limit.",
    )


class SegmentSpec(StrictModel):
    """How to cut one column into segments: numeric ``edges`` (with optional ``labels``), or
    the ``top`` most frequent categories (the rest become ``other``)."""

    column: str = Field(min_length=1, description="A feature or attribute of the build.")
    edges: list[float] | None = Field(
        default=None, description="Ascending cut points: [30] gives '< 30' and '>= 30'."
    )
    labels: list[str] | None = Field(default=None, description="One name per numeric segment.")
    top: int = Field(default=10, ge=1, le=100, description="Categories kept by frequency.")

    @model_validator(mode="after")
    def _consistent(self) -> SegmentSpec:
        if self.edges is not None:
            if not self.edges or any(b <= a for a, b in itertools.pairwise(self.edges)):
                raise ValueError("`edges` must be a non-empty, strictly ascending list")
            if self.labels is not None and len(self.labels) != len(self.edges) + 1:
                raise ValueError(
                    f"{len(self.edges)} edges make {len(self.edges) + 1} segments, "
                    f"but {len(self.labels)} labels are given"
                )
        elif self.labels is not None:
            raise ValueError("`labels` name numeric segments: give `edges` with them")
        return self


class Disparity(StrictModel):
    """How far apart one metric may be across the groups of a segment column. Both limits
    null: the metric is reported, not judged."""

    min_ratio: float | None = Field(
        default=None, ge=0, le=1, description="Lowest group value / highest (1: all equal)."
    )
    max_difference: float | None = Field(
        default=None, ge=0, le=1, description="Highest group value - lowest."
    )
    min_size: int | None = Field(
        default=None,
        ge=1,
        description="Groups with fewer rows in this metric's denominator are reported, not "
        "judged; null: the gate's min_segment_size.",
    )


def _default_disparities() -> dict[SegmentMetric, Disparity]:
    return {
        "false_positive_rate": Disparity(max_difference=0.02),
        "recall": Disparity(max_difference=0.3),
        "selection_rate": Disparity(),
    }


class FairnessGate(StrictModel):
    """Error rates per subpopulation (fairlearn ``MetricFrame``): per metric, the worst group
    of a segment may not be too far from the best, by ratio and by difference."""

    enabled: bool = True
    segments: dict[SegmentName, SegmentSpec] = Field(default_factory=dict)
    limits: dict[SegmentMetric, Disparity] = Field(
        default_factory=_default_disparities,
        min_length=1,
        description="Per metric: false_positive_rate and recall (equal error rates), "
        "selection_rate (share blocked). A metric left out is not computed.",
    )
    min_segment_size: int = Field(
        default=100,
        ge=1,
        description="Rows in a metric's denominator (negatives for the false-positive rate, "
        "positives for recall, all rows for the selection rate) below which a group is "
        "reported, not judged.",
    )


class Expectation(StrictModel):
    """A business rule the score must follow when one raw field moves, all else equal."""

    field: str = Field(min_length=1, description="A numeric raw field, e.g. amount.")
    direction: Literal["increasing", "decreasing"]
    tolerance: float = Field(
        default=0.0, ge=0, le=1, description="Allowed score movement against the direction."
    )
    steps: int = Field(default=12, ge=3, le=200, description="Values tried, low to high.")


class EdgeCaseGate(StrictModel):
    """A generated suite of creative inputs scored through the online feature path: missing
    optional fields, extreme values, unseen categories, brand-new entities, holiday and DST
    timestamps. Every case must score without error, finite and within [0, 1]."""

    enabled: bool = True
    base_events: int = Field(default=5, ge=1, le=500, description="Real events mutated.")
    extreme_factor: float = Field(
        default=100.0, gt=1, description="Extremes: the observed maximum times this, and 0."
    )
    holiday_countries: list[str] = Field(
        default_factory=lambda: ["US", "FR"],
        description="Public holidays of these countries (the `holidays` package) as timestamps.",
    )
    timezones: list[str] = Field(
        default_factory=lambda: ["Europe/Paris", "America/New_York"],
        description="Their daylight-saving transitions as timestamps.",
    )
    expectations: list[Expectation] = Field(default_factory=list)


class ChampionGate(StrictModel):
    """The candidate against the current champion on the same rows: paired bootstrap
    confidence intervals of each metric's difference."""

    enabled: bool = True
    alias: str = Field(default="champion", description="The registry alias to beat.")
    non_inferior: list[QualityMetric] = Field(
        default_factory=lambda: list(_NON_INFERIOR),
        description="Metrics on which the candidate may not be worse beyond the margin.",
    )
    margin: float = Field(
        default=0.01,
        ge=0,
        description="Allowed loss: absolute for ranking metrics, relative (share of the "
        "champion's value) for costs.",
    )
    better_on: QualityMetric | None = Field(
        default=None, description="Must improve on this metric; null: training.primary_metric."
    )
    require_significant: bool = Field(
        default=False,
        description="Improvement must hold at the interval's bound, not only the estimate.",
    )
    resamples: int = Field(default=1000, ge=100, le=100_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 42


class GatesConfig(StrictModel):
    """Every enabled gate must pass for a candidate to be promoted."""

    quality: QualityGate = Field(default_factory=QualityGate)
    latency: LatencyGate = Field(default_factory=LatencyGate)
    fairness: FairnessGate = Field(default_factory=FairnessGate)
    edge_cases: EdgeCaseGate = Field(default_factory=EdgeCaseGate)
    champion: ChampionGate = Field(default_factory=ChampionGate)


__all__ = [
    "GATE_NAMES",
    "LOWER_IS_BETTER",
    "Bound",
    "ChampionGate",
    "Disparity",
    "EdgeCaseGate",
    "Expectation",
    "FairnessGate",
    "GateName",
    "GatesConfig",
    "LatencyGate",
    "QualityGate",
    "QualityMetric",
    "SegmentMetric",
    "SegmentSpec",
]
