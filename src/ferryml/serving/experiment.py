"""The effect of an A/B test on the business, once the delayed labels have come in.

An ``ab`` routing sends each customer (the routing key) to one arm for good. Every answer is in
the prediction log with its arm and decision; chargebacks arrive weeks later as labels. For
the events old enough for their labels to be trusted (``training.label_maturity_days``, the
rule training uses), each answer gets its outcome — a fraud when a positive label arrived by
the cutoff, legitimate otherwise — and its cost, as training counts it
(``training.costs``): a good customer blocked costs ``false_positive``; a fraud let through
costs its amount (``false_negative_column`` times ``false_negative_factor``, read from the logged
features or request) or ``false_negative``.

Per arm: requests, approval rate, fraud rate, share of the frauds blocked, cost per 1,000
requests. The effect is the challenger minus the champion, with a percentile bootstrap
confidence interval that resamples each arm on its own (``scipy.stats.bootstrap``, two
independent samples); it is *significant* when the interval leaves out zero::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> champion = rng.exponential(20.0, 4000)
    >>> effect = mean_difference("cost_per_1000", champion, champion * 0.5, scale=1000)
    >>> effect.significant, effect.low < effect.difference < effect.high < 0
    (True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from scipy import stats
from sqlalchemy import Engine, Row

from ferryml.errors import InvalidInputError
from ferryml.serving.deployment import BLOCK
from ferryml.serving.routing import CHALLENGER, CHAMPION
from ferryml.storage.answers import answers_with_labels
from ferryml.storage.tables import labels, predictions
from ferryml.training.config import CostConfig

ARMS = (CHAMPION, CHALLENGER)
AnswerRow = Row[Any, Any, Any, Any, Any, Any, Any]
"""One answer and its label: arm, model_version, event_id, event_time, decision, record, label."""


@dataclass(frozen=True)
class ArmOutcomes:
    """The matured answers of one arm: blocked or not, fraud or not, what each cost."""

    versions: tuple[str, ...]
    blocked: npt.NDArray[np.bool_]
    fraud: npt.NDArray[np.bool_]
    cost: npt.NDArray[np.float64]
    costed_by_default: int
    """Frauds let through whose amount was not logged: costed at ``false_negative``."""


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    versions: tuple[str, ...]
    requests: int
    approval_rate: float
    fraud_rate: float
    frauds_blocked: float | None
    """Share of this arm's frauds it blocked (None without frauds)."""
    cost: float
    cost_per_1000: float


@dataclass(frozen=True)
class Effect:
    """Challenger minus champion on one metric, with its confidence interval."""

    metric: str
    champion: float
    challenger: float
    difference: float
    low: float
    high: float
    confidence: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "significant": self.significant}


@dataclass(frozen=True)
class ExperimentReport:
    since: datetime
    cutoff: datetime
    matured_before: datetime
    currency: str
    arms: list[ArmSummary]
    effects: list[Effect]
    not_matured: int
    """Answers too recent for their labels to be trusted: left out."""
    costed_by_default: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "cutoff": self.cutoff.isoformat(),
            "matured_before": self.matured_before.isoformat(),
            "currency": self.currency,
            "arms": [asdict(arm) for arm in self.arms],
            "effects": [effect.as_dict() for effect in self.effects],
            "not_matured": self.not_matured,
            "costed_by_default": self.costed_by_default,
        }


def mean_difference(
    metric: str,
    champion: npt.ArrayLike,
    challenger: npt.ArrayLike,
    *,
    scale: float = 1.0,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Effect:
    """``scale`` * (mean(challenger) - mean(champion)), with a percentile bootstrap interval
    resampling each arm independently."""
    a = np.asarray(champion, dtype=np.float64)
    b = np.asarray(challenger, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise InvalidInputError(
            f"{metric}: each arm needs at least 2 matured answers (champion {len(a)}, "
            f"challenger {len(b)})",
            hint="wait for more traffic, or for the labels to mature",
        )

    def statistic(x: Any, y: Any, axis: int) -> Any:
        return scale * (np.mean(y, axis=axis) - np.mean(x, axis=axis))

    result = stats.bootstrap(
        (a, b),
        statistic,
        vectorized=True,
        paired=False,
        n_resamples=resamples,
        batch=max(1, 2_000_000 // (len(a) + len(b))),  # bounded memory for large arms
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return Effect(
        metric=metric,
        champion=float(scale * a.mean()),
        challenger=float(scale * b.mean()),
        difference=float(statistic(a, b, 0)),
        low=float(low),
        high=float(high),
        confidence=confidence,
    )


def summarize(arm: str, outcomes: ArmOutcomes) -> ArmSummary:
    n = len(outcomes.blocked)
    frauds = int(outcomes.fraud.sum())
    return ArmSummary(
        arm=arm,
        versions=outcomes.versions,
        requests=n,
        approval_rate=float(1 - outcomes.blocked.mean()) if n else math.nan,
        fraud_rate=float(outcomes.fraud.mean()) if n else math.nan,
        frauds_blocked=float((outcomes.blocked & outcomes.fraud).sum() / frauds)
        if frauds
        else None,
        cost=float(outcomes.cost.sum()),
        cost_per_1000=float(1000 * outcomes.cost.mean()) if n else math.nan,
    )


def read_outcomes(
    engine: Engine,
    project: str,
    costs: CostConfig,
    *,
    since: datetime,
    cutoff: datetime,
    matured_before: datetime,
) -> tuple[dict[str, ArmOutcomes], int]:
    """Each arm's matured answers since ``since`` with their outcomes known at ``cutoff``,
    and how many answers were too recent."""
    columns = (
        predictions.c.arm,
        predictions.c.model_version,
        predictions.c.event_id,
        predictions.c.event_time,
        predictions.c.decision,
        predictions.c.record,
        labels.c.label,
    )
    query = (
        answers_with_labels(columns, project=project, cutoff=cutoff, arms=ARMS)
        .where(predictions.c.ts >= since)
        .order_by(predictions.c.ts)
    )
    rows: dict[str, dict[str, AnswerRow]] = {arm: {} for arm in ARMS}
    not_matured = 0
    with engine.connect() as conn:
        for row in conn.execute(query):
            event_time = row.event_time
            if event_time is not None and event_time.tzinfo is None:
                event_time = event_time.replace(tzinfo=matured_before.tzinfo)
            if event_time is None or event_time > matured_before:
                not_matured += 1
                continue
            # a retried event keeps its first answer
            rows[row.arm].setdefault(row.event_id or row.record, row)
    return {arm: _outcomes(list(by_event.values()), costs) for arm, by_event in rows.items()}, (
        not_matured
    )


def _outcomes(rows: Sequence[AnswerRow], costs: CostConfig) -> ArmOutcomes:
    blocked = np.array([row.decision == BLOCK for row in rows], dtype=bool)
    fraud = np.array([row.label == 1 for row in rows], dtype=bool)
    cost = np.zeros(len(rows))
    cost[blocked & ~fraud] = costs.false_positive
    by_default = 0
    for index in np.flatnonzero(fraud & ~blocked):
        amount = _amount(rows[int(index)].record, costs.false_negative_column)
        if amount is None:
            by_default += 1
            cost[index] = costs.false_negative
        else:
            cost[index] = amount * costs.false_negative_factor
    versions = tuple(sorted({str(row.model_version) for row in rows}))
    return ArmOutcomes(versions, blocked, fraud, cost, by_default)


def _amount(record: str, column: str | None) -> float | None:
    if column is None:
        return None
    logged = orjson.loads(record)
    for part in ("features", "request"):
        value = (logged.get(part) or {}).get(column)
        if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
            return float(value)
    return None


def experiment_report(
    engine: Engine,
    project: str,
    costs: CostConfig,
    *,
    since: datetime,
    cutoff: datetime,
    maturity_days: int,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> ExperimentReport:
    """The per-arm outcomes of the A/B test that started at ``since``, and its effects."""
    matured_before = cutoff - timedelta(days=maturity_days)
    outcomes, not_matured = read_outcomes(
        engine, project, costs, since=since, cutoff=cutoff, matured_before=matured_before
    )
    champion, challenger = outcomes[CHAMPION], outcomes[CHALLENGER]
    effects = [
        mean_difference(
            metric,
            a,
            b,
            scale=scale,
            confidence=confidence,
            resamples=resamples,
            seed=seed,
        )
        for metric, a, b, scale in (
            ("cost_per_1000", champion.cost, challenger.cost, 1000.0),
            ("approval_rate", ~champion.blocked, ~challenger.blocked, 1.0),
        )
    ]
    return ExperimentReport(
        since=since,
        cutoff=cutoff,
        matured_before=matured_before,
        currency=costs.currency,
        arms=[summarize(arm, outcomes[arm]) for arm in ARMS],
        effects=effects,
        not_matured=not_matured,
        costed_by_default=champion.costed_by_default + challenger.costed_by_default,
    )


__all__ = [
    "ArmOutcomes",
    "ArmSummary",
    "Effect",
    "ExperimentReport",
    "experiment_report",
    "mean_difference",
    "read_outcomes",
    "summarize",
]
