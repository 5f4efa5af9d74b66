"""The ``monitoring`` section: how drift is decided.

Verdicts rest on effect sizes first: at a million rows every p-value is tiny, and a weekly
cycle makes any honest window differ from a long reference. A column drifts when one of its
effect sizes reaches its floor **and** its test's p-value, corrected across columns
(Benjamini-Hochberg), is below ``alpha`` — the p-value guards small windows against noise,
the floor guards large ones against significance without consequence. A null rate that moves
or categories the reference never had are drift on their own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel

ColumnKind = Literal["numeric", "categorical", "binary"]


class EffectFloors(StrictModel):
    """The least effect size that counts as drift, per statistic (any one reaching its floor,
    with a significant test, is drift).

    Calibrated on ``benchmarks/drift.py`` (mild shifts at a million rows: a 0.1-sd mean shift
    gives Jensen-Shannon 0.042 and Wasserstein 0.10, a heavier tail at equal variance 0.070 and
    0.10, 5 % more zeros 0.058 and 0.049, while unchanged columns stay below 0.009 and 0.004)
    and on the reference project's no-drift weeks, where small windows are kept quiet by the
    p-value, not by the floors. Jensen-Shannon is the floor that binds first at these values:
    a distance of 0.03 is a PSI near 0.005, so the PSI floor keeps PSI's customary band.
    """

    psi: float = Field(default=0.1, gt=0, description="PSI (0.1: the 'moderate' band's start).")
    wasserstein: float = Field(
        default=0.05, gt=0, description="Wasserstein-1 in reference standard deviations."
    )
    jensen_shannon: float = Field(
        default=0.03, gt=0, le=1, description="Jensen-Shannon distance (base 2, in [0, 1])."
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
        default=0.05,
        gt=0,
        le=1,
        description="A null rate moved by this much (and significantly) is drift.",
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
        "the inputs stable (see stable_top_features) it is called concept drift.",
    )
    fraud_rate_ratio: float = Field(
        default=1.5,
        gt=1,
        description="Label drift: the fraud rate among matured events this many times higher "
        "(or lower) than in the model's matured training history, and Fisher's exact test "
        "below drift.alpha.",
    )
    stable_top_features: int = Field(
        default=5,
        ge=0,
        description="A performance drop is called concept drift when the inputs as the model "
        "sees them are stable: its score distribution and its N most important features did "
        "not drift (a drift in a feature it hardly uses does not explain a drop).",
    )


class ExplanationConfig(StrictModel):
    """Explanation drift: the model's attention (mean |contribution| shares) per window."""

    share_delta: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="A feature whose share of the model's attention moves this much (0.05: "
        "five points) is explanation drift.",
    )


class ChangeConfig(StrictModel):
    """Change points on streams (river's ADWIN): when a change began, sudden or gradual."""

    enabled: bool = True
    delta: float = Field(
        default=0.002, gt=0, lt=1, description="ADWIN's confidence (smaller: fewer detections)."
    )
    group_days: float = Field(
        default=3.0,
        gt=0,
        description="Detections in the same direction within this of each other are one change.",
    )
    gradual_days: float = Field(
        default=1.0, gt=0, description="A change caught repeatedly over longer is gradual."
    )


Severity = Literal["info", "warning", "critical"]
KPI = Literal[
    "approval_rate", "blocks_per_day", "fraud_loss", "false_positive_cost", "cost_per_1000"
]


class _Rule(StrictModel):
    name: str = Field(min_length=1, max_length=63, description="How alerts of the rule are named.")
    severity: Severity = "warning"
    retrain: bool = Field(
        default=False,
        description="A firing rule asks for retraining (done where monitoring.retraining allows).",
    )


class DataDriftRule(_Rule):
    """Columns that drifted (the verdict of ``monitoring.drift``), optionally only among the
    model's most important features and with a least PSI."""

    kind: Literal["data_drift"]
    top_features: int | None = Field(
        default=None, ge=1, description="Only the model's N most important features."
    )
    columns: list[str] = Field(default_factory=list, description="Only these columns.")
    min_psi: float | None = Field(default=None, gt=0, description="And a PSI at least this.")


class NullRateRule(_Rule):
    """A column whose share of missing values moved (a dropped or broken input): by
    ``delta`` at least, and significantly (Fisher's exact test below ``drift.alpha``)."""

    kind: Literal["null_rate"]
    delta: float = Field(default=0.05, gt=0, le=1)
    direction: Literal["up", "down", "both"] = Field(
        default="up",
        description="up: more missing values (a feed that broke or stopped sending a field); "
        "down catches fewer, which also comes with more traffic (a window aggregate of an "
        "entity is missing when it has no history) and shows as data drift anyway.",
    )


class VerdictRule(_Rule):
    """A window-level verdict: prediction, label, concept or explanation drift, or a
    performance drop."""

    kind: Literal[
        "prediction_drift", "label_drift", "concept_drift", "performance_drop", "explanation_drift"
    ]


class KpiRule(_Rule):
    """A business KPI outside its band."""

    kind: Literal["kpi"]
    kpi: KPI
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> KpiRule:
        if self.min is None and self.max is None:
            raise ValueError(f"rule {self.name!r}: give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"rule {self.name!r}: min {self.min} is above max {self.max}")
        return self


AlertRule = Annotated[
    DataDriftRule | NullRateRule | VerdictRule | KpiRule, Field(discriminator="kind")
]


def _default_rules() -> list[AlertRule]:
    return [
        DataDriftRule(name="top-feature-drift", kind="data_drift", top_features=10, min_psi=0.2),
        NullRateRule(name="null-rate", kind="null_rate", severity="critical"),
        VerdictRule(name="prediction-drift", kind="prediction_drift"),
        VerdictRule(name="label-drift", kind="label_drift"),
        VerdictRule(name="explanation-drift", kind="explanation_drift"),
        VerdictRule(name="concept-drift", kind="concept_drift", severity="critical", retrain=True),
        VerdictRule(name="performance-drop", kind="performance_drop", retrain=True),
    ]


class WebhookConfig(StrictModel):
    """Where alerts are POSTed as JSON."""

    url: str = Field(pattern=r"^https?://", description="http(s) URL receiving the alerts.")
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    token_env: str | None = Field(
        default=None,
        description="Environment variable holding a bearer token sent with each POST.",
    )


class AlertsConfig(StrictModel):
    """Rules evaluated on every window; alerts go to the log and, when set, a webhook."""

    rules: list[AlertRule] = Field(default_factory=_default_rules)
    webhook: WebhookConfig | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsConfig:
        names = [rule.name for rule in self.rules]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"alert rule names must be unique: {', '.join(twice)} repeated")
        return self


class RetrainingConfig(StrictModel):
    """What the monitor job does when an alert asks for retraining (``retrain: true`` rules)."""

    enabled: bool = Field(
        default=False,
        description="Train, gate and enter the best passing model as challenger by itself; "
        "off: the job only says that retraining was asked.",
    )
    cooldown_days: float = Field(
        default=7.0, ge=0, description="At most one retraining in this many days."
    )


class MonitoringConfig(StrictModel):
    """Windows over the prediction log; data, prediction, label and concept drift;
    performance with delayed labels; business KPIs."""

    drift: DriftConfig = Field(default_factory=DriftConfig)
    windows: WindowConfig = Field(default_factory=WindowConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    explanations: ExplanationConfig = Field(default_factory=ExplanationConfig)
    changes: ChangeConfig = Field(default_factory=ChangeConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    retraining: RetrainingConfig = Field(default_factory=RetrainingConfig)
