"""The surrogate tree: its fidelity is a share, high for a model it can represent, lower for
one it cannot; its rules read as text, missingness in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from explain_helpers import explained, model

from ferryml.explain.surrogate import fit_surrogate, readable


def frame(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, columns)), columns=[f"x{i}" for i in range(columns)])


def test_a_model_the_tree_can_represent_is_imitated_faithfully() -> None:
    x = frame(2000, 5)
    # blocks exactly when x0 > 1 and x1 > 0: two splits, which a depth-2 tree holds
    scores = ((x["x0"] > 1.0) & (x["x1"] > 0.0)).to_numpy(np.float64) * 0.9 + 0.05
    tree = fit_surrogate(x, scores, 0.5, seed=0, max_depth=2)
    assert 0.0 <= tree.fidelity <= 1.0
    assert tree.fidelity >= 0.99
    assert tree.block_agreement is not None and tree.block_agreement >= 0.95
    assert "x0" in tree.rules and "class: block" in tree.rules
    assert tree.r2 > 0.9


def test_a_model_the_tree_cannot_represent_is_imitated_poorly() -> None:
    x = frame(2000, 8, seed=1)
    # an even mix of eight features: no two splits can draw the oblique boundary
    logits = x.to_numpy().sum(axis=1)
    scores = 1.0 / (1.0 + np.exp(-logits))
    tree = fit_surrogate(x, scores, 0.5, seed=0, max_depth=2)
    assert 0.0 <= tree.fidelity <= 0.8
    assert tree.majority_agreement == pytest.approx(0.5, abs=0.06)
    simple = fit_surrogate(x, (x["x0"] > 0).to_numpy(np.float64), 0.5, seed=0, max_depth=2)
    assert simple.fidelity > tree.fidelity


def test_fidelity_of_a_real_model_is_reported_beside_the_majority_baseline() -> None:
    lightgbm = model("lightgbm", missing=True)
    x, _ = explained(1000, missing=True)
    scores = lightgbm.predict(x)
    threshold = float(np.quantile(scores, 0.9))
    tree = fit_surrogate(x, scores, threshold, seed=3, max_depth=3, holdout=0.25)
    assert 0.0 <= tree.fidelity <= 1.0 and 0.0 <= tree.majority_agreement <= 1.0
    assert tree.fidelity > tree.majority_agreement  # the rules say more than "approve all"
    assert (tree.train_rows, tree.test_rows) == (750, 250)
    assert tree.blocked_share == pytest.approx(float(np.mean(scores >= threshold)))
    assert tree == fit_surrogate(x, scores, threshold, seed=3, max_depth=3, holdout=0.25)


def test_missingness_splits_read_in_words() -> None:
    x = frame(600, 2)
    x.loc[x.index % 4 == 0, "x1"] = np.nan
    scores = x["x1"].isna().to_numpy(np.float64)  # blocks exactly the rows missing x1
    tree = fit_surrogate(x, scores, 0.5, seed=0, max_depth=1)
    assert tree.fidelity == 1.0
    assert "x1 is missing" in tree.rules and "inf" not in tree.rules
    assert readable("|--- a <= 1.5\n|--- a >  1.5") == "|--- a <= 1.5\n|--- a >  1.5"


def test_a_model_that_never_blocks_has_no_block_agreement() -> None:
    x = frame(300, 3)
    tree = fit_surrogate(x, np.full(300, 0.01), 0.5, seed=0)
    assert tree.fidelity == 1.0 and tree.block_agreement is None
    assert "class: approve" in tree.rules
