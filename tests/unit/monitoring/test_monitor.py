"""Windows over production traffic against a baseline: windows cut as configured, weekdays
right, performance and business figures equal to sklearn's and to hand counts, and each kind
of drift flagged in the window it happens in only — data drift for moved inputs, like with
like for weekday patterns, prediction and label drift, concept drift when the relation of
inputs to fraud changes while the inputs do not; empty windows answered with a reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from ferryml.monitoring.baseline import Baseline
from ferryml.monitoring.config import MonitoringConfig
from ferryml.monitoring.explanations import NOT_EXPLAINED, attention_shares
from ferryml.monitoring.monitor import (
    MonitorReport,
    Window,
    WindowReport,
    monitor,
    windows_between,
)
from ferryml.monitoring.performance import Outcomes
from ferryml.monitoring.times import US_PER_DAY, weekdays_of
from ferryml.monitoring.traffic import Traffic

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
US = 1_000_000


def us(moment: datetime) -> float:
    return moment.timestamp() * US


def test_windows_tumble_roll_and_shrink_to_a_short_period() -> None:
    start = us(START)
    tumbling = windows_between(start, start + 21 * US_PER_DAY, 7, None)
    assert [(w.start_us - start) / US_PER_DAY for w in tumbling] == [0, 7, 14]
    rolling = windows_between(start, start + 21 * US_PER_DAY, 7, 1)
    assert len(rolling) == 15 and rolling[-1].end_us == start + 21 * US_PER_DAY
    assert windows_between(start, start + 3 * US_PER_DAY, 7, None) == [
        Window(start, start + 3 * US_PER_DAY)
    ]
    assert windows_between(start, start, 7, None) == []


def test_weekdays_are_pythons() -> None:
    moments = [START + timedelta(hours=h) for h in range(0, 24 * 30, 7)]
    times = np.array([us(m) for m in moments])
    assert weekdays_of(times).tolist() == [m.weekday() for m in moments]


def test_performance_and_business_figures_match_sklearn_and_hand_counts() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    label = (rng.random(n) < 0.05).astype(float)
    scores = np.clip(rng.normal(0.2 + 0.5 * label, 0.2), 0, 1)
    label[rng.random(n) < 0.3] = np.nan  # not matured
    blocked = scores >= 0.5
    amount = rng.exponential(80, n)
    outcomes = Outcomes(scores, blocked, label, amount)
    matured = ~np.isnan(label)
    y = label[matured]
    performance = outcomes.performance(min_positives=5)
    assert performance["judged"]
    assert performance["label_completeness"] == pytest.approx(matured.mean(), abs=1e-12)
    expected_ap = average_precision_score(y, scores[matured])
    assert performance["pr_auc"] == pytest.approx(expected_ap, abs=1e-12)
    tp = int((blocked[matured] & (y == 1)).sum())
    assert performance["recall"] == pytest.approx(tp / y.sum())
    assert performance["precision"] == pytest.approx(tp / blocked[matured].sum())
    business = outcomes.business(false_positive_cost=10.0, days=7.0)
    fraud_passed = matured & (np.nan_to_num(label) == 1) & ~blocked
    legit_blocked = matured & (np.nan_to_num(label, nan=1) == 0) & blocked
    assert business["fraud_loss"] == pytest.approx(amount[fraud_passed].sum())
    assert business["false_positive_cost"] == 10.0 * legit_blocked.sum()
    assert business["approval_rate"] == pytest.approx(1 - blocked.mean())
    assert business["blocks_per_day"] == pytest.approx(blocked.sum() / 7)
    expected_cost = 1000 * (amount[fraud_passed].sum() + 10.0 * legit_blocked.sum()) / matured.sum()
    assert business["cost_per_1000"] == pytest.approx(expected_cost)


def test_performance_without_enough_positives_is_not_judged_and_says_why() -> None:
    outcomes = Outcomes(np.array([0.1, 0.9]), np.array([False, True]), np.array([0.0, 1.0]),
                        np.ones(2))  # fmt: skip
    performance = outcomes.performance(min_positives=5)
    assert not performance["judged"] and "1 known positives" in performance["reason"]
    assert math.isnan(performance["pr_auc"])


# -- a baseline and traffic with known changes ------------------------------------------------

CATEGORIES = np.array(["grocery", "fuel", "travel"], dtype=object)
Part = tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]
"""One generated stretch of events: times, columns, labels, scores."""


def events(
    rng: np.random.Generator,
    start: datetime,
    days: int,
    per_day: int,
    *,
    amount_shift: float = 0.0,
    weekend_pattern: bool = True,
    inverted: bool = False,
) -> Part:
    """Times, columns, labels and scores of generated events. Fraud follows ``risk`` (or,
    ``inverted``, its opposite: the same inputs, another relation to fraud); the model
    always scores by ``risk``. ``weekend_pattern``: amounts are higher on weekends."""
    n = days * per_day
    times = us(start) + np.sort(rng.random(n)) * days * US_PER_DAY
    weekend = weekdays_of(times) >= 5
    amount = rng.lognormal(3.0 + amount_shift + (0.8 * weekend if weekend_pattern else 0), 0.5, n)
    risk = rng.random(n)
    chance = 0.02 + 0.25 * ((1 - risk) if inverted else risk) ** 4
    label = (rng.random(n) < chance).astype(float)
    scores = np.clip(risk + rng.normal(0, 0.05, n), 0, 1)
    columns = {
        "amount": amount,
        "risk": risk,
        "category": rng.choice(CATEGORIES, size=n),
    }
    return times, columns, label, scores


def baseline(rng: np.random.Generator, config: MonitoringConfig) -> Baseline:
    times, columns, _, _ = events(rng, START - timedelta(days=28), 28, 400)
    held_times, _, label, scores = events(rng, START - timedelta(days=7), 7, 400)
    held = Outcomes(scores, scores >= 0.8, label, np.full(len(scores), 100.0))
    return Baseline(
        model={"name": "m", "version": "1", "alias": "champion"},
        columns=columns,
        weekdays=weekdays_of(times),
        period_us=(us(START - timedelta(days=28)), us(START)),
        held_out=held,
        held_out_weekdays=weekdays_of(held_times),
        held_out_period={"from": "", "until": ""},
        config=config,
        importance={"amount": 0.7, "risk": 0.3},
    )


def traffic(parts: list[Part]) -> Traffic:
    times = np.concatenate([p[0] for p in parts])
    scores = np.concatenate([p[3] for p in parts])
    return Traffic(
        event_time_us=times,
        score=scores,
        blocked=scores >= 0.8,
        label=np.concatenate([p[2] for p in parts]),
        version=np.full(len(times), "1", dtype=object),
        degraded=np.zeros(len(times), dtype=bool),
        columns={name: np.concatenate([p[1][name] for p in parts]) for name in parts[0][1]},
    )


def report_of(
    config: MonitoringConfig,
    parts: list[Part],
    days: int,
    start: datetime = START,
    base: Baseline | None = None,
) -> MonitorReport:
    """The report on ``days`` from ``start`` of ``parts`` against ``base`` (default: a
    generated baseline)."""
    return monitor(
        base or baseline(np.random.default_rng(11), config),
        traffic(parts),
        period=Window(us(start), us(start + timedelta(days=days))),
        amount_column="amount",
        flat_false_negative=100.0,
        false_negative_factor=1.0,
        false_positive_cost=10.0,
    )


def run(
    config: MonitoringConfig, parts: list[Part], days: int, start: datetime = START
) -> list[WindowReport]:
    return report_of(config, parts, days, start).windows


def test_each_kind_of_drift_shows_in_its_own_window_only() -> None:
    config = MonitoringConfig()
    rng = np.random.default_rng(5)
    weeks = [
        events(rng, START, 7, 400),  # control: nothing moves
        events(rng, START + timedelta(days=7), 7, 400, amount_shift=0.4),  # data drift
        events(rng, START + timedelta(days=14), 7, 400, inverted=True),  # concept drift
        events(rng, START + timedelta(days=21), 7, 400, amount_shift=0.4, inverted=True),
    ]
    control, moved, concept, both = run(config, weeks, 28)
    assert control.findings == [], control.findings
    assert moved.data.drifted == ("amount",)
    assert not moved.prediction.drifted and not moved.concept_drift
    assert concept.data.drifted == () and not concept.prediction.drifted
    assert concept.performance["dropped"] and concept.concept_drift
    assert any(f.startswith("concept drift") for f in concept.findings)
    # inputs moved too: a performance drop, not called concept drift
    assert both.data.drifted == ("amount",) and both.performance["dropped"]
    assert not both.concept_drift and any(f.startswith("performance drop") for f in both.findings)
    assert control.business["approval_rate"] == pytest.approx(1 - (weeks[0][3] >= 0.8).mean())


def test_prediction_and_label_drift_are_flagged() -> None:
    config = MonitoringConfig()
    rng = np.random.default_rng(8)
    times, columns, label, scores = events(rng, START, 7, 400)
    riskier = np.clip(scores + 0.15, 0, 1)
    label = np.maximum(label, (rng.random(len(label)) < 0.05).astype(float))
    (window,) = run(config, [(times, columns, label, riskier)], 7)
    assert window.prediction.drifted
    assert window.labels["drifted"] and window.labels["rate"] > window.labels["reference_rate"]


def test_a_weekend_day_is_compared_with_weekend_days_of_the_reference() -> None:
    rng = np.random.default_rng(9)
    saturday = START + timedelta(days=5)
    day = [events(rng, saturday, 1, 1500)]
    like_with_like = MonitoringConfig.model_validate({"windows": {"days": 1}})
    (window,) = run(like_with_like, day, 1, saturday)
    assert window.weekdays == [5] and "amount" not in window.data.drifted
    against_all = MonitoringConfig.model_validate({"windows": {"days": 1, "seasonality": "none"}})
    (window,) = run(against_all, day, 1, saturday)
    assert window.weekdays == list(range(7)) and "amount" in window.data.drifted


def test_an_empty_window_is_not_judged_and_says_why() -> None:
    config = MonitoringConfig()
    rng = np.random.default_rng(2)
    first_week = [events(rng, START, 7, 300)]
    _, empty = run(config, first_week, 14)
    assert empty.rows == 0
    assert empty.findings == ["no answered request in this window: nothing to judge"]
    assert {c.status for c in empty.data.columns} == {"not judged"}
    assert not empty.performance["judged"] and "reason" in empty.labels
    facts = empty.as_dict()
    assert facts["business"]["blocks_per_day"] == 0.0


def test_explanation_drift_follows_the_inputs_the_model_relies_on() -> None:
    """A real LightGBM model on the generated events: when amount, one of its inputs, moves,
    the model's attention moves with it; in the control week it does not."""
    import lightgbm as lgb

    rng = np.random.default_rng(21)
    _, columns, label, _ = events(rng, START - timedelta(days=28), 28, 400)
    features = ["amount", "risk"]
    x = np.column_stack([columns[name] for name in features])
    label = np.maximum(label, (columns["amount"] > 60).astype(float) * (rng.random(len(x)) < 0.3))
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1,
                         "deterministic": True, "seed": 1}, lgb.Dataset(x, label), 40)  # fmt: skip

    def explain(values: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict(values, pred_contrib=True))

    config = MonitoringConfig()
    base = baseline(rng, config)
    held = base.columns
    base.features, base.explain = features, explain
    base.held_out_shares = attention_shares(
        explain(np.column_stack([held[name] for name in features])), features
    )
    weeks = [
        events(rng, START, 7, 400),
        events(rng, START + timedelta(days=7), 7, 400, amount_shift=0.6),
    ]
    report = report_of(config, weeks, 14, base=base)
    control, moved = report.windows
    assert control.explanations["explained"] and not control.explanations["drifted"]
    shares = moved.explanations
    assert shares["drifted"] and shares["reasons"][0].startswith("amount: ")
    assert shares["shares"]["amount"] > shares["held_out_shares"]["amount"] + 0.05
    assert sum(shares["shares"].values()) == pytest.approx(1.0)
    assert any(f.startswith("explanation drift") for f in moved.findings)


def test_a_model_without_contributions_is_reported_as_not_explained() -> None:
    config = MonitoringConfig()
    (window,) = run(config, [events(np.random.default_rng(4), START, 7, 300)], 7)
    assert window.explanations == {"explained": False, "drifted": False, "reason": NOT_EXPLAINED}


def test_the_report_dates_the_change_of_a_drifted_column() -> None:
    config = MonitoringConfig()
    rng = np.random.default_rng(12)
    shift_at = START + timedelta(days=10)
    weeks = [
        events(rng, START, 10, 400),
        events(rng, shift_at, 11, 400, amount_shift=0.4),
    ]
    report = report_of(config, weeks, 21)
    amount = [c for c in report.changes if c.series == "amount"]
    assert len(amount) == 1 and amount[0].kind == "sudden"
    began = datetime.fromisoformat(amount[0].began.rstrip("Z")).replace(tzinfo=UTC)
    assert abs(began - shift_at) < timedelta(hours=36)
    assert not [c for c in report.changes if c.series == "score"]  # the scores did not move
    assert report.as_dict()["changes"][0]["series"] in {"amount", "log_loss"}
