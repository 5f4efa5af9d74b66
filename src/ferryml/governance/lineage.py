"""Lineage: from a prediction, a model version or a dataset version to everything behind it,
and from a dataset forward to every model and deployment that used it.

The links are the ones each stage records as it works, so nothing here guesses:

- a prediction's record names the model and version that answered (the prediction log);
- a registered version names its training run (MLflow's registry);
- the run's ``ferryml.*`` tags name the code (git sha), the lock file's and config's sha256,
  the seed, the feature-set version and the feature build (training's lineage tags);
- the build's manifest names the dataset version it read and the profile files it joined;
- a dataset version names its parents, its source and its validation result (the platform DB).

Walking backwards gives a tree of :class:`Node`; :func:`dependents` walks forwards::

    node = trace(context, "transactions@1a2b3c4d5e6f")   # or a request id, or "fraud@3"
    [n.kind for n in node.walk()]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ferryml.errors import InvalidInputError, NotFoundError
from ferryml.storage.db import transaction
from ferryml.storage.tables import datasets, predictions

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext
    from ferryml.registry import ModelRegistry

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
MODEL_VERSION = re.compile(r"^(?:(?P<name>[a-z][a-z0-9_-]*)@)?v?(?P<version>[0-9]+)$")
_RUN_TAGS = (
    "training_id",
    "model_name",
    "model_kind",
    "git_sha",
    "lock_sha256",
    "config_sha256",
    "seed",
    "feature_set_version",
    "label_cutoff",
    "fit_until",
    "gates",
)


@dataclass(frozen=True)
class Node:
    """One thing in the lineage, with what it was made from (``upstream``)."""

    kind: str
    """prediction, model_version, training_run, feature_build, profile or dataset."""
    id: str
    details: dict[str, Any] = field(default_factory=dict)
    upstream: tuple[Node, ...] = ()

    def walk(self) -> Iterator[Node]:
        """This node and everything upstream of it, depth first."""
        yield self
        for node in self.upstream:
            yield from node.walk()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "details": self.details,
            "upstream": [node.as_dict() for node in self.upstream],
        }


def trace(context: ProjectContext, identifier: str) -> Node:
    """The lineage of a request id, a model version (``3``, ``v3``, ``fraud@3``, an alias
    such as ``champion``) or a dataset version (``transactions@1a2b3c4d5e6f``)."""
    identifier = identifier.strip()
    if REQUEST_ID.match(identifier):
        return prediction(context, identifier)
    match = MODEL_VERSION.match(identifier)
    registry = _registry(context)
    if match is not None:
        name = match["name"]
        if name is not None and name != registry.name:
            raise NotFoundError(f"model {name!r} is not this project's model ({registry.name!r})")
        return model_version(context, registry, match["version"])
    if "@" in identifier:
        return dataset(context, identifier)
    if re.match(r"^[a-z][a-z0-9_-]{0,62}$", identifier):
        return model_version(context, registry, identifier)  # an alias
    raise InvalidInputError(
        f"{identifier[:80]!r} is not a request id, a model version or a dataset version",
        hint="give a request id (32 hex digits), a version (3, fraud@3, champion) or a "
        "dataset version (transactions@1a2b3c4d5e6f, see `ferry data list`)",
    )


def prediction(context: ProjectContext, request_id: str) -> Node:
    """A logged decision and the model version behind it."""
    with transaction(context.engine, purpose="reading the prediction log") as conn:
        row = conn.execute(
            select(predictions).where(
                predictions.c.project == context.workspace.project,
                predictions.c.request_id == request_id,
            )
        ).first()
    if row is None:
        raise NotFoundError(
            f"no prediction with request id {request_id!r} in the prediction log",
            hint="a request answered moments ago reaches the log when it ships; retry shortly",
        )
    details = {
        "answered_at": _iso(row.ts),
        "status": row.status,
        "event_id": row.event_id,
        "arm": row.arm,
        "score": row.score,
        "decision": row.decision,
        "threshold": row.threshold,
        "degraded": row.degraded,
    }
    upstream: tuple[Node, ...] = ()
    if row.model_version is not None:
        upstream = (model_version(context, _registry(context), str(row.model_version)),)
    return Node("prediction", request_id, details, upstream)


def model_version(context: ProjectContext, registry: ModelRegistry, version: str) -> Node:
    """A registered version, its training run and what the run trained on."""
    registered = registry.get(version)
    details = {
        "aliases": list(registered.aliases),
        "sha256": registered.sha256,
        "kind": registered.tags.get("ferryml.model_kind"),
        "threshold": registered.tags.get("ferryml.threshold"),
        "approvals": _approvals(registered.tags),
    }
    upstream = () if registered.run_id is None else (training_run(context, registered.run_id),)
    return Node("model_version", f"{registry.name}@{registered.version}", details, upstream)


def training_run(context: ProjectContext, run_id: str) -> Node:
    """A training run: code, lock file, config, seed, gates; its feature build upstream."""
    from ferryml.training.project import tracker_for

    tracker = tracker_for(context.loaded, context.workspace.root)
    run = tracker.get_run(run_id)
    tags = run.data.tags
    details: dict[str, Any] = {
        name: tags[f"ferryml.{name}"] for name in _RUN_TAGS if f"ferryml.{name}" in tags
    }
    details["gate_results"] = {
        key.removeprefix("ferryml.gate."): value
        for key, value in sorted(tags.items())
        if key.startswith("ferryml.gate.")
    }
    details["mlflow_run"] = run_id
    upstream: list[Node] = []
    build = tags.get("ferryml.feature_build")
    if build is not None:
        upstream.append(feature_build(context, build, tags.get("ferryml.dataset")))
    elif tags.get("ferryml.dataset"):
        upstream.append(dataset(context, tags["ferryml.dataset"]))
    return Node("training_run", run_id, details, tuple(upstream))


def feature_build(context: ProjectContext, relative: str, dataset_ref: str | None) -> Node:
    """A feature build (offline training set and batch views) and the data it read."""
    path = context.workspace.root / relative
    manifest: dict[str, Any] = {}
    if (path / "manifest.json").is_file():
        manifest = json.loads((path / "manifest.json").read_text())
    details = {
        "path": relative,
        "present": path.is_dir(),
        "feature_set_version": manifest.get("feature_set_version"),
        "rows": manifest.get("rows"),
        "fit_until": manifest.get("fit_until"),
    }
    upstream = [
        Node("profile", name, dict(profile))
        for name, profile in sorted((manifest.get("profiles") or {}).items())
    ]
    ref = manifest.get("dataset") or dataset_ref
    if ref:
        upstream.insert(0, dataset(context, str(ref)))
    return Node("feature_build", relative, details, tuple(upstream))


def dataset(context: ProjectContext, ref: str, _seen: frozenset[str] = frozenset()) -> Node:
    """A dataset version: its hash, source, validation, and the versions it came from."""
    from ferryml.data.versioning.model import parse_ref

    name, version = parse_ref(ref)
    found = context.datasets.get(name, version)
    validation = dict(found.validation) if found.validation is not None else None
    details = {
        "content_hash": found.content_hash,
        "rows": found.rows,
        "created_at": _iso(found.created_at),
        "path": _relative(found.path, context.workspace.root),
        "source": dict(found.source),
        "validation": _validation_summary(validation),
    }
    seen = _seen | {found.ref}
    upstream = tuple(
        dataset(context, parent, seen) for parent in found.parents if parent not in seen
    )
    return Node("dataset", found.ref, details, upstream)


@dataclass(frozen=True)
class Dependents:
    """Everything that used a dataset version, directly or through a derived version."""

    dataset: str
    derived: list[str]
    """Dataset versions whose parents include it (transitively)."""
    runs: list[dict[str, Any]]
    """Training runs on it or on a derived version: run id, model, registered version,
    aliases (the deployments: what serves or challenges), predictions answered."""

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "derived": self.derived, "runs": self.runs}


def dependents(context: ProjectContext, ref: str) -> Dependents:
    """Forward from a dataset version: derived versions, runs, models and their traffic."""
    from ferryml.training.project import tracker_for

    start = context.datasets.get(*_parsed(ref)).ref
    derived = _derived(context, start)
    tracker = tracker_for(context.loaded, context.workspace.root)
    registry = _registry(context)
    runs: list[dict[str, Any]] = []
    for used in [start, *derived]:
        for run in tracker.client.search_runs(
            [tracker.experiment_id()], filter_string=f"tags.`ferryml.dataset` = '{used}'"
        ):
            registered = registry.version_of_run(run.info.run_id)
            version = registered.version if registered else None
            runs.append(
                {
                    "run_id": run.info.run_id,
                    "dataset": used,
                    "model": run.data.tags.get("ferryml.model_name"),
                    "registered_version": version,
                    "aliases": list(registered.aliases) if registered else [],
                    "predictions": _answered(context, registry.name, version),
                }
            )
    return Dependents(start, derived, runs)


def _derived(context: ProjectContext, ref: str) -> list[str]:
    with transaction(context.engine, purpose="reading dataset lineage") as conn:
        rows = conn.execute(
            select(datasets.c.dataset, datasets.c.version, datasets.c.parents).where(
                datasets.c.project == context.workspace.project
            )
        ).all()
    children: dict[str, list[str]] = {}
    for row in rows:
        for parent in json.loads(row.parents):
            children.setdefault(parent, []).append(f"{row.dataset}@{row.version}")
    out: list[str] = []
    frontier = [ref]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in out and child != ref:
                out.append(child)
                frontier.append(child)
    return out


def _answered(context: ProjectContext, model: str, version: str | None) -> int:
    if version is None:
        return 0
    with transaction(context.engine, purpose="counting predictions") as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(predictions)
                .where(
                    predictions.c.project == context.workspace.project,
                    predictions.c.model_name == model,
                    predictions.c.model_version == version,
                    predictions.c.status == 200,
                )
            ).scalar_one()
        )


def _registry(context: ProjectContext) -> ModelRegistry:
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    tracker = tracker_for(context.loaded, context.workspace.root)
    return ModelRegistry(tracker, context.loaded.config.project.name)


def _parsed(ref: str) -> tuple[str, str]:
    from ferryml.data.versioning.model import parse_ref

    return parse_ref(ref)


def _approvals(tags: dict[str, str]) -> list[Any]:
    raw = tags.get("ferryml.approvals")
    return list(json.loads(raw)) if raw else []


def _validation_summary(validation: dict[str, Any] | None) -> dict[str, Any] | None:
    if validation is None:
        return None
    keep = ("success", "passed", "rows", "rows_checked", "quarantined", "failed", "suite")
    summary = {key: validation[key] for key in keep if key in validation}
    return summary or {"keys": sorted(validation)[:10]}


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _iso(value: datetime) -> str:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()


__all__ = ["Dependents", "Node", "dependents", "trace"]
