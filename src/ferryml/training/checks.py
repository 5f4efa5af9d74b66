"""Refuse training data that cannot make a useful model, and flag data that makes a suspicious one.

- one class only (no fraud known in the training period) → :class:`InvalidInputError`;
- a feature null in every training row → :class:`InvalidInputError` naming it;
- a feature that alone nearly separates the classes (ROC-AUC >= ``LEAK_AUC`` either way) →
  a warning recorded on the run: it usually means the label leaked into a feature (a column
  filled in after the chargeback), and a model built on it fails in production.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.errors import InvalidInputError

LEAK_AUC = 0.98
"""A single feature with this ROC-AUC (or 1 - it) is flagged as a probable label leak."""

_LEAK_SAMPLE = 200_000


def check_classes(y: npt.NDArray[np.int8], period: str) -> None:
    """Both classes must be present in ``y``."""
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        only = "negatives" if positives == 0 else "positives"
        raise InvalidInputError(
            f"the {period} period holds {len(y)} rows, all {only}: a classifier needs both classes",
            hint="train on a longer history, or check that labels arrive before the cutoff "
            "(training.label_maturity_days, --as-of)",
        )


def check_not_all_null(frame: pd.DataFrame) -> None:
    """No feature may be null in every row."""
    empty = [str(name) for name in frame.columns if frame[name].isna().all()]
    if empty:
        raise InvalidInputError(
            f"{len(empty)} feature(s) are null in every training row: {empty}",
            hint="fix the feature definition, or leave it out with training.exclude_features",
        )


def leaking_features(
    frame: pd.DataFrame, y: npt.NDArray[np.int8], *, seed: int
) -> dict[str, float]:
    """Features whose values alone rank the classes with ROC-AUC >= :data:`LEAK_AUC` (either
    direction), with that AUC; computed on a sample of at most 200k rows. ``y`` must hold both
    classes (:func:`check_classes` runs first)."""
    from sklearn.metrics import roc_auc_score

    if len(frame) > _LEAK_SAMPLE:
        rows = np.random.default_rng(seed).choice(len(frame), _LEAK_SAMPLE, replace=False)
        frame, y = frame.iloc[np.sort(rows)], y[np.sort(rows)]
    found = {}
    for name in frame.columns:
        values = frame[name].to_numpy(np.float64)
        missing = np.isnan(values)
        if missing.all():
            continue
        low, high = np.nanmin(values) - 1.0, np.nanmax(values) + 1.0
        # Where the feature is missing counts as a value of its own: judged on present rows
        # only, a sparse feature (a 1-hour mean that exists only for bursts) would look like a
        # leak. It must rank the classes whether missing ranks lowest or highest.
        strength = min(
            _strength(roc_auc_score(y, np.where(missing, fill, values))) for fill in (low, high)
        )
        if strength >= LEAK_AUC:
            found[str(name)] = strength
    return found


def _strength(auc: float) -> float:
    return max(float(auc), 1.0 - float(auc))


__all__ = ["LEAK_AUC", "check_classes", "check_not_all_null", "leaking_features"]
