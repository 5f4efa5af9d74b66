"""Permutation importance: the informative feature ranks first, and ferryml's wrapper gives
exactly scikit-learn's answer for the estimator it wraps, on the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import FEATURES, explained, model
from numpy.testing import assert_allclose
from sklearn.inspection import permutation_importance
from sklearn.metrics import average_precision_score

from ferryml.explain.permutation import ScoringEstimator, permutation_importances


@pytest.mark.parametrize("kind", ["lightgbm", "logistic", "ebm"])
def test_the_informative_feature_ranks_first(kind: str) -> None:
    trained = model(kind, missing=True)
    x, y = explained(800, missing=True)
    result = permutation_importances(trained, x, y, seed=4, repeats=4)
    assert result.ranked()[:2] == ["signal", "weak"]
    assert result.mean[FEATURES.index("signal")] > 0.1
    assert result.baseline == pytest.approx(average_precision_score(y, trained.predict(x)))
    assert (result.std >= 0).all() and result.repeats == 4


def test_matches_sklearn_on_the_wrapped_estimator() -> None:
    logistic = model("logistic")
    x, y = explained(500)
    ours = permutation_importances(logistic, x, y, seed=9, repeats=3)
    oracle = permutation_importance(
        logistic.estimator, x, y, scoring="average_precision", n_repeats=3, random_state=9
    )
    assert_allclose(ours.mean, oracle.importances_mean, rtol=1e-12, atol=1e-15)
    assert_allclose(ours.std, oracle.importances_std, rtol=1e-12, atol=1e-15)
    other = permutation_importances(logistic, x, y, seed=10, repeats=3)
    assert not np.array_equal(other.mean, ours.mean)


def test_scoring_estimator_takes_frames_and_arrays() -> None:
    lightgbm = model("lightgbm")
    x, _ = explained(20)
    estimator = ScoringEstimator(lightgbm).fit(x)
    by_frame = estimator.predict_proba(x)
    assert_allclose(by_frame, estimator.predict_proba(x[FEATURES].to_numpy(np.float64)))
    assert_allclose(by_frame.sum(axis=1), 1.0)
    assert list(estimator.classes_) == [0, 1]
