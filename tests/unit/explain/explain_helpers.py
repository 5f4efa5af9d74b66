"""Shared problems and models for the explanation tests (not a test module): a small synthetic
fraud-like problem with one strong feature, a weaker one and noise, and ferryml models of each
kind trained on it by their real trainers."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.training.config import EBMModel, LightGBMModel, LogisticModel
from ferryml.training.trainers import TrainedModel, TrainingData, make_trainer

FEATURES = ["signal", "weak", "noise_a", "noise_b"]
Score = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def frame(
    rows: int, seed: int, *, missing: bool = False
) -> tuple[pd.DataFrame, npt.NDArray[np.int8]]:
    """Independent features; the label depends on ``signal`` strongly, on ``weak`` a little."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({name: rng.normal(size=rows) for name in FEATURES})
    if missing:  # missing values are part of real features
        x.loc[rng.random(rows) < 0.1, "noise_a"] = np.nan
    y = (2.0 * x["signal"] + 0.7 * x["weak"] + rng.normal(size=rows) > 2.5).astype(np.int8)
    return x, y.to_numpy()


def training_data(seed: int = 0, rows: int = 2000, *, missing: bool = False) -> TrainingData:
    x_train, y_train = frame(rows, seed, missing=missing)
    x_valid, y_valid = frame(rows // 3, seed + 100, missing=missing)
    return TrainingData(x_train, y_train, np.ones(rows), x_valid, y_valid)


CONFIGS = {
    "lightgbm": LightGBMModel(n_estimators=60, num_leaves=8, min_child_samples=20),
    "logistic": LogisticModel(),
    "ebm": EBMModel(interactions=2, outer_bags=1, max_rounds=300),
}


@cache
def model(kind: str, *, missing: bool = False) -> TrainedModel:
    """A model of ``kind`` trained on the problem (cached: tests must not mutate it)."""
    return make_trainer(CONFIGS[kind], seed=7, threads=1).fit(training_data(missing=missing))


def explained(
    rows: int = 600, seed: int = 1, *, missing: bool = False
) -> tuple[pd.DataFrame, npt.NDArray[np.int8]]:
    """Rows the models never trained on."""
    return frame(rows, 1000 + seed, missing=missing)


class NoContributions(TrainedModel):
    """A model of another package's kind: scores only, no exact contributions."""

    kind = "opaque"
    requirements = ()

    def __init__(self, inner: TrainedModel) -> None:
        super().__init__(inner.features, {})
        self.inner = inner

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return self.inner.predict_array(values)

    @classmethod
    def from_logged(cls, path: Path, *, threads: int) -> TrainedModel:
        raise NotImplementedError

    def importance(self) -> dict[str, float]:
        return self.inner.importance()

    def log(self, name: str, **kwargs: Any) -> Any:
        raise NotImplementedError


class FunctionModel(NoContributions):
    """A 'model' whose score is a given function of the feature matrix."""

    def __init__(self, features: list[str], score: Score) -> None:
        TrainedModel.__init__(self, features, {})
        self.score = score

    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(self.score(values), dtype=np.float64)


def logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.log(p / (1.0 - p))
