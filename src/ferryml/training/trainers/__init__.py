"""Trainers by kind: ``lightgbm`` (default), ``logistic`` (baseline), ``ebm`` (glass box).

Other packages add kinds of trained models (for serving and evaluation; training stays with the
built-in three) under the ``ferryml.model_kinds`` entry point group, one name per kind, each a
:class:`TrainedModel` subclass::

    [project.entry-points."ferryml.model_kinds"]
    catboost = "my_package.models:CatBoostTrainedModel"

A version registered with the tag ``ferryml.model_kind=catboost`` then loads with its
``from_logged``. A built-in kind cannot be replaced.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from ferryml.errors import DataError, FerryError, InvalidInputError
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


KINDS_ENTRY_POINTS = "ferryml.model_kinds"


def trained_model_class(kind: str) -> type[TrainedModel]:
    """The class that loads models of ``kind``: a built-in one, else the one an installed
    package declares under the ``ferryml.model_kinds`` entry point group."""
    if kind in TRAINED:
        return TRAINED[kind]
    declared = {point.name: point for point in entry_points(group=KINDS_ENTRY_POINTS)}
    if kind not in declared:
        known = ", ".join(sorted({*TRAINED, *declared}))
        raise InvalidInputError(
            f"unknown model kind {kind!r}; known: {known}",
            hint="the run's ferryml.model_kind tag names the kind it was trained as; a kind "
            f"of another package is declared under the {KINDS_ENTRY_POINTS!r} entry points",
        )
    point = declared[kind]
    try:
        loaded = point.load()
    except Exception as exc:  # an import error of the declaring package, whatever it is
        raise InvalidInputError(
            f"model kind {kind!r} is declared as {point.value!r}, which does not import: "
            f"{type(exc).__name__}: {exc}",
            hint="reinstall the package that declares it, or fix the entry point",
        ) from exc
    if not (isinstance(loaded, type) and issubclass(loaded, TrainedModel)):
        raise InvalidInputError(
            f"model kind {kind!r} is declared as {point.value!r}, which is not a "
            "ferryml.training.trainers.TrainedModel subclass",
            hint="point the entry point at a TrainedModel subclass",
        )
    return loaded


def load_trained(kind: str, path: Path, *, threads: int = 1) -> TrainedModel:
    """A model of ``kind`` logged by ferryml, from the local directory ``path``.

    Whatever a kind's loader raises (LightGBM, pickle, another package's own) becomes a
    :class:`~ferryml.errors.DataError`: files that verify yet do not load (damaged before they
    were registered) are refused like any other, and a server keeps the model it has."""
    model_class = trained_model_class(kind)
    try:
        return model_class.from_logged(path, threads=threads)
    except FerryError:
        raise
    except Exception as exc:
        raise DataError(
            f"the {kind} model in {path} cannot be loaded: {type(exc).__name__}: {exc}",
            hint="register the version again from its training run, or retrain",
        ) from exc


def make_trainer(config: ModelConfig, *, seed: int, threads: int) -> Trainer:
    """The trainer of ``config.kind`` with its hyperparameters."""
    return TRAINERS[config.kind](config, seed=seed, threads=threads)


__all__ = [
    "KINDS_ENTRY_POINTS",
    "TRAINED",
    "TRAINERS",
    "TrainedModel",
    "Trainer",
    "TrainingData",
    "load_trained",
    "make_trainer",
    "trained_model_class",
]
