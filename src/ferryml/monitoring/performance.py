"""How a model did on events whose labels have matured, and what its decisions cost.

Labels come late (a chargeback takes weeks): a window's performance is computed on its matured
events only, and always shown with the share of the window that has matured (*label
completeness*). Business KPIs need no label for the approval rate and blocks per day; fraud
loss and false-positive cost count matured events only, like training's cost model
(``training.costs``): a good customer blocked costs ``false_positive``, a fraud let through
costs its amount at risk.

    >>> import numpy as np
    >>> outcomes = Outcomes(
    ...     scores=np.array([0.9, 0.2, 0.7, 0.1]),
    ...     blocked=np.array([True, False, True, False]),
    ...     label=np.array([1.0, 1.0, 0.0, np.nan]),
    ...     amount=np.array([50.0, 80.0, 10.0, 5.0]),
    ... )
    >>> kpis = outcomes.business(false_positive_cost=10.0, days=1.0)
    >>> kpis["approval_rate"], kpis["fraud_loss"], kpis["false_positive_cost"]
    (0.5, 80.0, 10.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Outcomes:
    """Scores, decisions, labels (1, 0, NaN: not matured) and amounts at risk, row by row."""

    scores: npt.NDArray[np.float64]
    blocked: npt.NDArray[np.bool_]
    label: npt.NDArray[np.float64]
    amount: npt.NDArray[np.float64]
    """What a fraud let through would cost (its amount, or the configured flat cost)."""

    @property
    def matured(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.label)

    def summary(self) -> dict[str, Any]:
        """Rows, matured rows, positives, fraud rate, approval rate, PR-AUC, calibration."""
        matured = self.matured
        y = self.label[matured]
        return {
            "rows": len(self.scores),
            "matured": int(matured.sum()),
            "positives": int(y.sum()),
            "fraud_rate": float(y.mean()) if y.size else math.nan,
            "approval_rate": float(1 - self.blocked.mean()) if self.blocked.size else math.nan,
            "pr_auc": pr_auc(y, self.scores[matured]),
            "calibration": float(self.scores[matured].mean() / y.mean()) if y.sum() else math.nan,
        }

    def performance(self, min_positives: int) -> dict[str, Any]:
        """Quality on the matured rows: PR-AUC, precision and recall of the decisions,
        calibration (mean score over fraud rate: compare it with the held-out period's, since
        a model trained with class weights is not calibrated to 1); ``judged`` is False (and
        the metrics NaN) below ``min_positives`` known positives or without a negative."""
        matured = self.matured
        y = self.label[matured].astype(bool)
        scores = self.scores[matured]
        blocked = self.blocked[matured]
        positives = int(y.sum())
        completeness = float(matured.mean()) if matured.size else 0.0
        result: dict[str, Any] = {
            "matured": int(matured.sum()),
            "label_completeness": completeness,
            "positives": positives,
            "judged": positives >= min_positives and positives < y.size,
        }
        if not result["judged"]:
            result["reason"] = (
                f"{positives} known positives among {y.size} matured events "
                f"(at least {min_positives}, and a negative, are needed)"
            )
            nan = math.nan
            return {**result, "pr_auc": nan, "precision": nan, "recall": nan, "calibration": nan}
        true_positives = int((blocked & y).sum())
        return {
            **result,
            "pr_auc": pr_auc(y.astype(np.float64), scores),
            "precision": true_positives / int(blocked.sum()) if blocked.any() else math.nan,
            "recall": true_positives / positives,
            "calibration": float(scores.mean() / y.mean()),
        }

    def business(self, *, false_positive_cost: float, days: float) -> dict[str, float]:
        """Approval rate and blocks per day (every answer); fraud loss, false-positive cost and
        cost per 1,000 matured answers (matured rows)."""
        n = len(self.blocked)
        matured = self.matured
        fraud = matured & (self.label == 1)
        legit = matured & (self.label == 0)
        loss = float(self.amount[fraud & ~self.blocked].sum())
        fp_cost = float((legit & self.blocked).sum()) * false_positive_cost
        judged = int(matured.sum())
        return {
            "approval_rate": float(1 - self.blocked.mean()) if n else math.nan,
            "blocks_per_day": float(self.blocked.sum() / days) if days > 0 else math.nan,
            "fraud_loss": loss,
            "false_positive_cost": fp_cost,
            "cost_per_1000": 1000 * (loss + fp_cost) / judged if judged else math.nan,
        }


def pr_auc(y: npt.NDArray[np.float64], scores: npt.NDArray[np.float64]) -> float:
    """Average precision (sklearn's), NaN unless both classes are present."""
    if y.size == 0 or y.min() == y.max():
        return math.nan
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, scores))


__all__ = ["Outcomes", "pr_auc"]
