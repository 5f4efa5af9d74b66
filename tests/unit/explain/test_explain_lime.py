"""LIME: the same seed gives the same explanation, another seed may not; the explanation
finds the feature that drives the score; a missing value stays missing."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import FEATURES, FunctionModel, explained, model

from ferryml.explain.lime_local import LimeExplainer


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
def test_same_seed_same_explanation(kind: str) -> None:
    trained = model(kind)
    x, _ = explained()
    row = x.iloc[int(np.argmax(trained.predict(x)))].to_numpy(np.float64)
    first = LimeExplainer(trained, x).explain(row, "top", seed=11, num_samples=1500)
    # a fresh explainer, another row explained in between: neither changes the answer
    other = LimeExplainer(trained, x)
    other.explain(x.iloc[0].to_numpy(np.float64), "r0", seed=3, num_samples=500)
    second = other.explain(row, "top", seed=11, num_samples=1500)
    assert first == second
    assert "signal" in first.weights[0][0]  # e.g. "signal > 0.67": the feature that drives it
    assert first.score == pytest.approx(trained.predict_array(row[np.newaxis, :])[0])


def test_different_seeds_sample_differently() -> None:
    trained = model("lightgbm")
    x, _ = explained()
    explainer = LimeExplainer(trained, x)
    row = x.iloc[5].to_numpy(np.float64)
    runs = [explainer.explain(row, "r5", seed=seed, num_samples=600) for seed in (1, 2, 3)]
    assert len({(run.weights[0][1], run.intercept) for run in runs}) > 1
    assert all(run.seed == seed for run, seed in zip(runs, (1, 2, 3), strict=True))


def test_a_missing_value_stays_missing_and_is_not_explained() -> None:
    seen: list[np.ndarray] = []

    def score(values: np.ndarray) -> np.ndarray:
        seen.append(values)
        return 1.0 / (1.0 + np.exp(-(2.0 * values[:, 0] + np.nan_to_num(values[:, 2]))))

    scorer = FunctionModel(FEATURES, score)
    x, _ = explained(missing=True)
    row = x.iloc[int(np.flatnonzero(x["noise_a"].isna())[0])].to_numpy(np.float64)
    explanation = LimeExplainer(scorer, x).explain(row, "gap", seed=0, num_samples=300)
    assert explanation.held_missing == ["noise_a"]
    assert not any("noise_a" in name for name, _ in explanation.weights)
    samples = np.vstack(seen[:-1])  # the last call scores the row itself
    assert np.isnan(samples[:, 2]).all() and not np.isnan(samples[:, [0, 1, 3]]).any()
    assert "signal" in explanation.weights[0][0]
