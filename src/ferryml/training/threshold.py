"""The decision threshold that minimizes what errors cost the business.

Blocking a good customer (a false positive) costs a fixed amount; letting a fraud through (a
false negative) costs what it takes, usually its amount. A transaction is blocked when its
score is at or above the threshold. All thresholds are evaluated at once: sort the scores,
accumulate the negatives blocked and the fraud cost let through, pick the cheapest (ties go to
the higher threshold, which blocks fewer customers)::

    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1])
    >>> scores = np.array([0.1, 0.6, 0.4, 0.9])
    >>> best = best_threshold(y, scores, fn_costs=np.array([0, 0, 50.0, 80.0]), fp_cost=10.0)
    >>> best.threshold, best.expected_cost, best.false_positives, best.false_negatives
    (0.4, 10.0, 1, 0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError


@dataclass(frozen=True)
class CostThreshold:
    """The chosen threshold and what it costs on the rows it was chosen on."""

    threshold: float
    """Block when ``score >= threshold``; ``inf`` blocks nothing."""
    expected_cost: float
    cost_per_1000: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    cost_block_nothing: float
    cost_block_everything: float

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        positives = self.true_positives + self.false_negatives
        return self.true_positives / positives if positives else 0.0

    def as_dict(self) -> dict[str, float]:
        values = {key: float(value) for key, value in asdict(self).items()}
        return {**values, "precision": self.precision, "recall": self.recall}


def expected_cost(
    y_true: npt.ArrayLike, blocked: npt.ArrayLike, fn_costs: npt.ArrayLike, fp_cost: float
) -> float:
    """What the decisions ``blocked`` cost: ``fp_cost`` per blocked negative, plus the cost of
    every positive not blocked."""
    y = np.asarray(y_true) == 1
    b = np.asarray(blocked, dtype=bool)
    return float(fp_cost * np.sum(~y & b) + np.sum(np.asarray(fn_costs, float)[y & ~b]))


def best_threshold(
    y_true: npt.ArrayLike, scores: npt.ArrayLike, fn_costs: npt.ArrayLike, fp_cost: float
) -> CostThreshold:
    """The threshold among the observed scores (or ``inf``) with the least expected cost."""
    y = np.asarray(y_true) == 1
    s = np.asarray(scores, dtype=np.float64)
    costs = np.asarray(fn_costs, dtype=np.float64)
    if not (len(y) == len(s) == len(costs)) or len(y) == 0:
        raise InvalidInputError(
            f"labels, scores and costs must be non-empty and of one length, got "
            f"{len(y)}, {len(s)}, {len(costs)}"
        )
    if not (np.isfinite(s).all() and np.isfinite(costs).all()) or (costs < 0).any():
        raise InvalidInputError(
            "scores must be finite and false-negative costs finite and >= 0",
            hint="check the cost column (training.costs.false_negative_column) for nulls",
        )
    order = np.argsort(-s, kind="stable")
    sorted_scores = s[order]
    blocked_negatives = np.cumsum(~y[order])
    caught_cost = np.cumsum(np.where(y[order], costs[order], 0.0))
    total_fn = float(costs[y].sum())
    # Blocking the first k rows is a threshold only where the next score is lower (ties move
    # together); k = 0 is "block nothing".
    ends = np.flatnonzero(np.r_[sorted_scores[1:] < sorted_scores[:-1], True])
    candidate_cost = np.r_[
        total_fn, fp_cost * blocked_negatives[ends] + total_fn - caught_cost[ends]
    ]
    best = int(np.argmin(candidate_cost))  # the first minimum: the highest threshold
    threshold = float("inf") if best == 0 else float(sorted_scores[ends[best - 1]])
    return cost_at_threshold(y, s, costs, fp_cost, threshold)


def cost_at_threshold(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    fn_costs: npt.ArrayLike,
    fp_cost: float,
    threshold: float,
) -> CostThreshold:
    """What blocking ``score >= threshold`` costs on these rows (e.g. a threshold chosen on
    validation, applied to the test period)."""
    positives = np.asarray(y_true) == 1
    blocked = np.asarray(scores, dtype=np.float64) >= threshold
    costs = np.asarray(fn_costs, dtype=np.float64)
    tp = int(np.sum(blocked & positives))
    fp = int(np.sum(blocked & ~positives))
    cost = expected_cost(positives, blocked, costs, fp_cost)
    return CostThreshold(
        threshold=threshold,
        expected_cost=cost,
        cost_per_1000=1000.0 * cost / len(positives),
        true_positives=tp,
        false_positives=fp,
        false_negatives=int(positives.sum()) - tp,
        true_negatives=int((~positives).sum()) - fp,
        cost_block_nothing=float(costs[positives].sum()),
        cost_block_everything=float(fp_cost * (~positives).sum()),
    )


__all__ = ["CostThreshold", "best_threshold", "cost_at_threshold", "expected_cost"]
