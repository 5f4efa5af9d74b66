"""LightGBM, the default: boosted trees through the native API, reproducible bit for bit.

``deterministic``, ``force_row_wise``, a fixed ``num_threads`` and the seed make the same data
give the same model file (the registry compares retrains by its hash). Early stopping watches
validation average precision; the saved model keeps the best iteration only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml._optional import require
from ferryml.training.config import LightGBMModel
from ferryml.training.trainers.base import TrainedModel, Trainer, TrainingData, normalized

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo
    from mlflow.models.signature import ModelSignature


class LightGBMTrainedModel(TrainedModel):
    kind = "lightgbm"
    requirements = ("mlflow", "lightgbm", "numpy", "pandas", "scikit-learn", "scipy")

    def __init__(self, booster: Any, features: list[str], params: dict[str, Any]) -> None:
        super().__init__(features, params)
        self.booster = booster

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(self.booster.predict(values, num_threads=self.params["num_threads"]))

    def contributions(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """TreeSHAP (LightGBM's ``pred_contrib``): exact, sums to the raw margin."""
        threads = self.params["num_threads"]
        return np.asarray(self.booster.predict(values, pred_contrib=True, num_threads=threads))

    @classmethod
    def from_logged(cls, path: Path, *, threads: int) -> TrainedModel:
        import mlflow.lightgbm

        booster = mlflow.lightgbm.load_model(path.as_uri())
        return cls(booster, list(booster.feature_name()), {"num_threads": threads})

    def importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        return normalized(dict(zip(self.features, map(float, gains), strict=True)))

    def log(
        self,
        name: str,
        *,
        signature: ModelSignature,
        input_example: pd.DataFrame,
        pip_requirements: list[str],
    ) -> ModelInfo:
        import mlflow.lightgbm

        info: ModelInfo = mlflow.lightgbm.log_model(
            self.booster,
            name=name,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
        )
        return info


class LightGBMTrainer(Trainer):
    kind: ClassVar[str] = "lightgbm"
    config: LightGBMModel

    def fit(self, data: TrainingData) -> TrainedModel:
        lgb = require("lightgbm", extra="core", purpose="LightGBM models")
        c = self.config
        params: dict[str, Any] = {
            "objective": "binary",
            "metric": "average_precision",
            "learning_rate": c.learning_rate,
            "num_leaves": c.num_leaves,
            "max_depth": c.max_depth,
            "min_data_in_leaf": c.min_child_samples,
            "bagging_fraction": c.subsample,
            "bagging_freq": c.subsample_freq,
            "feature_fraction": c.colsample_bytree,
            "lambda_l2": c.reg_lambda,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.threads,
            "verbosity": -1,
        }
        features = data.features
        train = lgb.Dataset(
            data.x_train.to_numpy(np.float64),
            label=data.y_train,
            weight=data.weights,
            feature_name=features,
            free_raw_data=True,
        )
        valid = lgb.Dataset(data.x_valid.to_numpy(np.float64), label=data.y_valid, reference=train)
        callbacks = []
        if c.early_stopping_rounds is not None:
            callbacks.append(lgb.early_stopping(c.early_stopping_rounds, verbose=False))
        booster = lgb.train(
            params,
            train,
            num_boost_round=c.n_estimators,
            valid_sets=[valid],
            valid_names=["validation"],
            callbacks=callbacks,
        )
        if booster.best_iteration > 0:  # keep the best rounds only: the file is the model
            best = booster.model_to_string(num_iteration=booster.best_iteration)
            booster = lgb.Booster(model_str=best)
        params["num_boost_round"] = booster.current_iteration()
        return LightGBMTrainedModel(booster, features, params)


__all__ = ["LightGBMTrainedModel", "LightGBMTrainer"]
