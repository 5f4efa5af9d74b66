"""Trainers by kind: ``lightgbm`` (default), ``logistic`` (baseline), ``ebm`` (glass box)."""

from __future__ import annotations

from ferryml.training.config import ModelConfig
from ferryml.training.trainers.base import TrainedModel, Trainer, TrainingData
from ferryml.training.trainers.ebm import EBMTrainer
from ferryml.training.trainers.lightgbm import LightGBMTrainer
from ferryml.training.trainers.logistic import LogisticTrainer

TRAINERS: dict[str, type[Trainer]] = {
    trainer.kind: trainer for trainer in (LightGBMTrainer, LogisticTrainer, EBMTrainer)
}


def make_trainer(config: ModelConfig, *, seed: int, threads: int) -> Trainer:
    """The trainer of ``config.kind`` with its hyperparameters."""
    return TRAINERS[config.kind](config, seed=seed, threads=threads)


__all__ = ["TRAINERS", "TrainedModel", "Trainer", "TrainingData", "make_trainer"]
