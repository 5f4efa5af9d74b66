"""Explanation drift: which features drive the model's scores, window by window.

Each feature's mean absolute contribution (TreeSHAP for LightGBM, from
:meth:`~ferryml.training.trainers.base.TrainedModel.contributions`) over a window's answers,
as a share of the total, against the same shares on the held-out period. Input drift moves
these shares when it touches what the model relies on; a feature that gains or loses
``share_delta`` of the model's attention is explanation drift: the model decides on other
grounds than it was validated on. (A change in the order of the top features alone is
reported, not judged: features of near-equal weight swap places by chance.)

Model kinds without exact contributions (``contributions`` returns None) are reported as not
explained, with the reason.

    >>> import numpy as np
    >>> shares = attention_shares(np.array([[1.0, -3.0, 0.5], [-1.0, 1.0, 0.2]]), ["a", "b"])
    >>> {name: round(share, 3) for name, share in shares.items()}
    {'a': 0.333, 'b': 0.667}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Contributions = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64] | None]
TOP = 5
NOT_EXPLAINED = "the model kind has no exact per-feature contributions"


def attention_shares(
    contributions: npt.NDArray[np.float64], features: Sequence[str]
) -> dict[str, float]:
    """Each feature's share of the mean absolute contribution (the base value, last, left
    out); all 0 when every contribution is 0."""
    mean_abs = np.abs(contributions[:, : len(features)]).mean(axis=0)
    total = float(mean_abs.sum())
    return {
        name: float(v / total) if total else 0.0 for name, v in zip(features, mean_abs, strict=True)
    }


def explanation_drift(
    reference: Mapping[str, float] | None,
    explain: Contributions,
    columns: Mapping[str, npt.NDArray[Any]],
    features: Sequence[str],
    *,
    share_delta: float,
) -> dict[str, Any]:
    """The window's attention shares (``columns``: the window's logged feature values)
    against ``reference``; ``drifted`` with the features that moved and why."""
    if reference is None:
        return {"explained": False, "drifted": False, "reason": NOT_EXPLAINED}
    rows = len(next(iter(columns.values()))) if columns else 0
    if rows == 0:
        return {"explained": False, "drifted": False, "reason": "no answer in the window"}
    matrix = np.column_stack([np.asarray(columns[name], dtype=np.float64) for name in features])
    contributions = explain(matrix)
    if contributions is None:  # pragma: no cover - the reference said it has them
        return {"explained": False, "drifted": False, "reason": "no contributions"}
    current = attention_shares(contributions, features)
    moved = {
        name: {"held_out": reference[name], "current": current[name]}
        for name in features
        if abs(current[name] - reference[name]) >= share_delta
    }
    reasons = [
        f"{name}: {100 * shift['held_out']:.1f}% -> {100 * shift['current']:.1f}% of the "
        "model's attention"
        for name, shift in moved.items()
    ]
    return {
        "explained": True,
        "drifted": bool(reasons),
        "reasons": reasons,
        "shares": current,
        "held_out_shares": dict(reference),
        "top": _top(current),
        "held_out_top": _top(reference),
    }


def _top(shares: Mapping[str, float]) -> list[str]:
    return [name for name, _ in sorted(shares.items(), key=lambda kv: -kv[1])[:TOP]]


__all__ = ["NOT_EXPLAINED", "Contributions", "attention_shares", "explanation_drift"]
