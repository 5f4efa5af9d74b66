"""Explainable Boosting Machine (InterpretML): a glass-box model whose every term is a curve a
reviewer can read; its explanations are the model itself."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from ferryml._optional import require
from ferryml.training.config import EBMModel
from ferryml.training.trainers.base import TrainedModel, Trainer, TrainingData, normalized
from ferryml.training.trainers.logistic import SklearnTrainedModel


class EBMTrainedModel(SklearnTrainedModel):
    kind = "ebm"
    requirements = ("mlflow", "interpret-core", "scikit-learn", "numpy", "pandas", "scipy")

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
