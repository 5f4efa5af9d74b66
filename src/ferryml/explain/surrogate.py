"""A surrogate tree: a few readable rules that imitate the model's decisions, and how well.

A shallow decision tree learns the model's *decisions* (block when the score reaches the
threshold) from the features of most explained rows; its **fidelity** is its agreement with
the model's decisions on the rows kept out. Its rules are an approximation: read them only as
far as the fidelity allows. Blocks are rare, so a tree that approves everything agrees often:
the report shows the agreement of "always the most common decision" beside the fidelity, and
the share of the model's blocks the tree also blocks. A regression tree of the same depth on
the scores gives R², how much of the scores' variation the rules capture::

    >>> import numpy as np, pandas as pd
    >>> x = pd.DataFrame({"a": np.linspace(0, 1, 200), "b": np.zeros(200)})
    >>> tree = fit_surrogate(x, x["a"].to_numpy(), 0.5, seed=0, max_depth=1)
    >>> tree.fidelity
    1.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

DECISIONS = ["approve", "block"]


@dataclass(frozen=True)
class Surrogate:
    """A fitted surrogate tree's rules and its fidelity to the model."""

    fidelity: float
    """Share of the held-out rows where the tree's decision is the model's."""
    majority_agreement: float
    """The fidelity of always giving the most common decision (what to beat)."""
    block_agreement: float | None
    """Share of the model's held-out blocks the tree also blocks (None: none blocked)."""
    r2: float
    """R² of a regression tree of the same depth on the held-out scores (NaN: constant)."""
    rules: str
    depth: int
    leaves: int
    train_rows: int
    test_rows: int
    blocked_share: float
    """Share of the explained rows the model blocks."""

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def fit_surrogate(
    x: pd.DataFrame,
    scores: npt.NDArray[np.float64],
    threshold: float,
    *,
    seed: int,
    max_depth: int = 3,
    holdout: float = 0.3,
) -> Surrogate:
    """Fit trees of ``max_depth`` on the decisions and scores of ``x``'s rows, measure them
    on a ``holdout`` share of the rows drawn with ``seed``."""
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text

    features = [str(c) for c in x.columns]
    # scikit-learn's trees refuse infinities (they split in float32): read them as missing
    values = x.to_numpy(np.float64)
    values = np.where(np.isinf(values), np.nan, values)
    decisions = (scores >= threshold).astype(np.int8)
    counts = np.bincount(decisions, minlength=2)
    stratify = decisions if counts.min() >= 2 else None
    train, test = train_test_split(
        np.arange(len(values)), test_size=holdout, random_state=seed, stratify=stratify
    )
    leaf = max(5, len(train) // 100)  # a leaf of a handful of rows is noise, not a rule
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, random_state=seed)
    tree.fit(values[train], decisions[train])
    predicted = tree.predict(values[test])
    names = [DECISIONS[int(c)] for c in tree.classes_]
    if tree.get_n_leaves() == 1:  # export_text names a lone leaf's class by its number
        rules = f"|--- class: {DECISIONS[int(tree.predict(values[:1])[0])]}\n"
    else:
        rules = readable(export_text(tree, feature_names=features, class_names=names, decimals=3))
    regressor = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=leaf, random_state=seed)
    regressor.fit(values[train], scores[train])
    truth = decisions[test]
    blocked = truth == 1
    majority = int(np.argmax(np.bincount(decisions[train], minlength=2)))
    return Surrogate(
        fidelity=float(np.mean(predicted == truth)),
        majority_agreement=float(np.mean(truth == majority)),
        block_agreement=float(np.mean(predicted[blocked] == 1)) if blocked.any() else None,
        r2=float(r2_score(scores[test], regressor.predict(values[test])))
        if np.ptp(scores[test]) > 0
        else float("nan"),  # constant scores: nothing to explain, R² undefined
        rules=rules,
        depth=int(tree.get_depth()),
        leaves=int(tree.get_n_leaves()),
        train_rows=len(train),
        test_rows=len(test),
        blocked_share=float(decisions.mean()),
    )


def readable(rules: str) -> str:
    """scikit-learn's rules with its split of missing from present values (a threshold of
    infinity: missing values go to the other side) in words.

    >>> print(readable("|--- age <= inf\\n|--- age >  inf"))
    |--- age is present
    |--- age is missing
    """
    rules = re.sub(r"(\S+) <= inf\b", r"\1 is present", rules)
    return re.sub(r"(\S+) >\s+inf\b", r"\1 is missing", rules)


__all__ = ["DECISIONS", "Surrogate", "fit_surrogate", "readable"]
