"""Partial dependence and ICE: the model's score as one or two features sweep a grid.

For each grid value, every explained row gets that value in the feature (the others as they
are) and is scored; the ICE curve is one row's scores along the grid, the partial dependence
their mean. The grid is scikit-learn's: the feature's distinct values when there are fewer
than ``resolution``, else ``resolution`` evenly spaced points between its 5th and 95th
percentiles (missing values ignored).

A partial dependence plot assumes the feature is independent of the others: rows get values
they could never have (a 3 a.m. amount with a noon time of day). :func:`correlated_pairs`
names the pairs of features whose |Spearman| reaches a threshold, for the report's warning::

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1, 2, 3, 4.0], "b": [2, 4, 6, 9.0], "c": [4, 1, 3, 2.0]})
    >>> [(p.a, p.b, round(p.rho, 2)) for p in correlated_pairs(frame, ["a"], 0.5)]
    [('a', 'b', 1.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

    from ferryml.training.trainers.base import TrainedModel

PERCENTILES = (0.05, 0.95)


@dataclass(frozen=True)
class PartialDependence:
    """One feature's partial dependence (mean score per grid value) and ICE curves."""

    feature: str
    grid: npt.NDArray[np.float64]
    average: npt.NDArray[np.float64]
    ice: npt.NDArray[np.float64]
    """One row per drawn ICE curve, one column per grid value."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "grid": self.grid.tolist(),
            "average": self.average.tolist(),
            "ice_curves": len(self.ice),
        }


@dataclass(frozen=True)
class PartialDependence2D:
    """Two features' joint partial dependence: ``average[i, j]`` at ``(grid_a[i], grid_b[j])``."""

    features: tuple[str, str]
    grid_a: npt.NDArray[np.float64]
    grid_b: npt.NDArray[np.float64]
    average: npt.NDArray[np.float64]

    def as_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "grid_a": self.grid_a.tolist(),
            "grid_b": self.grid_b.tolist(),
            "average": self.average.tolist(),
        }


@dataclass(frozen=True)
class Correlation:
    """Two features whose ranks move together: ``a`` is shown in a plot, ``b`` is its partner."""

    a: str
    b: str
    rho: float
    """Spearman's rank correlation over the rows where both are present."""

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "spearman": self.rho}


def feature_grid(values: npt.NDArray[np.float64], resolution: int) -> npt.NDArray[np.float64]:
    """The grid of a feature's values (scikit-learn's rule, missing values ignored)."""
    from scipy.stats.mstats import mquantiles

    present = values[~np.isnan(values)]
    if len(present) == 0:
        return np.zeros(0)
    uniques = np.unique(present)
    if len(uniques) < resolution:
        return uniques.astype(np.float64)
    low, high = mquantiles(present, prob=PERCENTILES)
    if np.isclose(low, high):  # a spike (mostly zeros): spread the grid over the quantiles
        return np.unique(np.quantile(present, np.linspace(0, 1, resolution)))
    return np.linspace(float(low), float(high), resolution)


def partial_dependence(
    model: TrainedModel,
    x: pd.DataFrame,
    feature: str,
    *,
    resolution: int = 20,
    ice_lines: int = 50,
    seed: int = 0,
    grid: npt.NDArray[np.float64] | None = None,
) -> PartialDependence:
    """The partial dependence of the model's score on ``feature`` over the rows of ``x``,
    with ``ice_lines`` ICE curves of rows drawn with ``seed``."""
    features = list(model.features)
    values = x[features].to_numpy(np.float64)
    column = features.index(feature)
    grid = feature_grid(values[:, column], resolution) if grid is None else grid
    scores = _sweep(model, values, column, grid)  # rows by grid points
    rng = np.random.default_rng(seed)
    drawn = np.sort(rng.choice(len(values), min(ice_lines, len(values)), replace=False))
    return PartialDependence(feature, grid, scores.mean(axis=0), scores[drawn])


def partial_dependence_2d(
    model: TrainedModel, x: pd.DataFrame, pair: tuple[str, str], *, resolution: int = 10
) -> PartialDependence2D:
    """The joint partial dependence of the score on the two features of ``pair``."""
    features = list(model.features)
    values = x[features].to_numpy(np.float64)
    a, b = features.index(pair[0]), features.index(pair[1])
    grid_a = feature_grid(values[:, a], resolution)
    grid_b = feature_grid(values[:, b], resolution)
    average = np.empty((len(grid_a), len(grid_b)))
    for i, value in enumerate(grid_a):  # one grid row at a time: bounded memory
        fixed = values.copy()
        fixed[:, a] = value
        average[i] = _sweep(model, fixed, b, grid_b).mean(axis=0)
    return PartialDependence2D(pair, grid_a, grid_b, average)


def _sweep(
    model: TrainedModel,
    values: npt.NDArray[np.float64],
    column: int,
    grid: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Scores of every row with ``column`` set to each grid value: rows by grid points."""
    n = len(values)
    stacked = np.tile(values, (len(grid), 1))
    stacked[:, column] = np.repeat(grid, n)
    return model.predict_array(stacked).reshape(len(grid), n).T


def spearman(x: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rank correlation of every pair of columns (pairwise complete rows)."""
    return x.astype(np.float64).corr(method="spearman", min_periods=3)


def correlated_pairs(
    x: pd.DataFrame,
    shown: Sequence[str],
    threshold: float,
    *,
    among: Sequence[str] | None = None,
) -> list[Correlation]:
    """Each feature of ``shown`` paired with every other column of ``x`` (or of ``among``)
    whose |Spearman| is at least ``threshold``, each pair once, the strongest first."""
    columns = list(dict.fromkeys([*shown, *(among if among is not None else x.columns)]))
    matrix = spearman(x[columns]).to_numpy()
    found, seen = [], set()
    for a in shown:
        for b in columns:
            rho = float(matrix[columns.index(a), columns.index(b)])
            if (
                b != a
                and frozenset((a, b)) not in seen
                and np.isfinite(rho)
                and abs(rho) >= threshold
            ):
                seen.add(frozenset((a, b)))
                found.append(Correlation(a, b, rho))
    return sorted(found, key=lambda pair: (-abs(pair.rho), pair.a, pair.b))


__all__ = [
    "Correlation",
    "PartialDependence",
    "PartialDependence2D",
    "correlated_pairs",
    "feature_grid",
    "partial_dependence",
    "partial_dependence_2d",
    "spearman",
]
