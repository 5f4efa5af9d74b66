"""Partial dependence and ICE against scikit-learn's ``partial_dependence``, the grid's rule,
and the correlation warning against scipy's Spearman."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from explain_helpers import FEATURES, explained, model
from numpy.testing import assert_allclose
from scipy.stats import spearmanr
from sklearn.inspection import partial_dependence as sklearn_partial_dependence

from ferryml.explain.dependence import (
    correlated_pairs,
    feature_grid,
    partial_dependence,
    partial_dependence_2d,
)
from ferryml.explain.permutation import ScoringEstimator


@pytest.mark.parametrize("kind", ["logistic", "lightgbm"])
@pytest.mark.parametrize("feature", ["signal", "weak"])
def test_one_feature_matches_sklearn(kind: str, feature: str) -> None:
    trained = model(kind)
    x, _ = explained(300)
    ours = partial_dependence(trained, x, feature, resolution=15, ice_lines=300, seed=0)
    # the logistic model's own sklearn pipeline is an independent route to the same scores
    estimator = trained.estimator if kind == "logistic" else ScoringEstimator(trained)
    oracle = sklearn_partial_dependence(
        estimator, x, [feature], kind="both", grid_resolution=15, percentiles=(0.05, 0.95)
    )
    assert_allclose(ours.grid, oracle["grid_values"][0], rtol=1e-12)
    assert_allclose(ours.average, oracle["average"][0], rtol=1e-10)
    assert_allclose(ours.ice, oracle["individual"][0], rtol=1e-10)


def test_two_features_match_sklearn() -> None:
    logistic = model("logistic")
    x, _ = explained(200)
    ours = partial_dependence_2d(logistic, x, ("signal", "weak"), resolution=6)
    oracle = sklearn_partial_dependence(
        logistic.estimator, x, ["signal", "weak"], grid_resolution=6, kind="average"
    )
    assert_allclose(ours.grid_a, oracle["grid_values"][0])
    assert_allclose(ours.grid_b, oracle["grid_values"][1])
    assert_allclose(ours.average, oracle["average"][0], rtol=1e-10)
    assert ours.average.shape == (6, 6)


def test_ice_curves_are_drawn_with_the_seed() -> None:
    lightgbm = model("lightgbm")
    x, _ = explained(300)
    a = partial_dependence(lightgbm, x, "signal", ice_lines=20, seed=1)
    b = partial_dependence(lightgbm, x, "signal", ice_lines=20, seed=1)
    assert a.ice.shape == (20, 20)
    assert_allclose(a.ice, b.ice)
    assert a.average[-1] > a.average[0]  # the score rises with the signal


def test_grid_rules() -> None:
    binary = np.array([0.0, 1.0, np.nan, 1.0, 0.0])
    assert feature_grid(binary, 20).tolist() == [0.0, 1.0]
    assert feature_grid(np.full(4, np.nan), 20).size == 0
    rng = np.random.default_rng(0)
    spike = np.where(rng.random(2000) < 0.97, 0.0, rng.exponential(size=2000))
    grid = feature_grid(spike, 20)
    assert len(grid) >= 2 and np.all(np.diff(grid) > 0)  # a spike at 0 still spreads the grid


def test_correlated_features_warn_and_independent_ones_do_not() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=500)
    frame = pd.DataFrame(
        {
            "amount": base,
            "amount_ratio": np.exp(base) + 0.2 * rng.normal(size=500),  # monotone: high rank rho
            "hour": rng.normal(size=500),
            "distance": rng.normal(size=500),
        }
    )
    frame.loc[::17, "amount_ratio"] = np.nan
    found = correlated_pairs(frame, ["amount", "hour"], 0.5)
    assert [(p.a, p.b) for p in found] == [("amount", "amount_ratio")]
    complete = frame.dropna()
    expected = spearmanr(complete["amount"], complete["amount_ratio"]).statistic
    assert found[0].rho == pytest.approx(expected, abs=1e-12)
    assert correlated_pairs(frame, ["hour", "distance"], 0.5) == []
    both = correlated_pairs(frame, ["amount", "amount_ratio"], 0.5)
    assert len(both) == 1  # a pair is named once, even when both features are shown
    assert correlated_pairs(frame, ["amount"], 0.999) == []


def test_independent_features_of_the_problem_do_not_warn() -> None:
    x, _ = explained(500)
    assert correlated_pairs(x, FEATURES[:3], 0.5) == []
