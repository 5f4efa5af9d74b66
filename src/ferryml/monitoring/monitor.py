"""Production traffic cut into windows, each compared with the model's baseline.

For every window (``monitoring.windows``: tumbling by default, rolling with a shorter step):

- **data drift**: each monitored column against the features' reference — the same weekdays
  only when the window is shorter than a week (``seasonality: weekly``);
- **prediction drift**: the score distribution against the held-out period's scores;
- **label drift**: the fraud rate among matured events against the model's matured training
  history (Fisher's exact test, and a rate at least ``fraud_rate_ratio`` times higher or lower);
- **performance** on matured events, with label completeness; a PR-AUC drop of at least
  ``pr_auc_drop`` below the held-out period's while the inputs as the model sees them are
  stable (its score distribution and its ``stable_top_features`` most important features did
  not drift) is **concept drift**: the relation of inputs to fraud changed, not the inputs;
- **business KPIs**: approval rate, blocks per day, fraud loss, false-positive cost;
- **explanation drift**: each feature's share of the model's attention against the held-out
  period's (:mod:`ferryml.monitoring.explanations`).

Over the whole period, **change points** (:mod:`ferryml.monitoring.changes`) say when a change
in the scores, the log loss on matured events or a drifted column began, sudden or gradual.

An empty or tiny window is not judged and says why (never a crash, never a bare NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.monitoring.baseline import ALL_WEEKDAYS, Baseline
from ferryml.monitoring.changes import ChangePoint, change_points, weekly_ranks
from ferryml.monitoring.drift import ColumnDrift, DriftReport, Reference, compare
from ferryml.monitoring.explanations import NOT_EXPLAINED, explanation_drift
from ferryml.monitoring.performance import Outcomes
from ferryml.monitoring.stats.fisher import fisher
from ferryml.monitoring.times import US_PER_DAY, iso_us, weekdays_of
from ferryml.monitoring.traffic import Traffic

SCORE = "score"


@dataclass(frozen=True)
class Window:
    """``[start_us, end_us)`` in microseconds since the epoch (UTC)."""

    start_us: float
    end_us: float

    @property
    def days(self) -> float:
        return (self.end_us - self.start_us) / US_PER_DAY

    def describe(self) -> dict[str, str]:
        return {"from": iso_us(self.start_us), "until": iso_us(self.end_us)}


def windows_between(
    start_us: float, end_us: float, days: int, step_days: int | None
) -> list[Window]:
    """Windows of ``days`` from ``start_us`` every ``step_days`` (default: ``days``), the last
    one ending at or before ``end_us``; one shorter window when the period is shorter."""
    length = days * US_PER_DAY
    step = (step_days or days) * US_PER_DAY
    if end_us - start_us < length:
        return [Window(start_us, end_us)] if end_us > start_us else []
    found = []
    at = start_us
    while at + length <= end_us:
        found.append(Window(at, at + length))
        at += step
    return found


@dataclass(frozen=True)
class WindowReport:
    """One window's verdicts and figures."""

    window: Window
    rows: int
    weekdays: list[int]
    """The reference's weekdays the features were compared with."""
    data: DriftReport
    prediction: ColumnDrift
    labels: dict[str, Any]
    performance: dict[str, Any]
    business: dict[str, float]
    versions: list[str]
    degraded_share: float
    explanations: dict[str, Any] = field(default_factory=dict)
    unstable_inputs: list[str] = field(default_factory=list)
    """What moved in the inputs as the model sees them: the score distribution and the
    drifted features among its most important (``performance.stable_top_features``)."""
    findings: list[str] = field(default_factory=list)
    """Plain sentences: what drifted, and the kind of drift."""

    @property
    def concept_drift(self) -> bool:
        """Performance dropped while the inputs the model relies on stayed as they were."""
        return bool(self.performance.get("dropped")) and not self.unstable_inputs

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.window.describe(),
            "rows": self.rows,
            "versions": self.versions,
            "degraded_share": self.degraded_share,
            "weekdays_compared": self.weekdays,
            "findings": self.findings,
            "data_drift": self.data.as_dict(),
            "prediction_drift": self.prediction.as_dict(),
            "label_drift": self.labels,
            "performance": self.performance,
            "concept_drift": self.concept_drift,
            "unstable_inputs": self.unstable_inputs,
            "business": self.business,
            "explanation_drift": self.explanations,
        }


@dataclass(frozen=True)
class MonitorReport:
    baseline: dict[str, Any]
    period: Window
    windows: list[WindowReport]
    changes: list[ChangePoint] = field(default_factory=list)
    """Change points of the period's streams (scores, log loss, drifted columns)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            **self.period.describe(),
            "windows": [window.as_dict() for window in self.windows],
            "changes": [change.as_dict() for change in self.changes],
        }


def monitor(
    baseline: Baseline,
    traffic: Traffic,
    *,
    period: Window,
    amount_column: str | None,
    flat_false_negative: float,
    false_negative_factor: float,
    false_positive_cost: float,
) -> MonitorReport:
    """Every window of ``period`` (``traffic`` may hold more) against ``baseline``."""
    config = baseline.config
    scores = Reference.of({SCORE: baseline.held_out.scores}, config.drift)
    reports = []
    for window in windows_between(
        period.start_us, period.end_us, config.windows.days, config.windows.step_days
    ):
        mask = (traffic.event_time_us >= window.start_us) & (traffic.event_time_us < window.end_us)
        current = traffic.where(mask)
        amounts = _amounts(current, amount_column, flat_false_negative) * false_negative_factor
        outcomes = Outcomes(current.score, current.blocked, current.label, amounts)
        reports.append(_judge(baseline, scores, window, current, outcomes, false_positive_cost))
    inside = (traffic.event_time_us >= period.start_us) & (traffic.event_time_us < period.end_us)
    weekly = config.windows.seasonality == "weekly"
    changes = _changes(baseline, traffic.where(inside), reports, weekly=weekly) if reports else []
    return MonitorReport(baseline.describe(), period, reports, changes)


def _changes(
    baseline: Baseline, traffic: Traffic, windows: list[WindowReport], *, weekly: bool
) -> list[ChangePoint]:
    """Change points of the scores, of the log loss on matured events and of every numeric
    column that drifted in some window, each ranked in its baseline (the same weekday's
    values when ``weekly``): ranks are uniform without drift, whatever the weekly cycle."""
    config = baseline.config.changes
    if not config.enabled or len(traffic) == 0:
        return []
    held = baseline.held_out
    streams = [
        (SCORE, traffic.event_time_us, traffic.score, baseline.held_out_weekdays, held.scores),
        (
            "log_loss",
            traffic.event_time_us[traffic.matured],
            _log_loss(traffic.label[traffic.matured], traffic.score[traffic.matured]),
            baseline.held_out_weekdays[held.matured],
            _log_loss(held.label[held.matured], held.scores[held.matured]),
        ),
    ]
    for name in sorted({name for w in windows for name in w.data.drifted}):
        values = traffic.columns.get(name)
        if values is not None and values.dtype.kind == "f" and name in baseline.columns:
            reference = np.asarray(baseline.columns[name], dtype=np.float64)
            streams.append((name, traffic.event_time_us, values, baseline.weekdays, reference))
    found = []
    for name, times, values, reference_weekdays, reference in streams:
        weekdays = weekdays_of(times)
        if not weekly:
            weekdays, reference_weekdays = weekdays * 0, reference_weekdays * 0
        ranks = weekly_ranks(weekdays, values, reference_weekdays, reference)
        found.extend(
            change_points(
                times,
                ranks,
                name,
                delta=config.delta,
                group_days=config.group_days,
                gradual_days=config.gradual_days,
            )
        )
    return found


def _log_loss(
    y: npt.NDArray[np.float64], scores: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    loss: npt.NDArray[np.float64] = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss


def _judge(
    baseline: Baseline,
    scores: Reference,
    window: Window,
    current: Traffic,
    outcomes: Outcomes,
    false_positive_cost: float,
) -> WindowReport:
    config = baseline.config
    weekdays = _weekdays_compared(window, current, config.windows.seasonality)
    data = compare(baseline.reference(weekdays), current.columns)
    prediction = compare(scores, {SCORE: current.score}).columns[0]
    labels = _label_drift(
        baseline.label_reference, outcomes, config.drift.alpha, config.performance.fraud_rate_ratio
    )
    performance = outcomes.performance(config.performance.min_positives)
    held_out = baseline.held_out.summary()
    reference_pr_auc = held_out["pr_auc"]
    performance["held_out_pr_auc"] = reference_pr_auc
    performance["held_out_calibration"] = held_out["calibration"]
    if performance["judged"] and not math.isnan(reference_pr_auc):
        drop = reference_pr_auc - performance["pr_auc"]
        performance["pr_auc_drop"] = drop
        performance["dropped"] = drop >= config.performance.pr_auc_drop
    report = WindowReport(
        window=window,
        rows=len(current),
        weekdays=sorted(weekdays),
        data=data,
        prediction=prediction,
        labels=labels,
        performance=performance,
        business=outcomes.business(false_positive_cost=false_positive_cost, days=window.days),
        versions=sorted({str(v) for v in current.version}),
        degraded_share=float(current.degraded.mean()) if len(current) else 0.0,
        explanations=_explanations(baseline, current),
        unstable_inputs=_unstable_inputs(baseline, data, prediction),
    )
    report.findings.extend(_findings(report))
    return report


def _explanations(baseline: Baseline, current: Traffic) -> dict[str, Any]:
    if baseline.explain is None or baseline.held_out_shares is None:
        return {"explained": False, "drifted": False, "reason": NOT_EXPLAINED}
    missing = [name for name in baseline.features if name not in current.columns]
    if missing:
        return {"explained": False, "drifted": False,
                "reason": f"features not logged: {', '.join(missing)}"}  # fmt: skip
    return explanation_drift(
        baseline.held_out_shares,
        baseline.explain,
        {name: current.columns[name] for name in baseline.features},
        baseline.features,
        share_delta=baseline.config.explanations.share_delta,
    )


def _weekdays_compared(window: Window, current: Traffic, seasonality: str) -> frozenset[int]:
    if seasonality == "none" or window.days >= 7:
        return ALL_WEEKDAYS
    present = frozenset(int(d) for d in np.unique(weekdays_of(current.event_time_us)))
    return present or ALL_WEEKDAYS


def _unstable_inputs(baseline: Baseline, data: DriftReport, prediction: ColumnDrift) -> list[str]:
    top = baseline.top_features(baseline.config.performance.stable_top_features)
    moved = [name for name in top if name in data.drifted]
    return (["score distribution"] if prediction.drifted else []) + moved


def _label_drift(
    reference: npt.NDArray[np.float64], current: Outcomes, alpha: float, ratio: float
) -> dict[str, Any]:
    now = current.label[current.matured]
    result: dict[str, Any] = {
        "reference_rate": float(reference.mean()) if reference.size else math.nan,
        "reference_rows": int(reference.size),
        "matured": int(now.size),
        "rate": float(now.mean()) if now.size else math.nan,
        "drifted": False,
    }
    if now.size == 0 or reference.size == 0:
        result["reason"] = "no matured event in the window yet: the labels have not come in"
        return result
    test = fisher(reference, now)
    result["p_value"] = test.p_value
    result["odds_ratio"] = test.statistic
    rate, base = result["rate"], result["reference_rate"]
    far = rate >= base * ratio or rate <= base / ratio
    result["drifted"] = bool(far and test.p_value < alpha)
    return result


def _amounts(traffic: Traffic, column: str | None, flat: float) -> np.ndarray[Any, Any]:
    if column is None or column not in traffic.columns:
        return np.full(len(traffic), flat)
    values = np.asarray(traffic.columns[column], dtype=np.float64)
    return np.where(np.isfinite(values) & (values >= 0), values, flat)


def _findings(report: WindowReport) -> list[str]:
    found = []
    if report.rows == 0:
        return ["no answered request in this window: nothing to judge"]
    if report.data.drifted:
        found.append(f"data drift in {', '.join(report.data.drifted)}")
    if report.prediction.drifted:
        found.append("prediction drift: the score distribution moved")
    if report.labels["drifted"]:
        labels = report.labels
        found.append(
            f"label drift: fraud rate {labels['rate']:.2%} among matured events vs "
            f"{labels['reference_rate']:.2%} in the training history"
        )
    if report.explanations.get("drifted"):
        found.append("explanation drift: " + "; ".join(report.explanations["reasons"]))
    performance = report.performance
    if performance.get("dropped"):
        kind = "concept drift" if report.concept_drift else "performance drop"
        why = (
            " while the inputs the model relies on are stable"
            if report.concept_drift
            else f" with its inputs moved ({', '.join(report.unstable_inputs)})"
        )
        found.append(
            f"{kind}: PR-AUC {performance['pr_auc']:.3f} vs {performance['held_out_pr_auc']:.3f} "
            "held out" + why
        )
    return found


__all__ = ["MonitorReport", "Window", "WindowReport", "monitor", "windows_between"]
