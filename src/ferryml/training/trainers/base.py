"""The interface every trainer implements, and the data it trains on.

A trainer turns a :class:`TrainingData` into a :class:`TrainedModel`; a trained model scores
frames, reports feature importance and logs itself to MLflow in its own flavor. Backends are
registered by kind (``lightgbm``, ``logistic``, ``ebm``) in :mod:`ferryml.training.trainers`;
nothing else branches on the kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo
    from mlflow.models.signature import ModelSignature


@dataclass(frozen=True)
class TrainingData:
    """Features (float64 columns, NaN for missing), labels (0/1) and training weights."""

    x_train: pd.DataFrame
    y_train: npt.NDArray[np.int8]
    weights: npt.NDArray[np.float64]
    x_valid: pd.DataFrame
    y_valid: npt.NDArray[np.int8]

    @property
    def features(self) -> list[str]:
        return [str(c) for c in self.x_train.columns]


class TrainedModel(ABC):
    """A fitted model of one kind."""

    kind: ClassVar[str]
    requirements: ClassVar[tuple[str, ...]]
    """Distributions the logged model needs to load (pinned to the installed versions)."""

    def __init__(self, features: list[str], params: dict[str, Any]) -> None:
        self.features = features
        self.params = params
        """The hyperparameters as the library received them (logged with the run)."""

    def predict(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The probability of the positive class for each row of ``frame``."""
        return self.predict_array(frame[self.features].to_numpy(np.float64))

    @abstractmethod
    def predict_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The probability of the positive class for each row of ``values`` (columns in the
        order of :attr:`features`): the scoring path of gates, batch and serving."""

    def contributions(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
        """Each feature's additive contribution to each row's raw score (log-odds), the base
        value last (``n_features + 1`` columns), or None when the kind has no exact form."""
        return None

    @classmethod
    @abstractmethod
    def from_logged(cls, path: Path, *, threads: int) -> TrainedModel:
        """The model logged (by :meth:`log`) into the local directory ``path``."""

    @abstractmethod
    def importance(self) -> dict[str, float]:
        """Each feature's importance, non-negative, summing to 1 (0 for all when none)."""

    @abstractmethod
    def log(
        self,
        name: str,
        *,
        signature: ModelSignature,
        input_example: pd.DataFrame,
        pip_requirements: list[str],
    ) -> ModelInfo:
        """Log the model to the active MLflow run under ``name``."""


class Trainer(ABC):
    """Fits one kind of model from its typed hyperparameters."""

    kind: ClassVar[str]

    def __init__(self, config: Any, *, seed: int, threads: int) -> None:
        self.config = config
        self.seed = seed
        self.threads = threads

    @abstractmethod
    def fit(self, data: TrainingData) -> TrainedModel:
        """Train on ``data`` (validation rows may be used for early stopping)."""


def normalized(values: dict[str, float]) -> dict[str, float]:
    """``values`` scaled to sum to 1 (all 0 when they sum to 0)."""
    total = float(sum(abs(v) for v in values.values()))
    return {k: (abs(v) / total if total else 0.0) for k, v in values.items()}


__all__ = ["TrainedModel", "Trainer", "TrainingData", "normalized"]
