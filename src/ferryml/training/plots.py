"""The figures every training run keeps: precision-recall curves, the confusion matrix at the
business threshold, feature importance. Matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float = 6.0, height: float = 4.5) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def pr_curves(
    curves: Mapping[str, tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]], title: str
) -> Figure:
    """One precision-recall curve per named (labels, scores) pair."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    figure = _figure()
    axes = figure.subplots()
    for name, (y, scores) in curves.items():
        precision, recall, _ = precision_recall_curve(y, scores)
        ap = average_precision_score(y, scores)
        axes.step(recall, precision, where="post", label=f"{name} (AP {ap:.3f})")
    axes.set(xlabel="recall", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="upper right")
    axes.grid(alpha=0.3)
    return figure


def confusion(
    tp: int, fp: int, fn: int, tn: int, *, threshold: float, cost: float, currency: str
) -> Figure:
    """The confusion matrix at the business threshold, with the cost it implies."""
    figure = _figure(5.0, 4.0)
    axes = figure.subplots()
    cells = np.array([[tn, fp], [fn, tp]])
    axes.imshow(cells, cmap="Blues")
    for (row, column), value in np.ndenumerate(cells):
        axes.text(column, row, f"{value:,}", ha="center", va="center", fontsize=12)
    axes.set_xticks([0, 1], ["approved", "blocked"])
    axes.set_yticks([0, 1], ["legitimate", "fraud"])
    axes.set_title(f"threshold {threshold:.4f}: expected cost {cost:,.0f} {currency}")
    return figure


def importance(values: Mapping[str, float], title: str, top: int = 20) -> Figure:
    """The ``top`` most important features, largest first."""
    ranked = sorted(values.items(), key=lambda item: item[1], reverse=True)[:top]
    figure = _figure(6.0, 0.25 * len(ranked) + 1.2)
    axes = figure.subplots()
    names = [name for name, _ in reversed(ranked)]
    axes.barh(names, [value for _, value in reversed(ranked)])
    axes.set(xlabel="share of importance", title=title)
    return figure


def png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


__all__ = ["confusion", "importance", "png", "pr_curves"]
