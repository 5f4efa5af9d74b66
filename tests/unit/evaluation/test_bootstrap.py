"""The paired bootstrap: each weighted metric equals scikit-learn on the resampled rows, and
the interval agrees with scipy.stats.bootstrap (paired, percentile) on the same question."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from ferryml.evaluation.bootstrap import (
    METRICS,
    ModelScores,
    paired_bootstrap,
    resample_counts,
    weighted_metrics,
)
from ferryml.training.metrics import recall_at_fpr
from ferryml.training.threshold import cost_at_threshold

FP_COST = 5.0
FPR = 0.05


def scored(seed: int, rows: int = 400, ties: bool = True) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.15).astype(np.int8)
    scores = y * 0.35 + rng.random(rows)
    if ties:  # rounded scores make many ties: the cases where definitions differ
        scores = np.round(scores, 2)
    costs = rng.gamma(2.0, 40.0, rows)
    return y, scores, costs


def sklearn_metrics(y, scores, costs, threshold):  # type: ignore[no-untyped-def]
    at = cost_at_threshold(y, scores, costs, FP_COST, threshold)
    return {
        "roc_auc": roc_auc_score(y, scores),
        "pr_auc": average_precision_score(y, scores),
        "recall_at_fpr": recall_at_fpr(y, scores, FPR),
        "precision": at.precision,
        "recall": at.recall,
        "expected_cost": at.expected_cost,
        "cost_per_1000": at.cost_per_1000,
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [True, False])
def test_each_weighted_metric_equals_sklearn_on_the_resampled_rows(seed: int, ties: bool) -> None:
    y, scores, costs = scored(seed, ties=ties)
    counts = resample_counts(len(y), 6, np.random.default_rng(seed))
    model = ModelScores(scores, threshold=0.6)
    ours = weighted_metrics(y, model, counts, costs, fp_cost=FP_COST, fixed_fpr=FPR)
    for i, row in enumerate(counts):
        rows = np.repeat(np.arange(len(y)), row.astype(int))
        expected = sklearn_metrics(y[rows], scores[rows], costs[rows], 0.6)
        for name in METRICS:
            assert_allclose(ours[name][i], expected[name], rtol=1e-12, atol=1e-9, err_msg=name)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=8, max_value=60),
    st.floats(min_value=0.0, max_value=1.2),
)
def test_unit_weights_give_the_plain_metrics(seed: int, rows: int, threshold: float) -> None:
    y, scores, costs = scored(seed, rows=rows)
    y[0], y[1] = 0, 1  # both classes
    ours = weighted_metrics(
        y, ModelScores(scores, threshold), np.ones((1, rows)), costs, fp_cost=FP_COST, fixed_fpr=FPR
    )
    expected = sklearn_metrics(y, scores, costs, threshold)
    for name in METRICS:
        assert_allclose(ours[name][0], expected[name], rtol=1e-12, atol=1e-9, err_msg=name)


def test_the_interval_agrees_with_scipy_paired_bootstrap() -> None:
    rng = np.random.default_rng(7)
    rows = 1500
    y = (rng.random(rows) < 0.2).astype(np.int8)
    strong = y + rng.normal(0, 0.8, rows)
    weak = y + rng.normal(0, 1.2, rows)
    costs = np.full(rows, 10.0)
    ours = paired_bootstrap(
        y,
        ModelScores(strong, 0.5),
        ModelScores(weak, 0.5),
        costs,
        fp_cost=1.0,
        fixed_fpr=FPR,
        metrics=["roc_auc"],
        resamples=3000,
        confidence=0.9,
        seed=3,
    )["roc_auc"]

    def delta(labels, a, b):  # type: ignore[no-untyped-def]
        return roc_auc_score(labels, a) - roc_auc_score(labels, b)

    reference = stats.bootstrap(
        (y, strong, weak),
        delta,
        paired=True,
        vectorized=False,
        n_resamples=3000,
        confidence_level=0.9,
        method="percentile",
        rng=np.random.default_rng(11),
    )
    assert_allclose(ours.estimate, delta(y, strong, weak), rtol=1e-12)
    # two Monte Carlo estimates of the same percentiles: they agree within their noise
    assert abs(ours.low - reference.confidence_interval.low) < 0.006
    assert abs(ours.high - reference.confidence_interval.high) < 0.006
    assert ours.low < ours.estimate < ours.high


def test_a_model_against_itself_differs_by_exactly_nothing() -> None:
    y, scores, costs = scored(5)
    model = ModelScores(scores, 0.6)
    intervals = paired_bootstrap(
        y, model, model, costs, fp_cost=FP_COST, fixed_fpr=FPR, metrics=METRICS, resamples=200
    )
    for name, interval in intervals.items():
        assert (interval.estimate, interval.low, interval.high) == (0.0, 0.0, 0.0), name


def test_the_same_seed_gives_the_same_interval_and_one_class_is_refused() -> None:
    y, scores, costs = scored(9)
    a, b = ModelScores(scores, 0.6), ModelScores(scores[::-1].copy(), 0.6)
    first = paired_bootstrap(y, a, b, costs, fp_cost=1, fixed_fpr=FPR, metrics=["pr_auc"], seed=4)
    again = paired_bootstrap(y, a, b, costs, fp_cost=1, fixed_fpr=FPR, metrics=["pr_auc"], seed=4)
    assert first == again
    from ferryml.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="both classes"):
        paired_bootstrap(
            np.zeros(10), a, b, np.ones(10), fp_cost=1, fixed_fpr=FPR, metrics=["pr_auc"]
        )
    with pytest.raises(InvalidInputError, match="unknown metrics"):
        weighted_metrics(
            y, a, np.ones((1, len(y))), costs, fp_cost=1, fixed_fpr=FPR, metrics=["f1"]
        )
