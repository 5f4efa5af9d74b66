"""Training against real MLflow backends (a SQLite file, and PostgreSQL): runs, lineage,
registration, aliases, verified loads, and bit-for-bit retraining."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import mlflow
import pyarrow as pa
import pytest
from mlflow.tracking import MlflowClient

from ferryml.errors import InvalidInputError, ModelIntegrityError
from ferryml.registry import SHA_TAG, ModelRegistry
from ferryml.training import Columns, PreparedData, Tracker, TrainingConfig, prepare, train_models

COLUMNS = Columns("event_time", "is_fraud", "label_time", ["amount", "hour"])
CONFIG = TrainingConfig.model_validate(
    {
        "models": {
            "gbm": {"kind": "lightgbm", "n_estimators": 30, "num_leaves": 7},
            "baseline": {"kind": "logistic"},
            "glass": {"kind": "ebm", "interactions": 0, "outer_bags": 1, "max_rounds": 100},
        },
        "label_maturity_days": 10,
        "split": {"validation_days": 10, "test_days": 10, "min_train_days": 10},
        "costs": {"false_negative_column": "amount"},
        "threads": 1,
    }
)
_names = itertools.count(1)


@pytest.fixture
def prepared(labeled_events: Callable[..., pa.Table]) -> PreparedData:
    return prepare(labeled_events(), COLUMNS, CONFIG)


@pytest.fixture
def tracker(mlflow_backend: str, tmp_path: Path) -> Tracker:
    return Tracker(mlflow_backend, f"exp-{next(_names)}-{tmp_path.name}", tmp_path / "mlruns")


def test_runs_record_metrics_lineage_artifacts_and_the_model(
    prepared: PreparedData, tracker: Tracker
) -> None:
    result = train_models(
        prepared,
        CONFIG,
        tracker,
        lineage={"dataset": "transactions@abc", "feature_set_version": "fs1", "seed": 42},
        artifacts={"config/project.yaml": "project: {name: t}\n"},
        only=["gbm", "baseline"],
    )
    assert [m.name for m in result.models] == ["gbm", "baseline"]
    assert result.best is max(result.models, key=lambda m: m.validation.pr_auc)
    client = MlflowClient(tracking_uri=tracker.uri)
    run = client.get_run(result.models[0].run_id)
    tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
    assert tags["ferryml.dataset"] == "transactions@abc"
    assert tags["ferryml.feature_set_version"] == "fs1"
    assert tags["ferryml.model_kind"] == "lightgbm"
    assert tags["ferryml.training_id"] == result.training_id
    assert tags["ferryml.model_sha256"] == result.models[0].sha256
    assert metrics["validation_pr_auc"] == pytest.approx(result.models[0].validation.pr_auc)
    assert metrics["test_expected_cost"] == pytest.approx(
        result.models[0].test_at_threshold.expected_cost
    )
    assert params["model.deterministic"] == "True" and params["seed"] == "42"
    assert params["split.test_until"].startswith("2025-02-")
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config", "data", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/pr_curve.png", "plots/confusion_test.png", "plots/importance.png"}
    # the logged model loads through MLflow and scores like the trained one
    loaded = mlflow.pyfunc.load_model(result.models[1].model_uri)
    sample = prepared.test.x.head(20)
    scores = loaded.predict(sample)
    assert len(scores) == 20


def test_registry_versions_aliases_and_verified_downloads(
    prepared: PreparedData, tracker: Tracker
) -> None:
    result = train_models(prepared, CONFIG, tracker, lineage={}, artifacts={}, only=["gbm"])
    best = result.best
    registry = ModelRegistry(tracker, f"model-{next(_names)}")
    first = registry.register(best.model_uri, best.sha256, run_id=best.run_id)
    second = registry.register(best.model_uri, best.sha256, run_id=best.run_id)
    assert (first.version, second.version) == ("1", "2")
    assert registry.alias_version("champion") is None
    registry.set_alias("champion", "1")
    registry.set_alias("challenger", "2")
    assert registry.get("champion").version == "1"
    assert registry.get("challenger").tags[SHA_TAG] == best.sha256
    registry.set_alias("champion", "2")  # an alias moves
    assert registry.get("champion").aliases == ("challenger", "champion") or set(
        registry.get("champion").aliases
    ) == {"challenger", "champion"}
    local = registry.download("champion", tracker.artifact_root.parent / "downloaded")
    assert (local / "MLmodel").is_file()
    with pytest.raises(InvalidInputError, match="no version or alias 'gold'"):
        registry.get("gold")
    with pytest.raises(InvalidInputError, match="invalid alias"):
        registry.set_alias("Champion!", "1")


def test_a_tampered_artifact_is_refused(prepared: PreparedData, tracker: Tracker) -> None:
    result = train_models(prepared, CONFIG, tracker, lineage={}, artifacts={}, only=["gbm"])
    best = result.best
    registry = ModelRegistry(tracker, f"model-{next(_names)}")
    registry.register(best.model_uri, best.sha256, run_id=best.run_id)
    stored = next(tracker.artifact_root.rglob("model.lgb"))
    stored.write_text(stored.read_text().replace("num_leaves", "num_leafs", 1))
    with pytest.raises(ModelIntegrityError, match=r"not to the .* recorded at registration"):
        registry.download("1", tracker.artifact_root.parent / "downloaded")


def test_the_same_data_and_seed_give_the_same_model_files(
    prepared: PreparedData, tracker: Tracker
) -> None:
    first = train_models(prepared, CONFIG, tracker, lineage={}, artifacts={})
    second = train_models(prepared, CONFIG, tracker, lineage={}, artifacts={})
    assert first.training_id != second.training_id
    for a, b in zip(first.models, second.models, strict=True):
        assert a.run_id != b.run_id
        assert a.sha256 == b.sha256, f"{a.name} is not reproducible"


def test_a_registry_registers_in_its_own_backend_after_another_was_activated(
    prepared: PreparedData, tracker: Tracker, tmp_path: Path, _mlflow_sqlite_template: Path
) -> None:
    """One process, two workspaces: opening the second must not make the first register
    against it (``models:/`` URIs of logged models resolve through MLflow's global URI)."""
    result = train_models(prepared, CONFIG, tracker, lineage={}, artifacts={}, only=["gbm"])
    other_db = tmp_path / "other.db"
    other_db.write_bytes(_mlflow_sqlite_template.read_bytes())
    other = Tracker(f"sqlite:///{other_db}", "other", tmp_path / "other-runs")
    other.activate()  # what opening a second workspace in the same process does
    registry = ModelRegistry(tracker, f"model-{next(_names)}")
    version = registry.register(
        result.best.model_uri, result.best.sha256, run_id=result.best.run_id
    )
    assert version.version == "1"
    assert registry.download("1", tmp_path / "downloaded").joinpath("MLmodel").is_file()
