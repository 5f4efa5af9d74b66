"""The baseline: a scikit-learn pipeline of median imputation, scaling and L2 logistic
regression. If boosted trees cannot beat it clearly, the features are the problem."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.training.config import LogisticModel
from ferryml.training.trainers.base import TrainedModel, Trainer, TrainingData, normalized

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo
    from mlflow.models.signature import ModelSignature


class SklearnTrainedModel(TrainedModel):
    """A fitted scikit-learn estimator with ``predict_proba`` (also the EBM's shape)."""

    def __init__(self, estimator: Any, features: list[str], params: dict[str, Any]) -> None:
        super().__init__(features, params)
        self.estimator = estimator

    def predict(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        # a column of predict_proba is a strided view: copied, so that it serializes (orjson
        # takes C-contiguous arrays only) and scans like the other kinds' scores
        positive = self.estimator.predict_proba(frame[self.features])[:, 1]
        return np.ascontiguousarray(positive, dtype=np.float64)

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # the estimator learned feature names: a bare array would be scored with a warning
        return self.predict(pd.DataFrame(values, columns=self.features))

    @classmethod
    def from_logged(cls, path: Path, *, threads: int) -> TrainedModel:
        import mlflow.sklearn

        estimator = mlflow.sklearn.load_model(path.as_uri())
        features = [str(name) for name in estimator.feature_names_in_]
        return cls(estimator, features, {"n_jobs": threads})

    def log(
        self,
        name: str,
        *,
        signature: ModelSignature,
        input_example: pd.DataFrame,
        pip_requirements: list[str],
    ) -> ModelInfo:
        import mlflow.sklearn

        # MLflow warns that pickles can run code when loaded; ferryml loads a registered model
        # only after its files match the SHA-256 recorded at registration (ferryml.registry).
        # Pickle's bytes are reproducible, which the retrain test relies on.
        quiet = logging.getLogger("mlflow.sklearn")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            info: ModelInfo = mlflow.sklearn.log_model(
                self.estimator,
                name=name,
                signature=signature,
                input_example=input_example,
                pip_requirements=pip_requirements,
                serialization_format="pickle",
                pyfunc_predict_fn="predict_proba",  # scores, as the LightGBM flavor gives
            )
        finally:
            quiet.setLevel(level)
        return info


class LogisticTrainedModel(SklearnTrainedModel):
    kind = "logistic"
    requirements = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy")

    def contributions(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Exact and additive: coefficient times standardized value per feature, the intercept as
        the base value. The standardized training mean is 0, so a feature at its mean
        contributes nothing (the linear model's SHAP values under independent features)."""
        steps = self.estimator.named_steps
        frame = pd.DataFrame(values, columns=self.features)
        standardized = steps["scale"].transform(steps["impute"].transform(frame))
        model = steps["model"]
        terms = np.asarray(standardized, dtype=np.float64) * model.coef_[0]
        base = np.full((len(values), 1), float(model.intercept_[0]))
        return np.hstack([terms, base])

    def importance(self) -> dict[str, float]:
        """|coefficient| on standardized features: comparable across features."""
        coefficients = self.estimator.named_steps["model"].coef_[0]
        return normalized(dict(zip(self.features, map(float, coefficients), strict=True)))


class LogisticTrainer(Trainer):
    kind: ClassVar[str] = "logistic"
    config: LogisticModel

    def fit(self, data: TrainingData) -> TrainedModel:
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        params: dict[str, Any] = {
            "C": self.config.C,
            "max_iter": self.config.max_iter,
            "random_state": self.seed,
        }
        pipeline = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(**params)),
            ]
        )
        pipeline.fit(data.x_train, data.y_train, model__sample_weight=data.weights)
        return LogisticTrainedModel(pipeline, data.features, params)


__all__ = ["LogisticTrainedModel", "LogisticTrainer", "SklearnTrainedModel"]
