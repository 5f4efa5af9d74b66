"""Trainers by kind: ``lightgbm`` (default), ``logistic`` (baseline), ``ebm`` (glass box)."""

from __future__ import annotations

from pathlib import Path

from ferryml.errors import InvalidInputError
from ferryml.training.config import ModelConfig
from ferryml.training.trainers.base import TrainedModel, Trainer, TrainingData
from ferryml.training.trainers.ebm import EBMTrainedModel, EBMTrainer
from ferryml.training.trainers.lightgbm import LightGBMTrainedModel, LightGBMTrainer
from ferryml.training.trainers.logistic import LogisticTrainedModel, LogisticTrainer

TRAINERS: dict[str, type[Trainer]] = {
    trainer.kind: trainer for trainer in (LightGBMTrainer, LogisticTrainer, EBMTrainer)
}
TRAINED: dict[str, type[TrainedModel]] = {
    model.kind: model for model in (LightGBMTrainedModel, LogisticTrainedModel, EBMTrainedModel)
}


def load_trained(kind: str, path: Path, *, threads: int = 1) -> TrainedModel:
    """A model of ``kind`` logged by ferryml, from the local directory ``path``."""
    if kind not in TRAINERS:
        raise InvalidInputError(
            f"unknown model kind {kind!r}; known: {', '.join(sorted(TRAINERS))}",
            hint="the run's ferryml.model_kind tag names the kind it was trained as",
        )
    return TRAINED[kind].from_logged(path, threads=threads)


def make_trainer(config: ModelConfig, *, seed: int, threads: int) -> Trainer:
    """The trainer of ``config.kind`` with its hyperparameters."""
    return TRAINERS[config.kind](config, seed=seed, threads=threads)


__all__ = [
    "TRAINED",
    "TRAINERS",
    "TrainedModel",
    "Trainer",
    "TrainingData",
    "load_trained",
    "make_trainer",
]
