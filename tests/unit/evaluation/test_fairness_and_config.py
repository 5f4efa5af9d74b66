"""Segments, per-group rates (fairlearn) against a hand count, and the gates config."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ferryml.evaluation.config import FairnessGate, GatesConfig, SegmentSpec
from ferryml.evaluation.gates.fairness import group_table, segment_groups


def test_numeric_segments_cut_at_edges_with_default_names() -> None:
    spec = SegmentSpec(column="age", edges=[25, 50])
    groups = segment_groups(np.array([18, 25, 49.9, 50, 80, np.nan]), spec)
    assert groups.tolist() == ["< 25", "25 to < 50", "25 to < 50", ">= 50", ">= 50", "missing"]


def test_categories_keep_the_most_frequent_and_pool_the_rest() -> None:
    values = np.array(["a"] * 5 + ["b"] * 3 + ["c", "d", None], dtype=object)
    groups = segment_groups(values, SegmentSpec(column="x", top=2))
    assert groups.tolist() == ["a"] * 5 + ["b"] * 3 + ["other", "other", "missing"]


def test_group_rates_equal_a_hand_count() -> None:
    rng = np.random.default_rng(0)
    rows = 3000
    groups = rng.choice(np.array(["x", "y", "z"]), rows)
    y = (rng.random(rows) < 0.2).astype(np.int8)
    blocked = (rng.random(rows) < np.where(groups == "x", 0.3, 0.1)).astype(np.int8)
    config = FairnessGate()  # the three metrics
    table = group_table(y, blocked, groups, config)
    for group in ("x", "y", "z"):
        in_group = groups == group
        negatives = in_group & (y == 0)
        positives = in_group & (y == 1)
        row = table.loc[group]
        assert row["false_positive_rate"] == pytest.approx(blocked[negatives].mean(), abs=1e-12)
        assert row["recall"] == pytest.approx(blocked[positives].mean(), abs=1e-12)
        assert row["selection_rate"] == pytest.approx(blocked[in_group].mean(), abs=1e-12)
        assert row["negatives"] == negatives.sum() and row["positives"] == positives.sum()


def test_small_groups_are_reported_not_judged() -> None:
    y = np.array([0] * 150 + [1] * 10 + [0] * 20, dtype=np.int8)
    groups = np.array(["big"] * 160 + ["small"] * 20)
    blocked = np.zeros(180, dtype=np.int8)
    table = group_table(y, blocked, groups, FairnessGate(min_segment_size=100))
    assert bool(table.loc["big", "false_positive_rate_judged"])
    assert not bool(table.loc["small", "false_positive_rate_judged"])
    assert not bool(table.loc["big", "recall_judged"])  # 10 positives
    config = FairnessGate(limits={"recall": {"max_difference": 0.3, "min_size": 10}})
    table = group_table(y, blocked, groups, config)
    assert bool(table.loc["big", "recall_judged"]) and "false_positive_rate" not in table


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"quality": {"limits": {"roc_auc": {}}}}, "needs `min`, `max` or both"),
        ({"quality": {"limits": {"roc_auc": {"min": 0.9, "max": 0.8}}}}, "above max"),
        ({"quality": {"limits": {"f1": {"min": 0.5}}}}, "roc_auc"),
        ({"fairness": {"segments": {"age": {"column": "a", "edges": [3, 2]}}}}, "ascending"),
        (
            {"fairness": {"segments": {"age": {"column": "a", "edges": [3], "labels": ["x"]}}}},
            "2 segments",
        ),
        ({"fairness": {"segments": {"ch": {"column": "c", "labels": ["x"]}}}}, "give `edges`"),
        ({"latency": {"p99_ms": 0}}, "greater than 0"),
        ({"champion": {"confidence": 1.5}}, "less than 1"),
        ({"edge_cases": {"expectations": [{"field": "amount", "direction": "up"}]}}, "increasing"),
        ({"latncy": {}}, "latncy"),
        ({"fairness": {"limits": {"f1": {}}}}, "false_positive_rate"),
        ({"fairness": {"limits": {"recall": {"min_ratio": 2}}}}, "less than or equal to 1"),
    ],
)
def test_bad_gate_settings_are_rejected_with_the_reason(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        GatesConfig.model_validate(section)


def test_defaults_enable_every_gate() -> None:
    gates = GatesConfig()
    assert all(getattr(gates, name).enabled for name in GatesConfig.model_fields)
