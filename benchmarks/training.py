"""Training: time per model kind on ~1M rows, and what MLflow logging adds to a run.

Claims (issue: training):

1. Fit time of each kind on the same ~1M-row training period of the fraud feature set
   (``lightgbm_fit_s``, ``logistic_fit_s``, ``ebm_fit_s``). Anchor for LightGBM: raw
   ``lightgbm.train`` on the same matrix, labels, weights, parameters and threads, alternating
   with ferryml's fit after one warm-up fit; the ratio is ferryml / raw (1.0: no overhead).
2. MLflow logging overhead of one run (params, metrics, plots, model with pinned
   requirements, read back and hashed): ``train_models`` for one LightGBM model minus its fit.

Data: the reference generator (90 days, ~1.1M events), the feature build, then a split with
5 validation and 5 test days and no maturity gap, so that the training period holds ~1M rows
(labels are as the generator made them: this measures time, not quality).

Run: ``python benchmarks/training.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from _harness import measure, write_result
from features import BIG, workspace
from ferryml.features.build import load_build
from ferryml.features.project_store import ProjectFeatureStore
from ferryml.training import Columns, Tracker, TrainingConfig, prepare, train_models
from ferryml.training.tracking import default_tracking_uri
from ferryml.training.trainers import make_trainer

ROUNDS = 200  # fixed: no early stopping, so both sides grow the same trees
EBM = {"kind": "ebm", "interactions": 0, "outer_bags": 1, "max_rounds": 1000}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        loaded, version = workspace(root, BIG)
        store = ProjectFeatureStore(loaded, root)
        build = store.build(version)
        schema = loaded.config.schema_
        features = [f["name"] for f in load_build(build.path)["features"]]
        columns = Columns("event_time", "is_fraud", "label_time", features)
        config = TrainingConfig.model_validate(
            {
                "models": {
                    "lightgbm": {
                        "kind": "lightgbm",
                        "n_estimators": ROUNDS,
                        "early_stopping_rounds": None,
                    },
                    "logistic": {"kind": "logistic"},
                    "ebm": EBM,
                },
                "label_maturity_days": 0,
                "split": {"validation_days": 5, "test_days": 5, "min_train_days": 14},
                "threads": 2,
            }
        )
        assert schema.columns_with_role("label") == ["is_fraud"]
        prepared = prepare(pq.read_table(build.training_path), columns, config, cutoff_us=None)
        data = prepared.training_data()
        rows = len(data.y_train)

        import lightgbm as lgb

        fitted = make_trainer(config.models["lightgbm"], seed=1, threads=2).fit(data)  # warm-up
        params = {k: v for k, v in fitted.params.items() if k != "num_boost_round"}
        matrix = data.x_train.to_numpy(np.float64)

        def raw() -> None:
            lgb.train(
                params,
                lgb.Dataset(matrix, label=data.y_train, weight=data.weights),
                num_boost_round=ROUNDS,
            )

        def ferry(name: str) -> None:
            make_trainer(config.models[name], seed=1, threads=config.threads).fit(data)

        # LightGBM and its anchor alternate, twice each after the warm-up fit; the best of each.
        raw_times, lightgbm_times = [], []
        for _ in range(2):
            raw_times.append(measure(raw, repeat=1, warmup=0).median)
            lightgbm_times.append(measure(lambda: ferry("lightgbm"), repeat=1, warmup=0).median)
        raw_s = min(raw_times)
        fits = {"lightgbm": min(lightgbm_times)}
        for name in ("logistic", "ebm"):
            fits[name] = measure(lambda n=name: ferry(n), repeat=1, warmup=0).median

        tracker = Tracker(default_tracking_uri(root), "bench", root / "mlruns")
        tracker.experiment_id()  # the MLflow database is created outside the timing
        start = time.perf_counter()
        train_models(prepared, config, tracker, lineage={}, artifacts={}, only=["lightgbm"])
        logged_s = time.perf_counter() - start

    write_result(
        "training",
        figure={
            "train_rows": rows,
            "features": len(features),
            "lightgbm_fit_s": fits["lightgbm"],
            "logistic_fit_s": fits["logistic"],
            "ebm_fit_s": fits["ebm"],
            "mlflow_run_with_lightgbm_s": logged_s,
            "mlflow_logging_overhead_s": logged_s - fits["lightgbm"],
        },
        anchor={"raw_lightgbm_train_s": raw_s},
        ratio=fits["lightgbm"] / raw_s,
        anchor_description=(
            "lightgbm.train on the same matrix, labels, weights, parameters (deterministic, "
            f"force_row_wise, 2 threads) and {ROUNDS} rounds"
        ),
        notes=(
            f"EBM with {EBM}; logistic is scikit-learn's pipeline (ferryml adds nothing to "
            "time); LightGBM: one warm-up fit, then raw and ferryml alternate twice, best of "
            "each (ferryml also scores the validation set every round for early stopping); "
            "logging overhead = one train_models run with a LightGBM model minus the best fit; "
            "ratio = ferryml LightGBM fit / raw lightgbm.train"
        ),
    )


if __name__ == "__main__":
    main()
