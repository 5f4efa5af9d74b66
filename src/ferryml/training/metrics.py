"""Ranking metrics of a scored set: ROC-AUC, PR-AUC and recall at a fixed false-positive rate.

ROC-AUC and PR-AUC (average precision) are scikit-learn's. Recall at a fixed false-positive
rate is the operating point a fraud team asks about ("how much fraud do we catch if we may
bother 1 % of good customers?"): the highest true-positive rate among thresholds whose
false-positive rate stays at or below the target::

    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 0, 1, 1])
    >>> s = np.array([0.1, 0.2, 0.3, 0.8, 0.7, 0.9])
    >>> recall_at_fpr(y, s, 0.25), recall_at_fpr(y, s, 0.2)
    (1.0, 0.5)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError


@dataclass(frozen=True)
class RankingMetrics:
    """How well scores rank positives above negatives, independent of any threshold."""

    roc_auc: float
    pr_auc: float
    recall_at_fpr: float
    fixed_fpr: float
    positives: int
    rows: int

    def as_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


def recall_at_fpr(y_true: npt.ArrayLike, scores: npt.ArrayLike, fpr: float) -> float:
    """The highest recall with a false-positive rate at most ``fpr`` (blocking ``score >= t``)."""
    from sklearn.metrics import roc_curve

    # every threshold: dropping "intermediate" collinear points would drop operating points
    false_rates, true_rates, _ = roc_curve(
        np.asarray(y_true), np.asarray(scores), drop_intermediate=False
    )
    allowed = false_rates <= fpr + 1e-12
    return float(true_rates[allowed].max()) if allowed.any() else 0.0


def ranking_metrics(
    y_true: npt.ArrayLike, scores: npt.ArrayLike, fixed_fpr: float
) -> RankingMetrics:
    """All ranking metrics of one scored set; both classes must be present."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    positives = int((y == 1).sum())
    if positives == 0 or positives == len(y):
        raise InvalidInputError(
            f"cannot rank {len(y)} rows holding one class only ({positives} positives)",
            hint="evaluate on a period that has both classes (a longer test period)",
        )
    if not np.isfinite(s).all():
        raise InvalidInputError("scores must be finite numbers; the model returned NaN or inf")
    return RankingMetrics(
        roc_auc=float(roc_auc_score(y, s)),
        pr_auc=float(average_precision_score(y, s)),
        recall_at_fpr=recall_at_fpr(y, s, fixed_fpr),
        fixed_fpr=fixed_fpr,
        positives=positives,
        rows=len(y),
    )


__all__ = ["RankingMetrics", "ranking_metrics", "recall_at_fpr"]
