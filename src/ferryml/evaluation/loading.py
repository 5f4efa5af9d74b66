"""Models under judgement, read back from MLflow: candidate runs and the champion.

Every model is downloaded and hashed before it is loaded: a file that does not match the hash
recorded when it was logged is refused (:class:`~ferryml.errors.ModelIntegrityError`). The
champion is scored on the candidates' held-out rows with the features as *its* build encodes
them: same definitions and events, its own fitted encodings (a champion of another feature
set version cannot be compared automatically, and the gate says so).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from ferryml.errors import InvalidInputError
from ferryml.evaluation.data import HeldOut
from ferryml.evaluation.gates.base import Check, Contender, GateResult
from ferryml.features.build import FITTED_FILE, FeatureBuild, load_build
from ferryml.features.values import arrow_to_array
from ferryml.registry import ModelRegistry
from ferryml.training.tracking import TAG_PREFIX, Tracker
from ferryml.training.trainers import TrainedModel, load_trained

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run

    from ferryml.pipeline import ProjectContext

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id):
        raise InvalidInputError(
            f"{run_id!r} is not an MLflow run id (32 lowercase hexadecimal characters)",
            hint="`ferry train --json` prints the run ids; `ferry ui` lists them",
        )
    return run_id


def get_run(tracker: Tracker, run_id: str) -> Run:
    """A run ``ferry train`` made (it holds a model), by id."""
    run = tracker.get_run(run_id)
    if TAG_PREFIX + "model_uri" not in run.data.tags:
        raise InvalidInputError(
            f"run {run_id} holds no model logged by `ferry train` (no {TAG_PREFIX}model_uri tag)",
            hint="gate the runs `ferry train` created",
        )
    return run


def run_tag(run: Run, name: str) -> str:
    value = run.data.tags.get(TAG_PREFIX + name)
    if value is None:
        if name == "threshold" and "validation_threshold" in run.data.metrics:
            return repr(run.data.metrics["validation_threshold"])
        raise InvalidInputError(
            f"run {run.info.run_id} has no {TAG_PREFIX}{name} tag",
            hint="gate runs made by this version of `ferry train`",
        )
    return value


def load_model(
    tracker: Tracker, uri: str, sha256: str, kind: str, what: str
) -> tuple[TrainedModel, int]:
    """The model at ``uri`` (verified against ``sha256``) and the bytes of its files."""
    with tempfile.TemporaryDirectory(prefix="ferryml-gate-") as tmp:
        local = tracker.download_verified(
            uri, sha256, Path(tmp), what=what, recorded="when it was logged"
        )
        size = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
        return load_trained(kind, local, threads=1), size


def contender_from_run(tracker: Tracker, run: Run) -> Contender:
    run_id = run.info.run_id
    kind = run_tag(run, "model_kind")
    model, size = load_model(
        tracker,
        run_tag(run, "model_uri"),
        run_tag(run, "model_sha256"),
        kind,
        f"run {run_id}'s model",
    )
    name = run.data.tags.get(TAG_PREFIX + "model_name", kind)
    return Contender(
        label=f"{name} {run_id[:8]}",
        model=model,
        threshold=float(run_tag(run, "threshold")),
        size_bytes=size,
        run_id=run_id,
    )


def champion_version(registry: ModelRegistry, alias: str) -> str:
    return registry.alias_version(alias) or "none"


def load_champion(
    registry: ModelRegistry,
    tracker: Tracker,
    alias: str,
    build: FeatureBuild,
    context: ProjectContext,
    data: HeldOut,
) -> tuple[Contender | None, GateResult | None]:
    """The champion ready to score the held-out rows, or why it cannot be compared."""
    try:
        version = registry.get(alias)
    except InvalidInputError:  # the alias points nowhere: nothing to beat
        return None, None
    model, size = load_model(
        tracker, version.source, version.sha256, version.kind, f"{registry.name} v{version.version}"
    )
    threshold = float(version.tags.get(TAG_PREFIX + "threshold", "0.5"))
    champion = Contender(
        label=f"{alias} v{version.version}",
        model=model,
        threshold=threshold,
        size_bytes=size,
        run_id=version.run_id,
        version=version.version,
    )
    champion_build = None
    if version.run_id:
        tags = tracker.get_run(version.run_id).data.tags
        relative = tags.get(TAG_PREFIX + "feature_build")
        champion_build = context.workspace.root / relative if relative else None
    if champion_build is not None and champion_build.resolve() == build.path.resolve():
        return champion, None
    reason = _incomparable(champion_build, build, model.features, data)
    if reason is not None:
        return None, GateResult(
            "champion",
            "failed",
            [Check("comparable with the champion", None, "same feature set", False, reason)],
            reason,
        )
    assert champion_build is not None
    champion.features = _rescored_features(context, build, champion_build, data, model.features)
    champion.label += " (features with its own encodings)"
    return champion, None


def _incomparable(
    champion_build: Path | None, build: FeatureBuild, features: list[str], data: HeldOut
) -> str | None:
    if champion_build is None or not (champion_build / FITTED_FILE).is_file():
        return "the champion's feature build is not in the workspace: its features cannot be made"
    manifest = load_build(champion_build)
    if manifest["feature_set_version"] != build.feature_set_version:
        return (
            f"the champion uses feature set {manifest['feature_set_version']}, the candidate "
            f"{build.feature_set_version}: compare them by hand and promote with a reason"
        )
    missing = sorted(set(features) - set(data.x.columns) - set(_build_columns(build)))
    if missing:
        return f"the champion reads features the build lacks: {missing}"
    return None


def _build_columns(build: FeatureBuild) -> list[str]:
    return list(pq.read_schema(build.training_path).names)


def _rescored_features(
    context: ProjectContext,
    build: FeatureBuild,
    champion_build: Path,
    data: HeldOut,
    features: list[str],
) -> pd.DataFrame:
    """The held-out rows' features with the champion's fitted encodings (same definitions,
    same events: only what was fitted on its training window differs)."""

    import pandas as pd

    from ferryml.features.build import read_events, read_profiles
    from ferryml.features.graph import compile_features
    from ferryml.features.offline import build_training_set
    from ferryml.pipeline import resolve_version

    config = context.loaded.config
    feature_set = compile_features(config.project.name, config.features, config.schema_)
    fitted = json.loads((champion_build / FITTED_FILE).read_text())
    dataset = resolve_version(context, build.dataset_ref)
    events = read_events(feature_set, dataset.path)
    profiles = read_profiles(feature_set, context.workspace.root)
    table = build_training_set(feature_set, events, profiles, fitted=fitted).table
    times = arrow_to_array(table.column(feature_set.event_time_column))
    mask = data.split.masks(times)[2]
    frame = pd.DataFrame(
        {name: arrow_to_array(table.column(name))[mask].astype(np.float64) for name in features}
    )
    if len(frame) != data.rows:
        raise InvalidInputError(
            f"recomputing the champion's features gave {len(frame)} held-out rows, not "
            f"{data.rows}: the build and its dataset disagree",
            hint="rebuild the features with `ferry features build`",
        )
    return frame


__all__ = [
    "RUN_ID",
    "champion_version",
    "check_run_id",
    "contender_from_run",
    "get_run",
    "load_champion",
    "load_model",
    "run_tag",
]
