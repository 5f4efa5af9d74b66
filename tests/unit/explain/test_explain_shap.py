"""SHAP values: exact contributions against the shap package, additivity in log-odds, and the
model-agnostic fallback against the closed form of a linear model's interventional SHAP."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import FEATURES, NoContributions, explained, logit, model
from numpy.testing import assert_allclose

from ferryml.explain.shapley import import_shap, shap_values


def test_mean_abs_shap_of_lightgbm_matches_shap_tree_explainer() -> None:
    lightgbm = model("lightgbm", missing=True)
    x, _ = explained(missing=True)
    ids = [f"r{i}" for i in range(len(x))]
    ours = shap_values(lightgbm, x, ids, seed=0)
    reference = import_shap().TreeExplainer(lightgbm.booster)(x[FEATURES].to_numpy(np.float64))
    expected = np.abs(reference.values).mean(axis=0)
    mean_abs = ours.mean_abs()
    assert_allclose([mean_abs[f] for f in FEATURES], expected, rtol=1e-9, atol=1e-12)
    assert_allclose(ours.values, reference.values, atol=1e-9)
    assert_allclose(ours.base, np.broadcast_to(reference.base_values, ours.base.shape), atol=1e-9)
    assert ours.ranked()[0] == "signal"
    assert ours.method.startswith("exact")


@pytest.mark.parametrize("kind", ["lightgbm", "logistic", "ebm"])
def test_values_add_up_to_the_logit_of_the_score(kind: str) -> None:
    trained = model(kind, missing=True)
    x, _ = explained(200, missing=True)
    values = shap_values(trained, x, [str(i) for i in range(len(x))], seed=0)
    assert_allclose(values.base + values.values.sum(axis=1), logit(trained.predict(x)), atol=1e-6)
    waterfall = values.waterfall(3, top=2)
    assert len(waterfall.contributions) == 2
    pushes = [abs(c.shap) for c in waterfall.contributions]
    assert pushes == sorted(pushes, reverse=True)
    assert waterfall.raw_score == pytest.approx(waterfall.base + values.values[3].sum())
    assert waterfall.score == pytest.approx(trained.predict(x.iloc[[3]])[0], abs=1e-6)


def test_fallback_equals_a_linear_models_interventional_shap() -> None:
    """For a model linear in log-odds, interventional SHAP against a background B is exact:
    phi_j(x) = c_j(x) - mean over B of c_j(b), with c_j the model's own terms."""
    logistic = model("logistic")
    opaque = NoContributions(logistic)
    x, _ = explained(300)
    ids = [f"r{i}" for i in range(len(x))]
    values = shap_values(opaque, x, ids, seed=5, background=30, fallback_rows=12, keep=[299, 150])
    assert values.method.startswith("shap package")
    assert values.ids[:2] == ["r299", "r150"] and len(values.ids) == 12
    rows = [int(i[1:]) for i in values.ids]
    drawn = np.random.default_rng(5).choice(len(x), 30, replace=False)
    terms = logistic.contributions(x[FEATURES].to_numpy(np.float64))
    assert terms is not None
    expected = terms[rows, :-1] - terms[drawn, :-1].mean(axis=0)
    assert_allclose(values.values, expected, atol=1e-6)
    again = shap_values(opaque, x, ids, seed=5, background=30, fallback_rows=12, keep=[299, 150])
    assert_allclose(again.values, values.values)


def test_beeswarm_ranks_colour_by_value_and_keep_missing_apart() -> None:
    lightgbm = model("lightgbm", missing=True)
    x, _ = explained(300, missing=True)
    values = shap_values(lightgbm, x, [str(i) for i in range(len(x))], seed=0)
    swarm = values.beeswarm(["noise_a", "signal"], points=100, seed=3)
    assert len(swarm["signal"]["shap"]) == 100
    ranks = swarm["signal"]["rank"]
    assert ranks.min() == 0.0 and ranks.max() == 1.0
    assert np.isnan(swarm["noise_a"]["rank"]).any()
