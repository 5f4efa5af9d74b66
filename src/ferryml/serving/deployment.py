"""A deployment: one registered model version, loaded and ready to score raw transactions.

Loading (:func:`ferryml.registered.load_registered`) verifies the model's files, takes its
decision threshold and the feature set of its build; the deployment adds the online feature
path: the same transforms, in their row form, as every training row saw.

Scoring one event: online features (batch views and window state in one round trip where the
stores allow), the model on one numpy row, the threshold. When the online store fails, the
features fall back to the degraded path (:mod:`ferryml.serving.degraded`) and the answer says
so. Reasons (the largest contributions to a block, in the words of
:mod:`ferryml.explain.reasons`) are computed inline only for decisions that are not
``approve``: they cost about as much as the prediction.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ferryml.errors import ServiceUnavailableError, StorageError
from ferryml.explain.reasons import Reason, ReasonCatalogue, top_reasons
from ferryml.features.graph import FeatureSet
from ferryml.features.online import BatchFeatureReader, OnlineFeatures
from ferryml.features.windows.state.base import WindowStateStore
from ferryml.registered import APPROVE, BLOCK, load_registered
from ferryml.serving.breaker import Breaker
from ferryml.serving.degraded import NoHistory, NoRows
from ferryml.training.trainers import TrainedModel

if TYPE_CHECKING:
    from ferryml.config.loader import LoadedConfig
    from ferryml.registry import ModelRegistry
    from ferryml.serving.config import ServingConfig


@dataclass(frozen=True)
class Scored:
    """One event's answer and what it took."""

    score: float
    decision: str
    degraded: bool
    features: dict[str, Any]
    reasons: list[Reason]
    features_ms: float
    model_ms: float


@dataclass
class Deployment:
    """A loaded model version and its feature path."""

    name: str
    version: str
    alias: str
    kind: str
    model: TrainedModel
    threshold: float
    feature_set: FeatureSet
    online: OnlineFeatures
    fallback: OnlineFeatures
    catalogue: ReasonCatalogue | None = None
    """The reason codes' sentences (default: derived from the feature names)."""
    top_reasons: int = 3
    breaker: Breaker = field(default_factory=Breaker)
    """Shared by the deployments of one worker: they share its stores."""

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for (the online store's client,
        the request-time transforms' imports and tables, the model's code paths): a read of
        keys no entity has, the transforms' own warm-up, and model calls on zeros."""
        self.online.warm_up()
        lookups = [(node.name, "__ferryml_warm_up__") for node in self.feature_set.joined_views]
        if lookups:
            with contextlib.suppress(ServiceUnavailableError, StorageError):
                self.online.reader.read_online_rows(lookups)
        zeros = np.zeros((1, len(self.model.features)))
        for _ in range(20):
            self.model.predict_array(zeros)
        self.model.contributions(zeros)

    @property
    def info(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "alias": self.alias}

    def score(self, event: dict[str, Any]) -> Scored:
        """Score one parsed request (fields by schema name)."""
        start = time.perf_counter_ns()
        breaker = self.breaker
        values = None
        if breaker.allow():
            try:
                values = self.online.vector(event).values
                breaker.succeeded()
            except (ServiceUnavailableError, StorageError):
                breaker.failed()
        degraded = values is None
        if values is None:
            values = self.fallback.vector(event).values
        return self.score_features(values, degraded=degraded, started=start)

    def score_features(
        self, values: dict[str, Any], *, degraded: bool = False, started: int | None = None
    ) -> Scored:
        """Score a computed feature vector (``values`` holds at least the model's features);
        ``started``: when the feature step began (``perf_counter_ns``), for the timings."""
        features_done = time.perf_counter_ns()
        row = self._rows([values])
        score = float(self.model.predict_array(row)[0])
        decision, reasons = self._decision(score, row)
        return Scored(
            score=score,
            decision=decision,
            degraded=degraded,
            features={name: values.get(name) for name in self.model.features},
            reasons=reasons,
            features_ms=(features_done - (started or features_done)) / 1e6,
            model_ms=(time.perf_counter_ns() - features_done) / 1e6,
        )

    def score_features_many(self, vectors: Sequence[dict[str, Any]]) -> list[Scored]:
        """:meth:`score_features` of several vectors in one model call (the shadow's batches:
        a call costs far more than a row); ``model_ms`` is the call's time per row."""
        started = time.perf_counter_ns()
        rows = self._rows(vectors)
        scores = self.model.predict_array(rows)
        per_row = (time.perf_counter_ns() - started) / 1e6 / max(len(vectors), 1)
        answers = []
        for i, values in enumerate(vectors):
            score = float(scores[i])
            decision, reasons = self._decision(score, rows[i : i + 1])
            features = {name: values.get(name) for name in self.model.features}
            answers.append(Scored(score, decision, False, features, reasons, 0.0, per_row))
        return answers

    def _rows(self, vectors: Sequence[dict[str, Any]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        names = self.model.features
        return np.array(
            [[_number(values.get(name)) for name in names] for values in vectors],
            dtype=np.float64,
        )

    def _decision(
        self, score: float, row: np.ndarray[Any, np.dtype[np.float64]]
    ) -> tuple[str, list[Reason]]:
        """The decision at the threshold; the reasons only for a decision that needs them."""
        decision = BLOCK if score >= self.threshold else APPROVE
        return decision, self.reasons(row) if decision != APPROVE else []

    def reasons(self, row: np.ndarray[Any, np.dtype[np.float64]]) -> list[Reason]:
        """The features that pushed this row's score up the most, in the catalogue's words."""
        contributions = self.model.contributions(row)
        if contributions is None:
            return []
        if self.catalogue is None:
            self.catalogue = ReasonCatalogue.build(self.model.features)
        return top_reasons(
            self.catalogue, contributions[0, :-1], row[0], up=True, limit=self.top_reasons
        )


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)


def load_deployment(
    loaded: LoadedConfig,
    root: Path,
    registry: ModelRegistry,
    alias_or_version: str,
    *,
    reader: BatchFeatureReader,
    windows: WindowStateStore,
    top_reasons: int = 3,
    breaker: Breaker | None = None,
) -> Deployment:
    """Load a registered version (by alias or number) with the feature path of its build."""
    registered = load_registered(loaded, root, registry, alias_or_version, threads=1)
    feature_set = registered.feature_set
    descriptions = {spec.name: spec.description for spec in feature_set.outputs}
    catalogue = ReasonCatalogue.build(
        registered.model.features,
        descriptions=descriptions,
        texts=loaded.config.governance.reasons,
    )
    project = loaded.config.project.name
    return Deployment(
        name=registered.name,
        version=registered.version,
        alias=registered.alias,
        kind=registered.kind,
        model=registered.model,
        threshold=registered.threshold,
        feature_set=feature_set,
        online=OnlineFeatures(feature_set, reader, windows),
        fallback=OnlineFeatures(feature_set, NoRows(), NoHistory(project)),
        catalogue=catalogue,
        top_reasons=top_reasons,
        breaker=breaker or Breaker(),
    )


def deployment_loader(
    loaded: LoadedConfig, root: Path, config: ServingConfig | None = None
) -> tuple[ModelRegistry, Callable[[str], Deployment]]:
    """The project's registry, and a loader of its versions sharing one online store client,
    one window state store and one circuit breaker (``config``: the serving section)."""
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    config = config or loaded.config.serving
    registry = ModelRegistry(tracker_for(loaded, root), loaded.config.project.name)
    store = ProjectFeatureStore(loaded, root, request_timeout=config.store_timeout_ms / 1000)
    windows = store.window_store()
    breaker = Breaker(
        failures_to_open=config.store_failures_to_open, cooldown=config.store_cooldown_ms / 1000
    )

    def load(version: str) -> Deployment:
        return load_deployment(
            loaded,
            root,
            registry,
            version,
            reader=store.repo,
            windows=windows,
            top_reasons=config.top_reasons,
            breaker=breaker,
        )

    return registry, load


def load_version(
    loaded: LoadedConfig, root: Path, config: ServingConfig | None, version: str
) -> Deployment:
    """One version with its own stores' clients: what another process (the shadow) runs,
    through ``functools.partial``, which pickles where a closure does not."""
    return deployment_loader(loaded, root, config)[1](version)


__all__ = [
    "APPROVE",
    "BLOCK",
    "Deployment",
    "Reason",
    "Scored",
    "deployment_loader",
    "load_deployment",
    "load_version",
]
