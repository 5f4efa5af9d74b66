"""SHAP: how far each feature moves each row's score from the model's base value.

Values are in **log-odds** (the model's raw score), where they add up exactly: the base value
plus a row's contributions is the logit of its score. They come from the model itself when
its kind has an exact form (:meth:`~ferryml.training.trainers.base.TrainedModel.contributions`:
TreeSHAP for LightGBM, coefficient times standardized value for the logistic baseline, term scores
for the EBM) and otherwise from the ``shap`` package, model-agnostic, on the logit of the
model's scores against a small seeded background sample.

Global: the mean |SHAP| of each feature, and a beeswarm (one dot per row: its SHAP value,
coloured by the feature's value). Local: a waterfall per chosen row, from the base value to
the row's raw score::

    >>> import numpy as np
    >>> values = ShapValues(["a", "b"], np.array([[1.0, -0.5], [-1.0, 0.0]]),
    ...                     np.array([-2.0, -2.0]), np.zeros((2, 2)), ["r1", "r2"], "exact")
    >>> values.mean_abs()
    {'a': 1.0, 'b': 0.25}
    >>> values.waterfall(0).raw_score
    -1.5
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ferryml._optional import require

if TYPE_CHECKING:
    from types import ModuleType

    import pandas as pd

    from ferryml.training.trainers.base import TrainedModel

SPACE = "log-odds"
"""The space SHAP values are measured in: the model's raw score, before the sigmoid."""
EPSILON = 1e-12


@dataclass(frozen=True)
class Contribution:
    """One feature's push on one row."""

    feature: str
    value: float
    """The row's value of the feature (NaN: missing)."""
    shap: float


@dataclass(frozen=True)
class Waterfall:
    """One row's path from the base value to its raw score, largest pushes first."""

    row_id: str
    base: float
    contributions: list[Contribution]
    rest: float
    """The summed contributions of the features not listed."""
    raw_score: float

    @property
    def score(self) -> float:
        """The probability the raw score stands for."""
        return float(1.0 / (1.0 + np.exp(-self.raw_score)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id,
            "base": self.base,
            "contributions": [vars(c) for c in self.contributions],
            "rest": self.rest,
            "raw_score": self.raw_score,
            "score": self.score,
        }


@dataclass(frozen=True)
class ShapValues:
    """SHAP values of some rows: one column per feature, in log-odds."""

    features: list[str]
    values: npt.NDArray[np.float64]
    base: npt.NDArray[np.float64]
    """Each row's base value (the same for every row of an exact model)."""
    data: npt.NDArray[np.float64]
    """The rows' feature values, aligned with ``values``."""
    ids: list[str]
    method: str
    """Where the values come from (the model's exact form, or the shap package)."""

    def mean_abs(self) -> dict[str, float]:
        """Each feature's mean |SHAP|, the largest first."""
        means = np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(0)
        order = np.argsort(-means, kind="stable")
        return {self.features[i]: float(means[i]) for i in order}

    def ranked(self) -> list[str]:
        """The features, the largest mean |SHAP| first."""
        return list(self.mean_abs())

    def waterfall(self, index: int, top: int = 10) -> Waterfall:
        """The waterfall of the ``index``-th explained row, its ``top`` largest pushes."""
        row = self.values[index]
        order = np.argsort(-np.abs(row), kind="stable")
        shown = order[:top]
        return Waterfall(
            row_id=self.ids[index],
            base=float(self.base[index]),
            contributions=[
                Contribution(self.features[i], float(self.data[index, i]), float(row[i]))
                for i in shown
            ],
            rest=float(row[order[top:]].sum()),
            raw_score=float(self.base[index] + row.sum()),
        )

    def beeswarm(self, features: Sequence[str], points: int, seed: int) -> dict[str, Any]:
        """Per feature, up to ``points`` rows' SHAP values and their feature values' ranks
        (0 lowest .. 1 highest, NaN missing): the dots and colours of a beeswarm."""
        rng = np.random.default_rng(seed)
        rows = np.arange(len(self.values))
        if len(rows) > points:
            rows = np.sort(rng.choice(rows, points, replace=False))
        swarm: dict[str, Any] = {}
        for name in features:
            i = self.features.index(name)
            data = self.data[rows, i]
            swarm[name] = {"shap": self.values[rows, i], "rank": _ranks(data)}
        return swarm


def shap_values(
    model: TrainedModel,
    x: pd.DataFrame,
    ids: Sequence[str],
    *,
    seed: int,
    background: int = 100,
    fallback_rows: int = 200,
    keep: Sequence[int] = (),
) -> ShapValues:
    """SHAP values of the rows of ``x`` (columns: the model's features).

    Exact when the model has contributions; otherwise the shap package explains at most
    ``fallback_rows`` rows (those listed in ``keep`` first, then the first rows of ``x``)
    against ``background`` rows drawn with ``seed``."""
    features = list(model.features)
    data = x[features].to_numpy(np.float64)
    exact = model.contributions(data)
    if exact is not None:
        return ShapValues(
            features,
            np.asarray(exact[:, :-1], dtype=np.float64),
            np.asarray(exact[:, -1], dtype=np.float64),
            data,
            list(ids),
            f"exact: the {model.kind} model's own additive contributions",
        )
    chosen = list(dict.fromkeys([*keep, *range(len(data))]))[: max(fallback_rows, len(keep))]
    rows = np.asarray(chosen, dtype=np.int64)
    rng = np.random.default_rng(seed)
    drawn = rng.choice(len(data), min(background, len(data)), replace=False)
    explainer = _explainer(model, data[drawn], seed)
    explanation = explainer(data[rows])
    base = np.broadcast_to(np.asarray(explanation.base_values, dtype=np.float64), (len(rows),))
    return ShapValues(
        features,
        np.asarray(explanation.values, dtype=np.float64),
        np.array(base),
        data[rows],
        [ids[i] for i in rows],
        f"shap package, model-agnostic ({type(explainer).__name__} on the logit of the "
        f"scores, {len(drawn)} background rows, seed {seed}); "
        f"{len(rows)} of {len(data)} rows explained",
    )


def _explainer(model: TrainedModel, background: npt.NDArray[np.float64], seed: int) -> Any:
    shap = import_shap()

    def logit(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        scores = np.clip(model.predict_array(np.asarray(values, np.float64)), EPSILON, 1 - EPSILON)
        return np.log(scores / (1.0 - scores))

    masker = shap.maskers.Independent(background, max_samples=len(background))
    return shap.Explainer(logit, masker, feature_names=list(model.features), seed=seed)


def import_shap() -> ModuleType:
    """The shap package. Importing it makes shap 0.51 call matplotlib's ``Colormap.set_bad``
    and ``set_over``/``set_under``, which matplotlib 3.11 announces it will deprecate
    (PendingDeprecationWarnings about shap's code, raised once per process, on import):
    silenced here, where it happens, not globally."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"The set_\w+ function will be deprecated",
            category=PendingDeprecationWarning,
        )
        return require("shap", extra="core", purpose="SHAP explanations")


def _ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    present = ~np.isnan(values)
    ranks = np.full(len(values), np.nan)
    if present.sum() > 1:
        order = np.argsort(np.argsort(values[present], kind="stable"), kind="stable")
        ranks[present] = order / (present.sum() - 1)
    elif present.any():
        ranks[present] = 0.5
    return ranks


__all__ = ["SPACE", "Contribution", "ShapValues", "Waterfall", "import_shap", "shap_values"]
