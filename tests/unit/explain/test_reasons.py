"""Reason codes: the catalogue's words, the largest pushes, and a minimal counterfactual."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryml.explain.reasons import ReasonCatalogue, ReasonText, top_reasons, what_would_change

FEATURES = ["amount", "hour", "distance", "age"]


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_curated_texts_win_and_the_rest_come_from_descriptions() -> None:
    catalogue = ReasonCatalogue.build(
        FEATURES,
        descriptions={"hour": "Hour of the day.", "distance": "Distance home to merchant"},
        texts={"amount": ReasonText(raises="The amount ({value} EUR) is high")},
    )
    assert catalogue.text("amount", 1234.5, up=True) == "The amount (1,234 EUR) is high"
    assert catalogue.text("amount", 3.0, up=False) == "amount: 3 lowers the risk"
    assert catalogue.text("hour", None, up=True) == "Hour of the day: missing raises the risk"
    rows = catalogue.as_rows()
    assert [r["feature"] for r in rows] == FEATURES
    assert [r["curated"] for r in rows] == [True, False, False, False]


def test_top_reasons_take_the_largest_pushes_of_one_direction_only() -> None:
    catalogue = ReasonCatalogue.build(FEATURES)
    contributions = np.array([0.5, -1.0, 2.0, 0.0])
    values = np.array([10.0, 3.0, math.nan, 40.0])
    up = top_reasons(catalogue, contributions, values, up=True, limit=3)
    assert [(r.feature, r.contribution) for r in up] == [("distance", 2.0), ("amount", 0.5)]
    assert up[0].value is None and up[0].text == "distance: missing raises the risk"
    down = top_reasons(catalogue, contributions, values, up=False, limit=3)
    assert [r.feature for r in down] == ["hour"]
    assert top_reasons(catalogue, contributions, values, up=True, limit=1)[0].feature == "distance"


@settings(max_examples=50, deadline=None)
@given(
    pushes=st.lists(
        st.floats(-3, 3, allow_nan=False, allow_subnormal=False), min_size=4, max_size=4
    ),
    base=st.floats(-4, 2),
    threshold=st.floats(0.05, 0.95),
)
def test_the_counterfactual_crosses_the_threshold_with_the_fewest_features(
    pushes: list[float], base: float, threshold: float
) -> None:
    contributions = np.array(pushes)
    score = sigmoid(base + contributions.sum())
    blocked = score >= threshold
    change = what_would_change(FEATURES, contributions, base, threshold, blocked=blocked)
    towards = contributions if blocked else -contributions
    if change.score is None:
        # even every push towards the decision removed leaves it where it is
        rest = base + contributions[towards <= 0].sum()
        assert (sigmoid(rest) >= threshold) == blocked or math.isclose(sigmoid(rest), threshold)
        return
    kept = [i for i, name in enumerate(FEATURES) if name not in change.features]
    assert change.score == pytest.approx(sigmoid(base + contributions[kept].sum()))
    assert (change.score >= threshold) != blocked
    # minimal: the largest pushes go first, so one feature fewer does not cross
    removed = [FEATURES.index(name) for name in change.features]
    assert all(towards[i] > 0 for i in removed)
    fewer = sigmoid(base + contributions.sum() - contributions[removed[:-1]].sum())
    assert (fewer >= threshold) == blocked


def test_a_text_for_a_feature_the_model_lacks_is_an_error_naming_the_closest() -> None:
    from ferryml.errors import ConfigError

    texts = {"amout": ReasonText(raises="x {value}")}
    with pytest.raises(ConfigError, match=r"'amout' \(did you mean 'amount'\?\)"):
        ReasonCatalogue.build(FEATURES, texts=texts, strict=True)
    # serving loads older versions that may lack a feature named today: not strict
    assert ReasonCatalogue.build(FEATURES, texts=texts).entry("amount").curated is False
