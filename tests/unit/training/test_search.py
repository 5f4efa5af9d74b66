"""The hyperparameter search: seeded, the configured values first, the best on validation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferryml.training.config import EBMModel, LightGBMModel, LogisticModel
from ferryml.training.search import search, searchable
from ferryml.training.trainers import TrainingData


def data(seed: int = 0, n: int = 1500) -> TrainingData:
    rng = np.random.default_rng(seed)

    def frame(rows: int) -> tuple[pd.DataFrame, np.ndarray]:
        x = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
        y = (x["a"] * x["b"] + 0.3 * rng.normal(size=rows) > 0.8).astype(np.int8).to_numpy()
        return x, y

    x_train, y_train = frame(n)
    x_valid, y_valid = frame(n // 2)
    return TrainingData(x_train, y_train, np.ones(n), x_valid, y_valid)


def test_only_fast_kinds_are_searched() -> None:
    assert searchable(LightGBMModel()) and searchable(LogisticModel())
    assert not searchable(EBMModel())


def test_search_is_seeded_and_tries_the_configured_values_first() -> None:
    config = LightGBMModel(n_estimators=40, num_leaves=15, early_stopping_rounds=None)
    best, trials = search(config, data(), trials=4, seed=3, threads=1)
    again, trials_again = search(config, data(), trials=4, seed=3, threads=1)
    assert best == again and trials == trials_again
    assert len(trials) == 4
    assert trials[0]["num_leaves"] == 15 and trials[0]["learning_rate"] == config.learning_rate
    top = max(trials, key=lambda t: t["pr_auc"])
    assert best.num_leaves == top["num_leaves"] and best.n_estimators == 40
    assert all(0.0 <= t["pr_auc"] <= 1.0 for t in trials)
