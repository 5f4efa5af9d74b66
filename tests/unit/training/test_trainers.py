"""Each trainer on a small separable problem: sane scores, importance, reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ferryml.errors import InvalidInputError
from ferryml.training.config import EBMModel, LightGBMModel, LogisticModel
from ferryml.training.trainers import (
    TRAINED,
    TRAINERS,
    TrainedModel,
    TrainingData,
    make_trainer,
    trained_model_class,
)


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
    # the serving path writes scores to the prediction log as they come (orjson: C order only)
    as_array = model.predict_array(training.x_valid[model.features].to_numpy(np.float64))
    assert as_array.dtype == np.float64 and as_array.flags.c_contiguous
    assert orjson.loads(orjson.dumps(as_array, option=orjson.OPT_SERIALIZE_NUMPY)) == pytest.approx(
        scores.tolist()
    )
    assert roc_auc_score(training.y_valid, scores) > 0.9
    importance = model.importance()
    assert set(importance) == {"signal", "noise"}
    assert sum(importance.values()) == pytest.approx(1.0)
    assert importance["signal"] > importance["noise"]


@pytest.mark.parametrize(
    "config",
    [*CONFIGS.values(), EBMModel(interactions=1, outer_bags=1, max_rounds=300)],
    ids=[*CONFIGS, "ebm-pairs"],
)
def test_contributions_are_exact_and_sum_to_the_log_odds(config: object) -> None:
    """Every kind explains each score exactly: the contributions plus the base value are the
    model's log-odds, and the signal carries most of them (reason codes rely on both)."""
    training = data()
    model = make_trainer(config, seed=7, threads=1).fit(training)
    values = training.x_valid[model.features].to_numpy(np.float64)
    contributions = model.contributions(values)
    assert contributions is not None
    assert contributions.shape == (len(values), len(model.features) + 1)
    scores = model.predict_array(values)
    log_odds = np.log(scores / (1 - scores))
    np.testing.assert_allclose(contributions.sum(axis=1), log_odds, rtol=1e-6, atol=1e-6)
    mean_abs = np.abs(contributions[:, :-1]).mean(axis=0)
    assert mean_abs[model.features.index("signal")] > mean_abs[model.features.index("noise")]


def test_lightgbm_is_reproducible_bit_for_bit() -> None:
    trainer = make_trainer(CONFIGS["lightgbm"], seed=11, threads=2)
    first, second = trainer.fit(data()), trainer.fit(data())
    assert first.booster.model_to_string() == second.booster.model_to_string()  # type: ignore[attr-defined]
    other = make_trainer(CONFIGS["lightgbm"], seed=12, threads=2).fit(data())
    assert other.booster.model_to_string() != first.booster.model_to_string()  # type: ignore[attr-defined]


def _declare_kinds(directory: Path, entry_points: str) -> None:
    info = directory / "kinds_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kinds-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[ferryml.model_kinds]\n{entry_points}")
    (directory / "kinds_plugin.py").write_text(
        "from ferryml.training.trainers.lightgbm import LightGBMTrainedModel\n"
        "class Boosted(LightGBMTrainedModel):\n    kind = 'boosted'\n"
        "class NotAModel:\n    pass\n"
    )


def test_another_package_declares_a_model_kind_with_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _declare_kinds(
        tmp_path,
        "boosted = kinds_plugin:Boosted\n"
        "plain = kinds_plugin:NotAModel\n"
        "gone = kinds_plugin_missing:Model\n"
        "lightgbm = kinds_plugin:NotAModel\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    declared = trained_model_class("boosted")
    assert declared.__name__ == "Boosted" and issubclass(declared, TrainedModel)
    # a built-in kind is not replaced by a declaration of the same name
    assert trained_model_class("lightgbm") is TRAINED["lightgbm"]
    with pytest.raises(InvalidInputError, match="'plain' is declared as 'kinds_plugin:NotAModel'"):
        trained_model_class("plain")
    with pytest.raises(InvalidInputError, match="does not import: ModuleNotFoundError"):
        trained_model_class("gone")
    with pytest.raises(InvalidInputError, match=r"unknown model kind 'xgb'; known: boosted, ebm"):
        trained_model_class("xgb")
