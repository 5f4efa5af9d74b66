"""The A/B report: outcomes per arm counted as training counts them, and the effect's interval
checked against a textbook one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pytest
from scipy import stats
from sqlalchemy import Engine, insert

from ferryml.errors import InvalidInputError
from ferryml.serving.experiment import experiment_report, mean_difference
from ferryml.storage.tables import labels, predictions
from ferryml.training.config import CostConfig

NOW = datetime(2026, 3, 1, tzinfo=UTC)
COSTS = CostConfig(false_positive=10.0, false_negative=100.0, false_negative_column="amount_eur")


def test_the_interval_agrees_with_welch_on_large_arms() -> None:
    rng = np.random.default_rng(7)
    champion = rng.exponential(30.0, 20_000)
    challenger = rng.exponential(27.0, 20_000)
    effect = mean_difference("cost", champion, challenger, resamples=3000, seed=1)
    welch = stats.ttest_ind(challenger, champion, equal_var=False).confidence_interval(0.95)
    assert effect.difference == pytest.approx(challenger.mean() - champion.mean())
    # two large independent samples: the bootstrap and Welch intervals nearly coincide
    assert effect.low == pytest.approx(welch.low, abs=0.08)
    assert effect.high == pytest.approx(welch.high, abs=0.08)
    assert effect.significant


def test_no_difference_is_rarely_called_significant() -> None:
    rng = np.random.default_rng(3)
    calls = [
        mean_difference(
            "x", rng.normal(0, 1, 300), rng.normal(0, 1, 300), resamples=500, seed=s
        ).significant
        for s in range(100)
    ]
    assert sum(calls) <= 12  # about 5 in 100 at 95 %, with room for chance


def test_an_arm_without_answers_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="at least 2 matured answers"):
        mean_difference("cost", [1.0, 2.0], [3.0])


def _answer(
    request_id: str, arm: str, decision: str, event_id: str, age_days: float, amount: Any
) -> dict[str, Any]:
    when = NOW - timedelta(days=age_days)
    features = {} if amount is None else {"amount_eur": amount}
    return {
        "project": "p",
        "request_id": request_id,
        "ts": when,
        "event_id": event_id,
        "event_time": when,
        "status": 200,
        "model_name": "m",
        "model_version": "1" if arm == "champion" else "2",
        "arm": arm,
        "score": 0.5,
        "decision": decision,
        "threshold": 0.5,
        "degraded": False,
        "latency_ms": 1.0,
        "record": orjson.dumps({"features": features}).decode(),
    }


def test_each_answer_gets_its_outcome_and_cost(sqlite_engine: Engine) -> None:
    rows = [
        # champion: a good customer blocked (10), a fraud let through (its amount, 250), a
        # fraud blocked (0), a good customer approved (0), a fraud whose amount was not
        # logged (100), and the same event retried (counted once)
        _answer("c1", "champion", "block", "e1", 40, 20.0),
        _answer("c2", "champion", "approve", "e2", 40, 250.0),
        _answer("c3", "champion", "block", "e3", 40, 90.0),
        _answer("c4", "champion", "approve", "e4", 40, 15.0),
        _answer("c5", "champion", "approve", "e5", 40, None),
        _answer("c6", "champion", "approve", "e2", 40, 250.0),
        # challenger: a fraud let through whose chargeback arrives after the cutoff (looks
        # legitimate: 0), an approved good customer, and one too recent to judge
        _answer("x1", "challenger", "approve", "e7", 40, 80.0),
        _answer("x2", "challenger", "approve", "e8", 40, 12.0),
        _answer("x3", "challenger", "block", "e9", 5, 12.0),
        # another arm (a shadow) and answers before the test started are not counted
        _answer("s1", "shadow", "block", "e1", 40, 20.0),
        {**_answer("o1", "champion", "block", "e10", 40, 20.0), "ts": NOW - timedelta(days=90)},
    ]
    label_rows = [
        {"event_id": e, "label": 1, "label_time": NOW - timedelta(days=d)}
        for e, d in (("e2", 10), ("e3", 10), ("e5", 10), ("e7", -3))
    ]
    with sqlite_engine.begin() as conn:
        conn.execute(insert(predictions), rows)
        conn.execute(
            insert(labels),
            [{**r, "project": "p", "received_at": NOW, "source": "test"} for r in label_rows],
        )
    report = experiment_report(
        sqlite_engine,
        "p",
        COSTS,
        since=NOW - timedelta(days=60),
        cutoff=NOW,
        maturity_days=30,
        resamples=200,
    )
    champion, challenger = report.arms
    assert (champion.arm, champion.requests, challenger.requests) == ("champion", 5, 2)
    assert champion.cost == 10 + 250 + 100
    assert champion.cost_per_1000 == pytest.approx(1000 * 360 / 5)
    assert champion.approval_rate == pytest.approx(3 / 5)
    assert champion.fraud_rate == pytest.approx(3 / 5)
    assert champion.frauds_blocked == pytest.approx(1 / 3)
    assert (challenger.cost, challenger.fraud_rate, challenger.frauds_blocked) == (0.0, 0.0, None)
    assert challenger.versions == ("2",)
    assert report.not_matured == 1 and report.costed_by_default == 1
    cost = report.effects[0]
    assert cost.metric == "cost_per_1000"
    assert cost.difference == pytest.approx(0 - 72_000)
    document = report.as_dict()
    assert document["effects"][1]["metric"] == "approval_rate"
    assert isinstance(document["effects"][0]["significant"], bool)
