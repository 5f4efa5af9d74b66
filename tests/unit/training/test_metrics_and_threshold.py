"""Ranking metrics and the cost threshold, each against a brute-force or scikit-learn oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from ferryml.errors import InvalidInputError
from ferryml.training.metrics import ranking_metrics, recall_at_fpr
from ferryml.training.threshold import best_threshold, expected_cost

scored = st.lists(
    st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])),
    min_size=2,
    max_size=40,
).filter(lambda rows: 0 < sum(p for p, _ in rows) < len(rows))


def brute_recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float) -> float:
    best = 0.0
    for t in [*np.unique(s), np.inf]:
        blocked = s >= t
        rate = (blocked & (y == 0)).sum() / (y == 0).sum()
        if rate <= fpr + 1e-12:
            best = max(best, (blocked & (y == 1)).sum() / (y == 1).sum())
    return float(best)


@settings(max_examples=60, deadline=None)
@given(scored, st.sampled_from([0.0, 0.01, 0.1, 0.3, 0.5]))
def test_recall_at_fpr_equals_brute_force(rows: list[tuple[bool, float]], fpr: float) -> None:
    y = np.array([int(p) for p, _ in rows])
    s = np.array([v for _, v in rows])
    assert recall_at_fpr(y, s, fpr) == pytest.approx(brute_recall_at_fpr(y, s, fpr), abs=1e-12)


def test_ranking_metrics_are_sklearns() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.1).astype(int)
    s = rng.random(500) + 0.3 * y
    metrics = ranking_metrics(y, s, 0.05)
    assert metrics.roc_auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert metrics.pr_auc == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert metrics.positives == int(y.sum()) and metrics.rows == 500


def test_one_class_or_nan_scores_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="one class only"):
        ranking_metrics(np.zeros(5), np.arange(5.0), 0.01)
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        ranking_metrics(np.array([0, 1]), np.array([0.1, np.nan]), 0.01)


@settings(max_examples=80, deadline=None)
@given(scored, st.integers(0, 50), st.lists(st.integers(0, 200), min_size=40, max_size=40))
def test_best_threshold_is_the_cheapest_of_all_thresholds(
    rows: list[tuple[bool, float]], fp_cost: int, amounts: list[int]
) -> None:
    # Whole-number costs keep every sum exact, so "equally cheap" is exact too.
    y = np.array([int(p) for p, _ in rows])
    s = np.array([v for _, v in rows])
    costs = np.array(amounts[: len(rows)], dtype=float)
    best = best_threshold(y, s, costs, fp_cost)
    candidates = [*np.unique(s), np.inf]
    brute = {t: expected_cost(y, s >= t, costs, fp_cost) for t in candidates}
    cheapest = min(brute.values())
    assert best.expected_cost == cheapest
    assert brute[best.threshold] == best.expected_cost
    # among equally cheap thresholds, the highest (fewest customers blocked) wins
    assert best.threshold == max(t for t, c in brute.items() if c == cheapest)
    blocked = s >= best.threshold
    assert best.true_positives == int((blocked & (y == 1)).sum())
    assert best.false_positives == int((blocked & (y == 0)).sum())
    assert best.true_positives + best.false_negatives == int(y.sum())
    assert best.cost_block_nothing == pytest.approx(costs[y == 1].sum())


def test_threshold_inputs_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="one length"):
        best_threshold(np.array([0, 1]), np.array([0.5]), np.array([1.0, 1.0]), 1.0)
    with pytest.raises(InvalidInputError, match="cost column"):
        best_threshold(np.array([0, 1]), np.array([0.1, 0.5]), np.array([1.0, np.nan]), 1.0)
