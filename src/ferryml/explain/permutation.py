"""Permutation importance: how much PR-AUC drops when one feature's values are shuffled.

Computed by scikit-learn's :func:`~sklearn.inspection.permutation_importance` (seeded, each
feature shuffled ``repeats`` times) with average precision as the score, on rows the model
never trained on. Unlike SHAP it measures what a feature is worth to the model's *ranking
quality*, not how far it moves scores; correlated features share their worth, so each may
look unimportant when shuffled alone.

A ferryml model is handed to scikit-learn through :class:`ScoringEstimator`, a minimal
already-fitted classifier::

    >>> import numpy as np, pandas as pd
    >>> from ferryml.training.trainers.base import TrainedModel
    >>> class Constant(TrainedModel):
    ...     kind = "constant"
    ...     def predict_array(self, values): return np.full(len(values), 0.25)
    ...     def from_logged(cls, path, *, threads): ...
    ...     def importance(self): return {}
    ...     def log(self, name, **kwargs): ...
    >>> estimator = ScoringEstimator(Constant(["a"], {}))
    >>> estimator.predict_proba(pd.DataFrame({"a": [1.0]})).tolist()
    [[0.75, 0.25]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin

if TYPE_CHECKING:
    import pandas as pd

    from ferryml.training.trainers.base import TrainedModel

SCORING = "average_precision"
"""PR-AUC: the ranking metric the project's gates judge models by."""


class ScoringEstimator(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A fitted ferryml model as a scikit-learn classifier (``fit`` does nothing)."""

    def __init__(self, model: TrainedModel) -> None:
        self.model = model

    def fit(self, x: Any, y: Any = None) -> ScoringEstimator:
        return self

    @property
    def classes_(self) -> npt.NDArray[np.int64]:
        return np.array([0, 1])

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict_proba(self, x: pd.DataFrame | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        positive = self._scores(x)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, x: pd.DataFrame | npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        return (self._scores(x) >= 0.5).astype(np.int64)

    def _scores(self, x: pd.DataFrame | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if isinstance(x, np.ndarray):
            return self.model.predict_array(np.asarray(x, dtype=np.float64))
        return self.model.predict(x)


@dataclass(frozen=True)
class PermutationImportance:
    """Each feature's mean drop in PR-AUC when shuffled, and its spread over the repeats."""

    features: list[str]
    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    baseline: float
    """PR-AUC of the rows as they are."""
    repeats: int
    seed: int

    def ranked(self) -> list[str]:
        """The features, the largest drop first."""
        return [self.features[i] for i in np.argsort(-self.mean, kind="stable")]

    def as_dict(self, top: int | None = None) -> dict[str, Any]:
        names = self.ranked()[:top] if top else self.ranked()
        index = {name: i for i, name in enumerate(self.features)}
        return {
            "metric": "PR-AUC (average precision)",
            "baseline": self.baseline,
            "repeats": self.repeats,
            "seed": self.seed,
            "features": [
                {
                    "feature": name,
                    "mean": float(self.mean[index[name]]),
                    "std": float(self.std[index[name]]),
                }
                for name in names
            ],
        }


def permutation_importances(
    model: TrainedModel,
    x: pd.DataFrame,
    y: npt.NDArray[np.int8],
    *,
    seed: int,
    repeats: int = 5,
) -> PermutationImportance:
    """Permutation importance of each of the model's features on (``x``, ``y``)."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import average_precision_score

    estimator = ScoringEstimator(model)
    frame = x[list(model.features)]
    result = permutation_importance(
        estimator, frame, y, scoring=SCORING, n_repeats=repeats, random_state=seed
    )
    baseline = float(average_precision_score(y, estimator.predict_proba(frame)[:, 1]))
    return PermutationImportance(
        list(model.features),
        np.asarray(result.importances_mean, dtype=np.float64),
        np.asarray(result.importances_std, dtype=np.float64),
        baseline,
        repeats,
        seed,
    )


__all__ = ["SCORING", "PermutationImportance", "ScoringEstimator", "permutation_importances"]
