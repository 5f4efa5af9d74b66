"""A small hyperparameter search (Optuna, TPE) on the validation period.

Off by default (``training.search.trials: 0``). When on, each model whose kind has a search
space (LightGBM, logistic regression; the EBM is slow and already regularized by bagging) is
tried ``trials`` times; the hyperparameters with the best validation PR-AUC replace the
configured ones, and every trial is kept with the run (``search/trials.json``). The sampler is
seeded and trials run one after another, so the search, like the fit, is reproducible.

The validation period then chooses hyperparameters, stops boosting early and sets the
threshold: its metrics are optimistic. The test period stays untouched by all three.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferryml._optional import require
from ferryml.training.config import LightGBMModel, LogisticModel, ModelConfig
from ferryml.training.trainers import TrainingData, make_trainer

Space = Callable[[Any], dict[str, Any]]
"""Draws one set of hyperparameters from an Optuna trial."""


def _lightgbm(trial: Any) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 10, 200, log=True),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
    }


def _logistic(trial: Any) -> dict[str, Any]:
    return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}


SPACES: dict[type, Space] = {LightGBMModel: _lightgbm, LogisticModel: _logistic}


def searchable(config: ModelConfig) -> bool:
    """Whether ``config``'s kind has a search space."""
    return type(config) in SPACES


def search(
    config: ModelConfig,
    data: TrainingData,
    *,
    trials: int,
    seed: int,
    threads: int,
) -> tuple[ModelConfig, list[dict[str, Any]]]:
    """The best of ``trials`` variations of ``config`` on validation PR-AUC (the configured
    values are the first trial), and every trial's parameters and score."""
    from sklearn.metrics import average_precision_score

    optuna = require("optuna", extra="core", purpose="hyperparameter search")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = SPACES[type(config)]

    def objective(trial: Any) -> float:
        candidate = config.model_copy(update=space(trial))
        model = make_trainer(candidate, seed=seed, threads=threads).fit(data)
        return float(average_precision_score(data.y_valid, model.predict(data.x_valid)))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    first = {name: getattr(config, name) for name in space(_Recorder())}
    study.enqueue_trial(first)  # the configured values compete too
    study.optimize(objective, n_trials=trials, n_jobs=1)
    best = config.model_copy(update=study.best_trial.params)
    history = [
        {"number": t.number, "pr_auc": t.value, **t.params}
        for t in study.trials
        if t.value is not None
    ]
    return best, history


class _Recorder:
    """Stands in for a trial to list a space's parameter names."""

    def suggest_int(self, name: str, *_: Any, **__: Any) -> str:
        return name

    def suggest_float(self, name: str, *_: Any, **__: Any) -> str:
        return name


__all__ = ["SPACES", "search", "searchable"]
