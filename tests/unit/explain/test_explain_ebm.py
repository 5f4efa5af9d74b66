"""The EBM: the model's own terms when it is one (adding up to its log-odds), a glass-box
comparison with its AUC beside the model's when it is not."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import explained, logit, model
from numpy.testing import assert_allclose
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from ferryml.explain.ebm import ebm_explanation, is_ebm


def test_an_ebm_model_is_explained_by_its_own_terms() -> None:
    ebm = model("ebm", missing=True)
    assert is_ebm(ebm) and not is_ebm(model("lightgbm"))
    x, y = explained(300, missing=True)
    ids = [f"r{i}" for i in range(len(x))]
    explanation = ebm_explanation(ebm, x, y, ids, [4, 9], seed=0, top=50)
    assert explanation is not None and explanation.source == "model"
    assert explanation.comparison == {}
    estimator = ebm.estimator
    own = dict(zip(estimator.term_names_, estimator.term_importances(), strict=True))
    assert dict(explanation.importances) == pytest.approx(own)
    assert explanation.importances[0][0] == "signal"
    assert [row.row_id for row in explanation.local] == ["r4", "r9"]
    for row, position in zip(explanation.local, [4, 9], strict=True):
        total = row.intercept + sum(c for _, c in row.terms)  # every term listed (top=50)
        assert total == pytest.approx(logit(ebm.predict(x.iloc[[position]]))[0], abs=1e-6)


def test_another_model_gets_a_glass_box_comparison() -> None:
    lightgbm = model("lightgbm")
    x, y = explained(1200)
    ids = [str(i) for i in range(len(x))]
    explanation = ebm_explanation(lightgbm, x, y, ids, [0], seed=2, interactions=1, holdout=0.3)
    assert explanation is not None and explanation.source == "comparison"
    comparison = explanation.comparison
    assert (comparison["train_rows"], comparison["test_rows"]) == (840, 360)
    for key in ("ebm_roc_auc", "model_roc_auc", "ebm_pr_auc", "model_pr_auc"):
        assert 0.0 <= comparison[key] <= 1.0
    assert comparison["ebm_roc_auc"] > 0.85  # the problem is additive: a glass box learns it
    positives = int(comparison["test_positives"])
    assert 0 < positives < 360
    terms = [term for term, _ in explanation.importances]
    assert terms[0] == "signal" and any(" & " in t for t in terms)
    assert explanation.local[0].row_id == "0"


def test_model_auc_in_the_comparison_is_the_models_on_the_held_out_part() -> None:
    logistic = model("logistic")
    x, y = explained(600)
    explanation = ebm_explanation(logistic, x, y, [str(i) for i in range(600)], [], seed=5)
    assert explanation is not None
    _, test = train_test_split(np.arange(600), test_size=0.3, random_state=5, stratify=y)
    expected = roc_auc_score(y[test], logistic.predict(x.iloc[test]))
    assert_allclose(explanation.comparison["model_roc_auc"], expected)


def test_no_comparison_without_both_classes() -> None:
    lightgbm = model("lightgbm")
    x, _ = explained(100)
    ids = [str(i) for i in range(100)]
    assert ebm_explanation(lightgbm, x, np.zeros(100, np.int8), ids, [], seed=0) is None
    assert ebm_explanation(lightgbm, x, None, ids, [], seed=0) is None
