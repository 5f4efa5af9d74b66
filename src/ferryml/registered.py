"""A registered model version, loaded for scoring: what serving and batch scoring both start from.

Loading verifies the model's files against the hash recorded at registration
(:meth:`~ferryml.registry.ModelRegistry.download`), takes the decision threshold chosen at
training, and compiles the feature set of the build the model was trained on with that build's
fitted encodings: the same transforms, in the same states, as every training row saw. A model
trained on another feature-set version than the config defines today is loaded with the
definitions its build kept.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ferryml.errors import DataError, InvalidInputError
from ferryml.features.build import FITTED_FILE, MANIFEST, load_build
from ferryml.features.graph import FeatureSet, compile_features
from ferryml.features.offline import load_fitted
from ferryml.training.tracking import TAG_PREFIX
from ferryml.training.trainers import TrainedModel, load_trained

if TYPE_CHECKING:
    from ferryml.config.loader import LoadedConfig
    from ferryml.registry import ModelRegistry

APPROVE = "approve"
BLOCK = "block"
"""The decisions: a score at or above the model's threshold blocks."""


@dataclass(frozen=True)
class RegisteredModel:
    """One registered version, loaded: the model, its threshold and its feature path."""

    name: str
    version: str
    alias: str
    """The alias it was asked by (empty when asked by number)."""
    kind: str
    model: TrainedModel
    threshold: float
    feature_set: FeatureSet
    """Compiled from the model's build, its fitted transforms loaded with the build's states."""
    build: Path
    """The feature build the model was trained on (its batch views and encodings)."""

    @property
    def info(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "alias": self.alias}

    @property
    def identity(self) -> dict[str, Any]:
        """What decides its answers: name, version, alias, kind and threshold."""
        return {**self.info, "kind": self.kind, "threshold": self.threshold}

    def decisions(self, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.object_]:
        """Each score's decision at the threshold (as :class:`~ferryml.serving.Deployment`)."""
        return np.where(scores >= self.threshold, BLOCK, APPROVE).astype(object)


def load_registered(
    loaded: LoadedConfig,
    root: Path,
    registry: ModelRegistry,
    alias_or_version: str,
    *,
    threads: int = 1,
) -> RegisteredModel:
    """Load a registered version (by alias or number); its model predicts with ``threads``."""
    version = registry.get(alias_or_version)
    kind = version.kind
    with tempfile.TemporaryDirectory(prefix="ferryml-model-") as tmp:
        # the model is read into memory: its verified files are not needed afterwards
        model = load_trained(kind, registry.download(version.version, Path(tmp)), threads=threads)
    threshold = float(version.tags.get(TAG_PREFIX + "threshold", "nan"))
    if math.isnan(threshold):
        raise InvalidInputError(
            f"model {registry.name!r} v{version.version} has no decision threshold "
            f"({TAG_PREFIX}threshold)",
            hint="register versions with `ferry train` or `ferry promote`",
        )
    feature_set, build = feature_set_of(loaded, root, registry, version.run_id)
    return RegisteredModel(
        name=registry.name,
        version=version.version,
        alias=alias_or_version if not alias_or_version.isdigit() else "",
        kind=kind,
        model=model,
        threshold=threshold,
        feature_set=feature_set,
        build=build,
    )


def feature_set_of(
    loaded: LoadedConfig, root: Path, registry: ModelRegistry, run_id: str | None
) -> tuple[FeatureSet, Path]:
    """The feature set of the build ``run_id`` used, with its fitted encodings; the build."""
    config = loaded.config
    if run_id is None:
        raise InvalidInputError(f"model {registry.name!r} has a version without a run")
    tags = registry.tracker.get_run(run_id).data.tags
    relative = tags.get(TAG_PREFIX + "feature_build")
    if relative is None or not (root / relative / FITTED_FILE).is_file():
        raise InvalidInputError(
            f"the feature build of run {run_id} ({relative}) is not in the workspace: its "
            "encodings cannot be loaded",
            hint="score from the workspace that trained the model, or rebuild and retrain",
        )
    build = root / relative
    feature_set = compile_features(
        config.project.name, config.features, config.schema_, source=loaded.source
    )
    try:
        manifest = load_build(build)
        built_with = manifest["feature_set_version"]
        if built_with != feature_set.version:
            feature_set = _feature_set_of_build(loaded, build, manifest, feature_set.version)
        load_fitted(feature_set, json.loads((build / FITTED_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged build's files
        raise DataError(
            f"the feature build of run {run_id} ({relative}) cannot be read: "
            f"{type(exc).__name__}: {exc}",
            hint="restore the build's directory from a backup, or rebuild and retrain",
        ) from exc
    return feature_set, build


def _feature_set_of_build(
    loaded: LoadedConfig, build: Path, manifest: dict[str, Any], current: str
) -> FeatureSet:
    """The feature set a model was built on when the config now defines another: compiled
    from the definitions its build kept (the stores stay the config's)."""
    from ferryml.features.definitions import FeaturesConfig

    built_with = manifest["feature_set_version"]
    refusal = f"the model was trained on feature set {built_with}; the config defines {current}"
    hint = "use the config the model was trained with, or retrain and promote"
    definitions = manifest.get("definitions")
    if not isinstance(definitions, dict):  # a build made before builds kept them
        raise InvalidInputError(refusal + ", and its build did not keep its definitions", hint=hint)
    config = loaded.config
    store = config.features.store.model_dump(mode="json")
    features = FeaturesConfig.model_validate({**definitions, "store": store})
    feature_set = compile_features(
        config.project.name, features, config.schema_, source=str(build / MANIFEST)
    )
    if feature_set.version != built_with:  # the schema or the transforms' code changed since
        raise InvalidInputError(
            refusal + f"; its kept definitions compile to {feature_set.version} today", hint=hint
        )
    return feature_set


__all__ = ["APPROVE", "BLOCK", "RegisteredModel", "feature_set_of", "load_registered"]
