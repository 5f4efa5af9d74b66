"""LIME: a local linear fit of the model's scores around one row, seeded and reproducible.

LIME perturbs the row (sampling each feature from its quartile bins in the explained rows),
scores the perturbed rows with the model, and fits a weighted ridge regression near the row;
its weights say which feature intervals raise or lower the score *around this row*. The
sampling is random: the same ``seed`` gives the same explanation, another seed may give
another (how much it moves is itself a caveat worth seeing).

LIME cannot sample a missing value, and filling one in would explain another row than the one
scored: a feature missing in the row stays missing in every perturbed sample and is left out
of the explanation (the report lists it). Elsewhere in the explained rows, missing values are
replaced by the feature's median, which only shapes LIME's sampling distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ferryml._optional import require

if TYPE_CHECKING:
    import pandas as pd

    from ferryml.training.trainers.base import TrainedModel

CLASSES = ["approve", "block"]


@dataclass(frozen=True)
class LimeExplanation:
    """One row's LIME explanation of the score (probability of the positive class)."""

    row_id: str
    score: float
    """The model's score of the row as it is."""
    weights: list[tuple[str, float]]
    """(feature interval, weight), the largest |weight| first."""
    intercept: float
    local_prediction: float
    """The local linear model's score of the row."""
    fit_r2: float
    """R² of the local fit on the perturbed samples: low means LIME's line fits poorly."""
    seed: int
    held_missing: list[str] = field(default_factory=list)
    """Features missing in this row: kept missing in every sample, not explained."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id,
            "score": self.score,
            "weights": [{"feature": f, "weight": w} for f, w in self.weights],
            "intercept": self.intercept,
            "local_prediction": self.local_prediction,
            "fit_r2": self.fit_r2,
            "seed": self.seed,
            "held_missing": self.held_missing,
        }


class LimeExplainer:
    """LIME for one model over the explained rows (their medians fill missing values)."""

    def __init__(self, model: TrainedModel, rows: pd.DataFrame) -> None:
        self.model = model
        self.features = list(model.features)
        values = rows[self.features].to_numpy(np.float64)
        medians = np.zeros(len(self.features))
        for i in range(len(self.features)):
            column = values[:, i]
            present = column[~np.isnan(column)]
            medians[i] = float(np.median(present)) if len(present) else 0.0
        self.medians = medians
        self.training = np.where(np.isnan(values), medians, values)

    def explain(
        self,
        row: npt.NDArray[np.float64],
        row_id: str,
        *,
        seed: int,
        num_features: int = 8,
        num_samples: int = 2000,
    ) -> LimeExplanation:
        """The explanation of ``row`` (the model's features, in its order) with ``seed``."""
        lime_tabular = require("lime.lime_tabular", extra="core", purpose="LIME explanations")
        present = ~np.isnan(row)
        names = [name for name, kept in zip(self.features, present, strict=True) if kept]

        def proba(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            full = np.tile(row, (len(values), 1))  # the row's missing values stay missing
            full[:, present] = values
            positive = self.model.predict_array(full)
            return np.column_stack([1.0 - positive, positive])

        # a new explainer per row: the explanation depends on the seed only, not on which
        # rows were explained before it
        explainer = lime_tabular.LimeTabularExplainer(
            self.training[:, present],
            mode="classification",
            feature_names=names,
            class_names=CLASSES,
            discretize_continuous=True,
            random_state=seed,
        )
        explanation = explainer.explain_instance(
            row[present],
            proba,
            labels=(1,),
            num_features=min(num_features, len(names)),
            num_samples=num_samples,
        )
        weights = sorted(explanation.as_list(label=1), key=lambda item: -abs(item[1]))
        return LimeExplanation(
            row_id=row_id,
            score=float(self.model.predict_array(row[np.newaxis, :])[0]),
            weights=[(str(name), float(weight)) for name, weight in weights],
            intercept=float(explanation.intercept[1]),
            local_prediction=float(np.asarray(explanation.local_pred).ravel()[0]),
            fit_r2=float(explanation.score),
            seed=seed,
            held_missing=[n for n, kept in zip(self.features, present, strict=True) if not kept],
        )


__all__ = ["CLASSES", "LimeExplainer", "LimeExplanation"]
