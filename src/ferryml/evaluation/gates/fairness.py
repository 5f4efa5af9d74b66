"""The subpopulation gate: error rates per segment, with fairlearn's ``MetricFrame``.

A model can be good on average and bad for one group: new customers blocked five times as
often, one country's fraud never caught. Each configured segment column is cut into groups
(:func:`segment_groups`); per group the candidate's false-positive rate, recall and selection
rate at its threshold are computed by ``MetricFrame``; the worst group is compared with the
best by ratio (lowest / highest) and difference. A group too small for its metric (fewer
negatives than ``min_segment_size`` for the false-positive rate, fewer positives for recall,
fewer rows for the selection rate) is reported, not judged: its rate is noise. Each metric
has its own limits (``gates.fairness.limits``): error rates of a few per thousand need an
absolute difference, not a ratio that one false positive can halve.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.evaluation.config import FairnessGate, SegmentSpec
from ferryml.evaluation.data import HeldOut
from ferryml.evaluation.gates.base import Check, Contender, GateResult, bounded, skipped, verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MISSING = "missing"
OTHER = "other"


def segment_groups(values: npt.NDArray[Any], spec: SegmentSpec) -> npt.NDArray[np.str_]:
    """The group of each value: numeric ranges cut at ``spec.edges``, or the ``spec.top``
    most frequent categories (the rest ``other``); missing values form their own group.

        >>> import numpy as np
        >>> spec = SegmentSpec(column="tenure", edges=[30], labels=["new", "existing"])
        >>> segment_groups(np.array([3.0, 30.0, np.nan, 400.0]), spec).tolist()
        ['new', 'existing', 'missing', 'existing']
        >>> spec = SegmentSpec(column="channel", top=1)
        >>> segment_groups(np.array(["pos", "web", "pos", None], dtype=object), spec).tolist()
        ['pos', 'other', 'pos', 'missing']
    """
    if spec.edges is not None:
        numbers = np.asarray(values, dtype=np.float64)
        edges = spec.edges
        names = spec.labels or _range_names(edges)
        index = np.digitize(numbers, edges)  # 0: below the first edge
        out = np.asarray(names, dtype=object)[index]
        out[np.isnan(numbers)] = MISSING
        return out.astype(str)
    text = pd.Series(values, dtype=object).map(_category)
    counts = text[text != MISSING].value_counts()
    kept = set(counts.index[: spec.top])
    return np.where(text.isin(kept) | (text == MISSING), text, OTHER).astype(str)


def segment_order(spec: SegmentSpec, table: pd.DataFrame) -> list[str]:
    """Groups in reading order: numeric ranges low to high, categories by size; ``other``
    and ``missing`` last."""
    if spec.edges is not None:
        names = [*(spec.labels or _range_names(spec.edges)), MISSING]
        return [name for name in names if name in table.index]
    ranked = table["rows"].sort_values(ascending=False, kind="stable").index
    tail = [name for name in (OTHER, MISSING) if name in table.index]
    return [str(name) for name in ranked if name not in tail] + tail


def _category(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _range_names(edges: list[float]) -> list[str]:
    names = [f"< {edges[0]:g}"]
    names += [f"{low:g} to < {high:g}" for low, high in itertools.pairwise(edges)]
    return [*names, f">= {edges[-1]:g}"]


def fairness_gate(candidate: Contender, data: HeldOut, config: FairnessGate) -> GateResult:
    if not config.enabled:
        return skipped("fairness", "disabled in gates.fairness")
    if not config.segments:
        return skipped("fairness", "no segments configured in gates.fairness.segments")
    blocked = (candidate.scores(data) >= candidate.threshold).astype(np.int8)
    checks: list[Check] = []
    details: dict[str, Any] = {}
    images: dict[str, bytes] = {}
    from ferryml.training.plots import png

    for name, spec in config.segments.items():
        groups = segment_groups(data.column(spec.column), spec)
        table = group_table(data.y, blocked, groups, config)
        table = table.reindex(segment_order(spec, table))
        details[name] = {"column": spec.column, "groups": table.reset_index().to_dict("records")}
        checks.extend(_segment_checks(name, table, config))
        images[f"segment_{name}"] = png(_bars(name, table, config))
    worst = min(
        (c for c in checks if c.passed is not None and "ratio" in c.name),
        key=lambda c: c.value if c.value is not None else 1.0,
        default=None,
    )
    summary = f"worst ratio {worst.value:.2f} ({worst.name})" if worst and worst.value else ""
    return verdict("fairness", checks, summary, details=details, images=images)


def group_table(
    y: npt.NDArray[np.int8],
    blocked: npt.NDArray[np.int8],
    groups: npt.NDArray[np.str_],
    config: FairnessGate,
) -> pd.DataFrame:
    """Per group: rows, positives, negatives, each metric (fairlearn) and whether it is judged."""
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    functions = {
        "false_positive_rate": false_positive_rate,
        "recall": true_positive_rate,
        "selection_rate": selection_rate,
    }
    frame = MetricFrame(
        metrics={metric: functions[metric] for metric in config.limits},
        y_true=y,
        y_pred=blocked,
        sensitive_features=pd.Series(groups, name="group"),
    )
    table = pd.DataFrame(frame.by_group)
    counts = pd.DataFrame({"group": groups, "y": y}).groupby("group")["y"].agg(["size", "sum"])
    table["rows"] = counts["size"]
    table["positives"] = counts["sum"]
    table["negatives"] = counts["size"] - counts["sum"]
    denominators = {
        "false_positive_rate": "negatives",
        "recall": "positives",
        "selection_rate": "rows",
    }
    for metric, limit in config.limits.items():
        size = limit.min_size or config.min_segment_size
        table[f"{metric}_judged"] = table[denominators[metric]] >= size
    return table


def _segment_checks(name: str, table: pd.DataFrame, config: FairnessGate) -> list[Check]:
    checks = []
    for metric, limit in config.limits.items():
        judged = table.loc[table[f"{metric}_judged"], metric].astype(float)
        if len(judged) < 2:
            size = limit.min_size or config.min_segment_size
            checks.append(
                Check(
                    f"{name}: {metric}",
                    None,
                    f"groups of >= {size}",
                    None,
                    f"{len(judged)} group(s) large enough to judge: reported only",
                )
            )
            continue
        low, high = float(judged.min()), float(judged.max())
        worst, best = str(judged.idxmin()), str(judged.idxmax())
        note = f"lowest {worst!r} {low:.4f}, highest {best!r} {high:.4f}"
        ratio = low / high if high > 0 else 1.0
        if limit.min_ratio is not None:
            checks.append(bounded(f"{name}: {metric} ratio", ratio, limit.min_ratio, None, note))
        if limit.max_difference is not None:
            checks.append(
                bounded(
                    f"{name}: {metric} difference", high - low, None, limit.max_difference, note
                )
            )
        if limit.min_ratio is None and limit.max_difference is None:
            checks.append(Check(f"{name}: {metric} ratio", ratio, "reported", None, note))
    return checks


def _bars(name: str, table: pd.DataFrame, config: FairnessGate) -> Figure:
    from matplotlib.figure import Figure

    metrics = list(config.limits)
    figure = Figure(figsize=(6.0, 1.2 + 0.35 * len(table) * len(metrics) / 2), layout="constrained")
    axes = figure.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    labels = [
        f"{group} (n={int(rows)})" for group, rows in zip(table.index, table["rows"], strict=True)
    ]
    for ax, metric in zip(axes, metrics, strict=True):
        colors = ["tab:blue" if j else "lightgray" for j in table[f"{metric}_judged"]]
        ax.barh(labels, table[metric].astype(float), color=colors)
        ax.set_title(metric.replace("_", " "), fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    figure.suptitle(f"{name} (gray: too small to judge)", fontsize=10)
    return figure


__all__ = ["fairness_gate", "group_table", "segment_groups"]
