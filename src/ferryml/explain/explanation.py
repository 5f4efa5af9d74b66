"""Every explanation of one model on one set of rows, computed in one pass.

:func:`explain_model` runs the methods of :mod:`ferryml.explain` in order (SHAP, LIME,
permutation importance, partial dependence, the surrogate tree, the EBM) on rows the caller
chose, and :func:`local_rows` picks the rows explained one by one: those asked for, the
highest-scored, and those closest to the threshold (where a decision is most fragile)::

    >>> import numpy as np
    >>> local_rows(np.array([0.1, 0.9, 0.48, 0.7, 0.2]), 0.5, ["a", "b", "c", "d", "e"],
    ...            requested=["e"], top=2, near=1)
    [4, 1, 3, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError
from ferryml.explain.dependence import (
    Correlation,
    PartialDependence,
    PartialDependence2D,
    correlated_pairs,
    partial_dependence,
    partial_dependence_2d,
)
from ferryml.explain.ebm import EbmExplanation, ebm_explanation
from ferryml.explain.lime_local import LimeExplainer, LimeExplanation
from ferryml.explain.options import ExplainOptions
from ferryml.explain.permutation import PermutationImportance, permutation_importances
from ferryml.explain.shapley import SPACE, ShapValues, Waterfall, shap_values
from ferryml.explain.surrogate import Surrogate, fit_surrogate

if TYPE_CHECKING:
    import pandas as pd

    from ferryml.training.trainers.base import TrainedModel

STAGES = (
    "SHAP",
    "LIME",
    "permutation importance",
    "partial dependence",
    "surrogate tree",
    "EBM",
)
Progress = Callable[[str, int, int], None]
"""Called with the stage starting, the stages done and their total."""


@dataclass(frozen=True)
class Explanation:
    """One model's explanations on one set of rows."""

    model: dict[str, Any]
    """Who was explained: name, version, kind, threshold."""
    threshold: float
    rows: int
    seed: int
    scores: npt.NDArray[np.float64]
    local_ids: list[str]
    shap: ShapValues
    waterfalls: list[Waterfall]
    lime: list[LimeExplanation]
    permutation: PermutationImportance | None
    dependence: list[PartialDependence]
    dependence_2d: PartialDependence2D | None
    correlations: list[Correlation]
    """Pairs of correlated features among those the partial dependence plots show."""
    correlation_threshold: float
    surrogate: Surrogate
    ebm: EbmExplanation | None
    options: ExplainOptions = field(default_factory=ExplainOptions)
    """The settings it was computed with."""
    rows_period: dict[str, Any] = field(default_factory=dict)
    """Where the rows come from (the model's held-out period), for the report."""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The numbers of the report (without the beeswarm's dots and the ICE curves)."""
        top = self.options.top_features
        return {
            "model": self.model,
            "rows": self.rows,
            "rows_period": self.rows_period,
            "seed": self.seed,
            "threshold": self.threshold,
            "blocked_share": float(np.mean(self.scores >= self.threshold)),
            "local_rows": self.local_ids,
            "shap": {
                "space": SPACE,
                "method": self.shap.method,
                "rows": len(self.shap.values),
                "mean_abs": dict(list(self.shap.mean_abs().items())[:top]),
                "waterfalls": [w.as_dict() for w in self.waterfalls],
            },
            "lime": [e.as_dict() for e in self.lime],
            "permutation": None if self.permutation is None else self.permutation.as_dict(top),
            "partial_dependence": [p.as_dict() for p in self.dependence],
            "partial_dependence_2d": None
            if self.dependence_2d is None
            else self.dependence_2d.as_dict(),
            "correlation_warning": {
                "threshold": self.correlation_threshold,
                "pairs": [c.as_dict() for c in self.correlations],
            },
            "surrogate": self.surrogate.as_dict(),
            "ebm": None if self.ebm is None else self.ebm.as_dict(),
            "notes": self.notes,
            "options": self.options.model_dump(mode="json"),
        }


def local_rows(
    scores: npt.NDArray[np.float64],
    threshold: float,
    ids: Sequence[str],
    *,
    requested: Sequence[str] = (),
    top: int = 3,
    near: int = 2,
) -> list[int]:
    """Row positions to explain one by one: ``requested`` ids, then the ``top`` highest
    scores, then the ``near`` scores closest to ``threshold`` (each row once)."""
    position = {row_id: i for i, row_id in enumerate(ids)}
    unknown = [row_id for row_id in requested if row_id not in position]
    if unknown:
        raise InvalidInputError(
            f"--row {', '.join(unknown)}: not among the model's explained rows",
            hint="pick events of the model's held-out period (the report's JSON lists the "
            "explained rows' period); an id is the event's id column value",
        )
    chosen = [position[row_id] for row_id in requested]
    chosen += [int(i) for i in np.argsort(-scores, kind="stable")[:top]]
    chosen += [int(i) for i in np.argsort(np.abs(scores - threshold), kind="stable")[:near]]
    return list(dict.fromkeys(chosen))


def sample_rows(count: int, limit: int, seed: int, keep: Sequence[int] = ()) -> list[int]:
    """Up to ``limit`` row positions of ``count`` drawn with ``seed``, ``keep`` always in,
    in their original order."""
    if count <= limit:
        return list(range(count))
    kept = set(keep)
    others = np.setdiff1d(np.arange(count), np.fromiter(kept, dtype=np.int64, count=len(kept)))
    drawn = np.random.default_rng(seed).choice(others, limit - len(kept), replace=False)
    return sorted({*kept, *map(int, drawn)})


def explain_model(
    model: TrainedModel,
    x: pd.DataFrame,
    *,
    threshold: float,
    ids: Sequence[str],
    y: npt.NDArray[np.int8] | None,
    local: Sequence[int],
    seed: int,
    options: ExplainOptions | None = None,
    identity: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Explanation:
    """Explain ``model`` on the rows of ``x`` (``y`` their labels, None: unknown), the rows at
    positions ``local`` one by one."""
    options = options or ExplainOptions()
    step = progress or (lambda stage, done, total: None)
    features = list(model.features)
    x = x[features].reset_index(drop=True)
    scores = model.predict(x)
    notes = []
    step(STAGES[0], 0, len(STAGES))
    shap = shap_values(
        model,
        x,
        ids,
        seed=seed,
        background=options.shap_background,
        fallback_rows=options.shap_fallback_rows,
        keep=local,
    )
    position = {row_id: i for i, row_id in enumerate(shap.ids)}
    waterfalls = [shap.waterfall(position[ids[row]], options.top_features) for row in local]
    step(STAGES[1], 1, len(STAGES))
    lime = LimeExplainer(model, x)
    limes = [
        lime.explain(
            x.iloc[row].to_numpy(np.float64),
            ids[row],
            seed=seed,
            num_features=options.lime_features,
            num_samples=options.lime_samples,
        )
        for row in local
    ]
    step(STAGES[2], 2, len(STAGES))
    permutation = None
    if y is not None and 0 < int(y.sum()) < len(y):
        permutation = permutation_importances(
            model, x, y, seed=seed, repeats=options.permutation_repeats
        )
    else:
        notes.append("permutation importance needs known labels of both classes: not computed")
    step(STAGES[3], 3, len(STAGES))
    pdp_rows = sample_rows(len(x), options.pdp_rows, seed)
    pdp_x = x.iloc[pdp_rows]
    shown = shap.ranked()[: options.pdp_features]
    dependence = [
        partial_dependence(
            model,
            pdp_x,
            feature,
            resolution=options.grid_resolution,
            ice_lines=options.ice_lines,
            seed=seed,
        )
        for feature in shown
    ]
    pair = (shown[0], shown[1]) if len(shown) >= 2 else None
    dependence_2d = None
    if pair is not None:
        resolution = max(3, options.grid_resolution // 2)
        dependence_2d = partial_dependence_2d(model, pdp_x, pair, resolution=resolution)
    correlations = correlated_pairs(x, shown, options.correlation_threshold)
    step(STAGES[4], 4, len(STAGES))
    surrogate = fit_surrogate(
        x,
        scores,
        threshold,
        seed=seed,
        max_depth=options.surrogate_depth,
        holdout=options.holdout_share,
    )
    step(STAGES[5], 5, len(STAGES))
    ebm = ebm_explanation(
        model,
        x,
        y,
        ids,
        local,
        seed=seed,
        interactions=options.ebm_interactions,
        holdout=options.holdout_share,
        top=options.top_features,
    )
    if ebm is None:
        notes.append("the comparison EBM needs known labels of both classes: not fitted")
    step("done", len(STAGES), len(STAGES))
    return Explanation(
        model=identity or {"kind": model.kind, "threshold": threshold},
        threshold=threshold,
        rows=len(x),
        seed=seed,
        scores=scores,
        local_ids=[ids[row] for row in local],
        shap=shap,
        waterfalls=waterfalls,
        lime=limes,
        permutation=permutation,
        dependence=dependence,
        dependence_2d=dependence_2d,
        correlations=correlations,
        correlation_threshold=options.correlation_threshold,
        surrogate=surrogate,
        ebm=ebm,
        options=options,
        notes=notes,
    )


__all__ = ["STAGES", "Explanation", "Progress", "explain_model", "local_rows", "sample_rows"]
