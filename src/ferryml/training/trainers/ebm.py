"""Explainable Boosting Machine (InterpretML): a glass-box model whose every term is a curve a
reviewer can read; its explanations are the model itself."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml._optional import require
from ferryml.training.config import EBMModel
from ferryml.training.trainers.base import TrainedModel, Trainer, TrainingData, normalized
from ferryml.training.trainers.logistic import SklearnTrainedModel


class EBMTrainedModel(SklearnTrainedModel):
    kind = "ebm"
    requirements = ("mlflow", "interpret-core", "scikit-learn", "numpy", "pandas", "scipy")

    def contributions(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Exact and additive: each term's learned score (InterpretML's ``eval_terms``), the
        intercept as the base value. A pairwise term's score is split equally between its two
        features, so that every contribution belongs to one feature and they still sum to the
        log-odds; the model card shows the pairs as they are."""
        frame = pd.DataFrame(values, columns=self.features)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Missing values detected", category=UserWarning
            )
            terms = np.asarray(self.estimator.eval_terms(frame), dtype=np.float64)
        # term_features_ index the estimator's own feature order
        slot = {
            list(self.estimator.feature_names_in_).index(f): i for i, f in enumerate(self.features)
        }
        contributions = np.zeros((len(values), len(self.features) + 1))
        for term, members in enumerate(self.estimator.term_features_):
            share = terms[:, term] / len(members)
            for member in members:
                contributions[:, slot[member]] += share
        contributions[:, -1] = float(np.asarray(self.estimator.intercept_).ravel()[0])
        return contributions

    def importance(self) -> dict[str, float]:
        """Mean absolute contribution of the main (one-feature) terms."""
        scores = self.estimator.term_importances()
        names = self.estimator.term_names_
        single = {str(n): float(s) for n, s in zip(names, scores, strict=True) if " & " not in n}
        return normalized({f: single.get(f, 0.0) for f in self.features})


class EBMTrainer(Trainer):
    kind: ClassVar[str] = "ebm"
    config: EBMModel

    def fit(self, data: TrainingData) -> TrainedModel:
        glassbox = require("interpret.glassbox", extra="core", purpose="EBM models")
        c = self.config
        params: dict[str, Any] = {
            "interactions": c.interactions,
            "outer_bags": c.outer_bags,
            "inner_bags": c.inner_bags,
            "max_bins": c.max_bins,
            "learning_rate": c.learning_rate,
            "max_rounds": c.max_rounds,
            "early_stopping_rounds": c.early_stopping_rounds,
            "random_state": self.seed,
            "n_jobs": self.threads,
        }
        model = glassbox.ExplainableBoostingClassifier(**params)
        with warnings.catch_warnings():
            # Missing values get their own learned score (term_scores_[i][0]); the warning is
            # about InterpretML's plots not drawing it, which ferryml's reports do not use.
            warnings.filterwarnings(
                "ignore", message="Missing values detected", category=UserWarning
            )
            model.fit(data.x_train, data.y_train, sample_weight=data.weights)
        return EBMTrainedModel(model, data.features, params)


__all__ = ["EBMTrainedModel", "EBMTrainer"]
