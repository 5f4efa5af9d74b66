"""Each trainer on a small separable problem: sane scores, importance, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ferryml.training.config import EBMModel, LightGBMModel, LogisticModel
from ferryml.training.trainers import TRAINERS, TrainingData, make_trainer


def data(seed: int = 0, n: int = 3000) -> TrainingData:
    rng = np.random.default_rng(seed)

    def frame(rows: int) -> tuple[pd.DataFrame, np.ndarray]:
        x = pd.DataFrame({"signal": rng.normal(size=rows), "noise": rng.normal(size=rows)})
        x.loc[rng.random(rows) < 0.05, "noise"] = np.nan  # missing values are allowed
        y = (x["signal"] + 0.5 * rng.normal(size=rows) > 1.5).astype(np.int8).to_numpy()
        return x, y

    x_train, y_train = frame(n)
    x_valid, y_valid = frame(n // 3)
    return TrainingData(x_train, y_train, np.ones(n), x_valid, y_valid)


CONFIGS = {
    "lightgbm": LightGBMModel(n_estimators=60, num_leaves=8, min_child_samples=20),
    "logistic": LogisticModel(),
    "ebm": EBMModel(interactions=0, outer_bags=2, max_rounds=300),
}


def test_every_kind_is_registered() -> None:
    assert set(TRAINERS) == set(CONFIGS)


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_trainers_learn_the_signal(kind: str) -> None:
    training = data()
    model = make_trainer(CONFIGS[kind], seed=7, threads=1).fit(training)
    scores = model.predict(training.x_valid)
    assert scores.shape == (len(training.y_valid),)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc_score(training.y_valid, scores) > 0.9
    importance = model.importance()
    assert set(importance) == {"signal", "noise"}
    assert sum(importance.values()) == pytest.approx(1.0)
    assert importance["signal"] > importance["noise"]


def test_lightgbm_is_reproducible_bit_for_bit() -> None:
    trainer = make_trainer(CONFIGS["lightgbm"], seed=11, threads=2)
    first, second = trainer.fit(data()), trainer.fit(data())
    assert first.booster.model_to_string() == second.booster.model_to_string()  # type: ignore[attr-defined]
    other = make_trainer(CONFIGS["lightgbm"], seed=12, threads=2).fit(data())
    assert other.booster.model_to_string() != first.booster.model_to_string()  # type: ignore[attr-defined]
