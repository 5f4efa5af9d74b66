"""Training a project: its latest feature build → models in MLflow → the best one registered.

This is the step ``ferry train`` and ``ferry quickstart`` run. It gathers the lineage every
run records (dataset version and content hash, feature-set version, the build, git commit,
lock-file hash, config hash, seed, label cutoff), trains through :mod:`ferryml.training.run`,
registers the best model as ``challenger`` (``champion`` is for a model that passed the gates:
:func:`ferryml.evaluation.promote`) and writes both steps to the audit trail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
import yaml

from ferryml.features.values import to_micros
from ferryml.registry import ModelRegistry, RegisteredVersion
from ferryml.training.config import TrainingConfig
from ferryml.training.dataset import Columns, PreparedData, prepare
from ferryml.training.report import write_report
from ferryml.training.run import Progress, TrainingResult, train_models
from ferryml.training.tracking import (
    Tracker,
    code_identity,
    default_tracking_uri,
    lineage_tags,
    mlflow_errors,
)

if TYPE_CHECKING:
    from ferryml.config.loader import LoadedConfig
    from ferryml.features.build import FeatureBuild
    from ferryml.pipeline import ProjectContext

SOURCE_DIR = Path(__file__).resolve().parents[3]
"""The checkout ferryml runs from (where ``requirements.lock`` and ``.git`` are, if anywhere)."""


@dataclass(frozen=True)
class ProjectTraining:
    """What one ``ferry train`` did."""

    build: FeatureBuild
    prepared: PreparedData
    result: TrainingResult
    registered: RegisteredVersion | None
    alias: str | None
    tracking_uri: str
    currency: str
    lineage: dict[str, str]
    report: Path | None = None


def tracker_for(loaded: LoadedConfig, root: Path) -> Tracker:
    """The MLflow backend and experiment of a project."""
    tracking = loaded.config.training.tracking
    return Tracker(
        tracking.uri or default_tracking_uri(root),
        tracking.experiment or loaded.config.project.name,
        root / tracking.artifacts,
    )


def train_project(
    context: ProjectContext,
    *,
    build: FeatureBuild | None = None,
    as_of: datetime | None = None,
    models: Sequence[str] | None = None,
    register: bool = True,
    progress: Progress | None = None,
    cutoff_us: float | None = None,
    training_config: TrainingConfig | None = None,
    extra_lineage: dict[str, Any] | None = None,
) -> ProjectTraining:
    """Train the project's models on ``build`` (default: the latest of the current feature
    set) with labels known at ``as_of`` (default: the build's last event; ``cutoff_us`` gives
    it to the microsecond). ``training_config`` replaces the config's ``training`` section
    (a reproduction uses the recorded one)."""
    from ferryml.features.build import load_build
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.governance.card import write_card
    from ferryml.governance.gdpr.limits import check_training
    from ferryml.governance.policy import REGISTERED_BY_TAG
    from ferryml.pipeline import current_actor

    loaded = context.loaded
    config = loaded.config
    root = context.workspace.root
    build = build or ProjectFeatureStore(loaded, root).latest_build()
    manifest = load_build(build.path)
    schema = config.schema_
    label_time = schema.columns_with_role("label_time")
    columns = Columns(
        event_time=schema.columns_with_role("event_time")[0],
        label=_label_column(schema.columns_with_role("label")),
        label_time=label_time[0] if label_time else None,
        features=[feature["name"] for feature in manifest["features"]],
    )
    # GDPR: data collected for this purpose only, and only allow-listed features
    check_training([build.dataset_ref], columns.features, config.governance.gdpr)
    table = pq.read_table(build.training_path)
    cutoff = cutoff_us if as_of is None else to_micros(as_of)
    training_config = training_config or config.training
    prepared = prepare(table, columns, training_config, cutoff_us=cutoff)
    tracker = tracker_for(loaded, root)
    config_text = yaml.safe_dump(config.model_dump(mode="json", by_alias=True), sort_keys=False)
    code_sha, lock_sha = code_identity(SOURCE_DIR)
    lineage = {
        "project": config.project.name,
        "dataset": build.dataset_ref,
        "dataset_hash": manifest.get("dataset_content_hash"),
        "feature_set_version": build.feature_set_version,
        "feature_build": build.path.relative_to(root).as_posix(),
        "fit_until": build.fit_until.isoformat(),
        "label_cutoff": prepared.split.describe()["label_cutoff"],
        "label_cutoff_us": repr(prepared.split.cutoff_us),
        "git_sha": code_sha,
        "lock_sha256": lock_sha,
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
        "seed": training_config.seed,
        **(extra_lineage or {}),
    }
    result = train_models(
        prepared,
        training_config,
        tracker,
        lineage=lineage,
        artifacts={"config/project.yaml": config_text},
        only=models,
        progress=progress,
    )
    actor = current_actor()
    context.audit.append(
        actor,
        "model.train",
        f"training@{result.training_id}",
        {
            "build": lineage["feature_build"],
            "runs": {m.name: m.run_id for m in result.models},
            "best": result.best.name,
            "primary_metric": result.primary_metric,
            "label_cutoff": lineage["label_cutoff"],
        },
    )
    registered, alias = None, None
    if register:
        registry = ModelRegistry(tracker, config.project.name)
        best = result.best
        registered = registry.register(
            best.model_uri,
            best.sha256,
            run_id=best.run_id,
            tags={
                "ferryml.model_kind": best.kind,
                "ferryml.threshold": repr(best.threshold.threshold),
                "ferryml.training_id": result.training_id,
                REGISTERED_BY_TAG: actor,
            },
        )
        alias = "challenger"  # production is the gates' decision (ferryml.evaluation.promote)
        registry.set_alias(alias, registered.version)
        context.audit.append(
            actor,
            "model.register",
            f"{registry.name}@{registered.version}",
            {"run": best.run_id, "alias": alias, "sha256": best.sha256},
        )
        write_card(context, registry, registered.version)
    training = ProjectTraining(
        build,
        prepared,
        result,
        registered,
        alias,
        tracker.uri,
        training_config.costs.currency,
        lineage_tags(lineage),
    )
    report = write_report(training, context.workspace.reports / "training", config.project.name)
    with mlflow_errors(tracker.uri, "attach the training report"):
        tracker.client.log_artifact(result.best.run_id, str(report), "report")
    return replace(training, report=report)


def _label_column(labels: list[str]) -> str:
    from ferryml.errors import InvalidInputError

    if not labels:
        raise InvalidInputError(
            "no column of the schema has role 'label': there is nothing to train on",
            hint="give the outcome column `role: label` in the schema section",
        )
    return labels[0]


def summary_json(training: ProjectTraining) -> str:
    """A compact JSON account of a training (for ``--json`` and logs)."""
    result = training.result
    return json.dumps(
        {
            "training_id": result.training_id,
            "best": result.best.name,
            "registered": training.registered.version if training.registered else None,
            "alias": training.alias,
            "models": {
                m.name: {
                    "run_id": m.run_id,
                    "validation_pr_auc": m.validation.pr_auc,
                    "test_pr_auc": m.test.pr_auc,
                    "threshold": m.threshold.threshold,
                    "test_expected_cost": m.test_at_threshold.expected_cost,
                }
                for m in result.models
            },
        },
        indent=2,
    )


__all__ = ["ProjectTraining", "summary_json", "tracker_for", "train_project"]
