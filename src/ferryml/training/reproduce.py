"""Rebuild a run's model from what the run recorded, and compare it with the original.

``ferry train --from-run RUN_ID`` reads the run's lineage tags (dataset version, feature-set
version, encoding cutoff, label cutoff to the microsecond, model name) and its recorded
``training`` config, rebuilds the training set from the stored dataset version into a fresh
directory (no cached set is reused), trains that one model again and compares: the SHA-256 of
the model files, and the predictions of both models on the test period.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import yaml

from ferryml.errors import InvalidInputError
from ferryml.training.config import TrainingConfig
from ferryml.training.project import ProjectTraining, tracker_for, train_project
from ferryml.training.run import Progress
from ferryml.training.tracking import TAG_PREFIX, mlflow_errors

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

_NEEDED = (
    "model_name",
    "dataset",
    "feature_set_version",
    "fit_until",
    "label_cutoff_us",
    "model_sha256",
    "model_uri",
)


@dataclass(frozen=True)
class Reproduction:
    """The original run's model next to the rebuilt one."""

    original_run: str
    model_name: str
    original_sha256: str
    training: ProjectTraining
    max_prediction_difference: float
    """Largest absolute difference of the two models' scores on the test period."""

    @property
    def rebuilt_sha256(self) -> str:
        return self.training.result.models[0].sha256

    @property
    def identical(self) -> bool:
        return self.original_sha256 == self.rebuilt_sha256


def reproduce_run(
    context: ProjectContext, run_id: str, *, progress: Progress | None = None
) -> Reproduction:
    """Train the model of ``run_id`` again from its recorded inputs (nothing is registered)."""
    import mlflow.artifacts
    import mlflow.pyfunc

    from ferryml.features.build import build_features
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.pipeline import current_actor, resolve_version

    root = context.workspace.root
    tracker = tracker_for(context.loaded, root)
    run = tracker.get_run(run_id)
    with mlflow_errors(tracker.uri, f"read run {run_id}'s config"):
        text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config/project.yaml")
    tags = {k.removeprefix(TAG_PREFIX): v for k, v in run.data.tags.items()}
    missing = [key for key in _NEEDED if tags.get(key) in (None, "", "unknown")]
    if missing:
        raise InvalidInputError(
            f"run {run_id} lacks the lineage tags {[TAG_PREFIX + k for k in missing]}: it was "
            "not recorded by `ferry train`, so it cannot be rebuilt",
        )
    store = ProjectFeatureStore(context.loaded, root)
    if store.feature_set.version != tags["feature_set_version"]:
        raise InvalidInputError(
            f"run {run_id} used feature set {tags['feature_set_version']}, the config defines "
            f"{store.feature_set.version}: the features changed since",
            hint="use the run's config (artifact config/project.yaml) with --config",
        )
    recorded = TrainingConfig.model_validate(yaml.safe_load(text)["training"])
    dataset = resolve_version(context, tags["dataset"])
    scratch = root / "features" / "rebuilds"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"{run_id[:12]}-") as tmp:
        build = build_features(
            store.feature_set,
            dataset,
            root=root,
            offline_dir=Path(tmp),
            fit_until=datetime.fromisoformat(tags["fit_until"]),
        )
        training = train_project(
            context,
            build=build,
            cutoff_us=float(tags["label_cutoff_us"]),
            models=[tags["model_name"]],
            register=False,
            progress=progress,
            training_config=recorded,
            extra_lineage={"reproduces": run_id},
        )
    test = training.prepared.test.x
    with mlflow_errors(tracker.uri, "load both models"):
        original = _scores(mlflow.pyfunc.load_model(tags["model_uri"]).predict(test))
        rebuilt = _scores(
            mlflow.pyfunc.load_model(training.result.models[0].model_uri).predict(test)
        )
    difference = float(np.max(np.abs(original - rebuilt), initial=0.0))
    reproduction = Reproduction(
        run_id, tags["model_name"], tags["model_sha256"], training, difference
    )
    context.audit.append(
        current_actor(),
        "model.reproduce",
        f"run@{run_id}",
        {
            "rebuilt_run": training.result.models[0].run_id,
            "identical": reproduction.identical,
            "max_prediction_difference": difference,
        },
    )
    return reproduction


def _scores(predictions: object) -> npt.NDArray[np.float64]:
    """The positive-class scores of a pyfunc's output (a vector, or one column per class)."""
    values = np.asarray(predictions, dtype=np.float64)
    return values[:, -1] if values.ndim == 2 else values


__all__ = ["Reproduction", "reproduce_run"]
