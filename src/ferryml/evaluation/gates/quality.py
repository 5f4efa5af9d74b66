"""The quality gate: the candidate's metrics on the held-out period against fixed limits.

Metrics are those of :func:`~ferryml.evaluation.bootstrap.weighted_metrics` on unit weights,
the same definitions the champion comparison resamples (and equal to scikit-learn's).
"""

from __future__ import annotations

import numpy as np

from ferryml.evaluation.bootstrap import METRICS, ModelScores, weighted_metrics
from ferryml.evaluation.config import QualityGate
from ferryml.evaluation.data import HeldOut
from ferryml.evaluation.gates.base import (
    Contender,
    Economics,
    GateResult,
    bounded,
    skipped,
    verdict,
)


def period_metrics(contender: Contender, data: HeldOut, economics: Economics) -> dict[str, float]:
    """Every metric of ``contender`` on the held-out rows, at its own threshold."""
    values = weighted_metrics(
        data.y,
        ModelScores(contender.scores(data), contender.threshold),
        np.ones((1, data.rows)),
        data.fn_costs,
        fp_cost=economics.fp_cost,
        fixed_fpr=economics.fixed_fpr,
        metrics=METRICS,
    )
    return {name: float(array[0]) for name, array in values.items()}


def quality_gate(
    candidate: Contender, data: HeldOut, config: QualityGate, economics: Economics
) -> GateResult:
    if not config.enabled:
        return skipped("quality", "disabled in gates.quality")
    from ferryml.training import plots
    from ferryml.training.threshold import cost_at_threshold

    metrics = period_metrics(candidate, data, economics)
    checks = [
        bounded(name, metrics[name], bound.min, bound.max) for name, bound in config.limits.items()
    ]
    scores = candidate.scores(data)
    at = cost_at_threshold(data.y, scores, data.fn_costs, economics.fp_cost, candidate.threshold)
    figures = {
        "pr_curve": plots.pr_curves({"held-out": (data.y, scores)}, "precision-recall"),
        "confusion": plots.confusion(
            at.true_positives,
            at.false_positives,
            at.false_negatives,
            at.true_negatives,
            threshold=candidate.threshold,
            cost=at.expected_cost,
            currency=economics.currency,
        ),
    }
    summary = ", ".join(f"{name} {metrics[name]:.4g}" for name in ("roc_auc", "pr_auc"))
    return verdict(
        "quality",
        checks,
        summary,
        details={"metrics": metrics, "threshold": candidate.threshold, **at.as_dict()},
        images={key: plots.png(figure) for key, figure in figures.items()},
    )


__all__ = ["period_metrics", "quality_gate"]
