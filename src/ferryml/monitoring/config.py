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


class MonitoringConfig(StrictModel):
    """Drift, performance, alerts (drift decisions land first)."""

    drift: DriftConfig = Field(default_factory=DriftConfig)
