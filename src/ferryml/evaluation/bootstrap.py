"""Paired bootstrap confidence intervals for the difference of two models' metrics.

Both models are scored on the same rows; each resample draws rows with replacement and
evaluates *both* models on that same draw, so the interval reflects the difference and not
the two models' separate noise. A resample is a vector of counts (how often each row was
drawn), and every metric here is computed from weighted cumulative sums over the rows sorted
once by score: thousands of resamples cost a few matrix passes instead of thousands of
scikit-learn calls. ``tests/unit/evaluation/test_bootstrap.py`` checks each weighted metric
against scikit-learn on the expanded rows and the interval against ``scipy.stats.bootstrap``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> good, weak = y + rng.normal(0, 0.6, 400), y + rng.normal(0, 1.5, 400)
    >>> costs = np.full(400, 10.0)
    >>> a = ModelScores(good, threshold=0.5)
    >>> b = ModelScores(weak, threshold=0.5)
    >>> ci = paired_bootstrap(y, a, b, costs, fp_cost=1.0, fixed_fpr=0.1, metrics=["roc_auc"],
    ...                       resamples=300, confidence=0.9, seed=1)["roc_auc"]
    >>> bool(ci.low > 0), ci.estimate > 0.1
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import get_args

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError
from ferryml.evaluation.config import QualityMetric

Array = npt.NDArray[np.float64]

METRICS: tuple[str, ...] = get_args(QualityMetric)
"""Every metric of a scored period (the names the ``gates`` config accepts)."""


@dataclass(frozen=True)
class ModelScores:
    """One model's scores on the shared rows and the threshold it blocks at."""

    scores: npt.ArrayLike
    threshold: float


@dataclass(frozen=True)
class Interval:
    """A difference (candidate - champion): the estimate on all rows and its interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int

    def as_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


def weighted_metrics(
    y_true: npt.ArrayLike,
    model: ModelScores,
    weights: npt.ArrayLike,
    fn_costs: npt.ArrayLike,
    *,
    fp_cost: float,
    fixed_fpr: float,
    metrics: Sequence[str] = METRICS,
) -> dict[str, Array]:
    """Each metric under each row of ``weights`` (shape ``(resamples, rows)``, a row of counts
    is one resample; a row of ones is the data itself), as arrays of length ``resamples``.

    Definitions follow scikit-learn with ``sample_weight``: ROC-AUC is the area under the ROC
    curve (ties count half), PR-AUC is average precision over distinct thresholds, recall at a
    false-positive rate is the best recall whose rate stays at or below it; precision, recall
    and costs block ``score >= threshold``.
    """
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise InvalidInputError(f"unknown metrics {unknown}; known: {', '.join(METRICS)}")
    y = np.asarray(y_true) == 1
    s = np.asarray(model.scores, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    costs = np.asarray(fn_costs, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s, y, costs, w = s[order], y[order], costs[order], w[:, order]
    pos_w = w * y
    neg_w = w * ~y
    cum_tp = np.cumsum(pos_w, axis=1)
    cum_fp = np.cumsum(neg_w, axis=1)
    ends = np.flatnonzero(np.r_[s[1:] < s[:-1], True])  # last row of each distinct score
    tp = cum_tp[:, ends]
    fp = cum_fp[:, ends]
    positives = tp[:, -1]
    negatives = fp[:, -1]
    out: dict[str, Array] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if "roc_auc" in metrics:
            tp_group = np.diff(tp, axis=1, prepend=0.0)
            fp_group = np.diff(fp, axis=1, prepend=0.0)
            below = negatives[:, None] - fp  # negatives scored strictly lower than the group
            pairs = (tp_group * below + 0.5 * tp_group * fp_group).sum(axis=1)
            out["roc_auc"] = pairs / (positives * negatives)
        if "pr_auc" in metrics:
            recall_step = np.diff(tp, axis=1, prepend=0.0) / positives[:, None]
            flagged = tp + fp
            precision = np.where(flagged > 0, tp / np.where(flagged > 0, flagged, 1.0), 0.0)
            out["pr_auc"] = (recall_step * precision).sum(axis=1)
        if "recall_at_fpr" in metrics:
            allowed = fp / negatives[:, None] <= fixed_fpr + 1e-12
            tpr = np.where(allowed, tp / positives[:, None], 0.0)
            out["recall_at_fpr"] = tpr.max(axis=1)
        blocked = int(np.sum(s >= model.threshold))  # a prefix of the sorted rows
        tp_at = pos_w[:, :blocked].sum(axis=1)
        fp_at = neg_w[:, :blocked].sum(axis=1)
        if "precision" in metrics:
            flagged_at = tp_at + fp_at
            out["precision"] = np.where(flagged_at > 0, tp_at / np.maximum(flagged_at, 1e-300), 0.0)
        if "recall" in metrics:
            out["recall"] = np.where(positives > 0, tp_at / np.maximum(positives, 1e-300), 0.0)
        if "expected_cost" in metrics or "cost_per_1000" in metrics:
            missed = (pos_w * costs).sum(axis=1) - (pos_w[:, :blocked] * costs[:blocked]).sum(
                axis=1
            )
            cost = fp_cost * fp_at + missed
            out["expected_cost"] = cost
            out["cost_per_1000"] = 1000.0 * cost / w.sum(axis=1)
    return {name: out[name] for name in metrics}


def resample_counts(rows: int, resamples: int, rng: np.random.Generator) -> Array:
    """``resamples`` draws of ``rows`` rows with replacement, as counts per row."""
    draws = rng.integers(0, rows, size=(resamples, rows))
    return np.stack([np.bincount(d, minlength=rows) for d in draws]).astype(np.float64)


def paired_bootstrap(
    y_true: npt.ArrayLike,
    candidate: ModelScores,
    reference: ModelScores,
    fn_costs: npt.ArrayLike,
    *,
    fp_cost: float,
    fixed_fpr: float,
    metrics: Sequence[str],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 50,
) -> dict[str, Interval]:
    """Percentile intervals of ``metric(candidate) - metric(reference)`` over paired
    resamples of the rows. Resamples that lack a class are redrawn."""
    y = np.asarray(y_true) == 1
    rows = len(y)
    if rows == 0 or y.all() or not y.any():
        raise InvalidInputError("a paired bootstrap needs rows of both classes")

    def evaluate(model: ModelScores, counts: Array) -> dict[str, Array]:
        return weighted_metrics(
            y, model, counts, fn_costs, fp_cost=fp_cost, fixed_fpr=fixed_fpr, metrics=metrics
        )

    ones = np.ones((1, rows))
    full_a, full_b = evaluate(candidate, ones), evaluate(reference, ones)
    rng = np.random.default_rng(seed)
    deltas: dict[str, list[Array]] = {name: [] for name in metrics}
    done = 0
    while done < resamples:
        counts = resample_counts(rows, min(chunk, resamples - done), rng)
        has_both = ((counts * y).sum(axis=1) > 0) & ((counts * ~y).sum(axis=1) > 0)
        counts = counts[has_both]
        a, b = evaluate(candidate, counts), evaluate(reference, counts)
        for name in metrics:
            deltas[name].append(a[name] - b[name])
        done += len(counts)
    tail = 100 * (1 - confidence) / 2
    out = {}
    for name in metrics:
        values = np.concatenate(deltas[name])[:resamples]
        low, high = np.percentile(values, [tail, 100 - tail])
        out[name] = Interval(
            estimate=float(full_a[name][0] - full_b[name][0]),
            low=float(low),
            high=float(high),
            confidence=confidence,
            resamples=resamples,
        )
    return out


__all__ = [
    "METRICS",
    "Interval",
    "ModelScores",
    "paired_bootstrap",
    "resample_counts",
    "weighted_metrics",
]
