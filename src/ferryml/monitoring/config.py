"""The ``monitoring`` section: how drift is decided.

Verdicts rest on effect sizes first: at a million rows every p-value is tiny, and a weekly
cycle makes any honest window differ from a long reference. A column drifts when one of its
effect sizes reaches its floor **and** its test's p-value, corrected across columns
(Benjamini-Hochberg), is below ``alpha`` — the p-value guards small windows against noise,
the floor guards large ones against significance without consequence. A null rate that moves
or categories the reference never had are drift on their own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ferryml.config.base import StrictModel

ColumnKind = Literal["numeric", "categorical", "binary"]


class EffectFloors(StrictModel):
    """The least effect size that counts as drift, per statistic."""

    psi: float = Field(default=0.1, gt=0, description="PSI (0.1: the 'moderate' band's start).")
    wasserstein: float = Field(
        default=0.1, gt=0, description="Wasserstein-1 in reference standard deviations."
    )
    jensen_shannon: float = Field(
        default=0.1, gt=0, le=1, description="Jensen-Shannon distance (base 2, in [0, 1])."
    )
    rate_difference: float = Field(
        default=0.02, gt=0, le=1, description="Binary columns: the share of 1s moved by this."
    )


class DriftConfig(StrictModel):
    """Data drift per column: floors, significance, windows too small to judge."""

    floors: EffectFloors = Field(default_factory=EffectFloors)
    alpha: float = Field(
        default=0.01, gt=0, lt=1, description="False-discovery rate across a report's columns."
    )
    bins: int = Field(default=10, ge=2, le=100, description="Quantile bins of numeric columns.")
    min_rows: int = Field(
        default=100, ge=1, description="Fewer rows in a window (or the reference): not judged."
    )
    null_rate_delta: float = Field(
        default=0.05, gt=0, le=1, description="A null rate moved by this much is drift."
    )
    new_category_share: float = Field(
        default=0.01,
        gt=0,
        le=1,
        description="Rows in categories the reference never had: this share is drift.",
    )
    kinds: dict[str, ColumnKind] = Field(
        default_factory=dict,
        description="A column's kind when the data's own would mislead (e.g. an integer code "
        "that is a category): {column: numeric|categorical|binary}.",
    )
    anderson_darling: bool = Field(
        default=False,
        description="Run Anderson-Darling on numeric columns beside Kolmogorov-Smirnov (tail "
        "sensitive, slower; its p-value table ends at 0.001).",
    )


class WindowConfig(StrictModel):
    """How production traffic is cut into windows and what each is compared with."""

    days: int = Field(default=7, ge=1, le=366, description="Length of a window, in days.")
    step_days: int | None = Field(
        default=None,
        ge=1,
        le=366,
        description="Start of one window to the next (none: tumbling, the window's length; "
        "less than it: rolling windows that overlap).",
    )
    seasonality: Literal["none", "weekly"] = Field(
        default="weekly",
        description="weekly: a window shorter than a week is compared with the reference's "
        "same weekdays only (like with like), since weekdays and weekends differ.",
    )
    reference_days: int = Field(
        default=28,
        ge=7,
        le=3660,
        description="The features' reference: the last days of the model's training data.",
    )


class PerformanceConfig(StrictModel):
    """Performance on matured labels, and what counts as a concept drift."""

    min_positives: int = Field(
        default=5, ge=1, description="Fewer known positives in a window: performance not judged."
    )
    pr_auc_drop: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="PR-AUC this far below the held-out period's is a performance drop; with "
        "inputs stable (no data drift) it is called concept drift.",
    )
    fraud_rate_ratio: float = Field(
        default=1.5,
        gt=1,
        description="Label drift: the fraud rate among matured events this many times higher "
        "(or lower) than the held-out period's, and Fisher's exact test below drift.alpha.",
    )


class MonitoringConfig(StrictModel):
    """Windows over the prediction log; data, prediction, label and concept drift;
    performance with delayed labels; business KPIs."""

    drift: DriftConfig = Field(default_factory=DriftConfig)
    windows: WindowConfig = Field(default_factory=WindowConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
