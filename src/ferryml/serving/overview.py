"""What the overview page ``GET /ui`` shows, gathered when it is asked for.

One :class:`Overview` per page view: the versions this worker serves and the registry's
versions and aliases, the routing every worker follows (and the canary's step, with the reasons
of its last rollback), the latest gate verdicts, the latest monitoring report's drift per
feature and business KPIs, and links to the reports and to the MLflow UI. Each section that
cannot be read (the registry or the platform DB down, a corrupt report) carries its
``problem`` instead: the page always renders, and says what is missing. Nothing here runs on
the scoring path.

    overview = gather(service)
    overview.models.served[0].version       # "3": what the champion arm answers with
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from ferryml.serving.canary import CANARY, ROUTING
from ferryml.serving.report_files import (
    GateRow,
    MonitoringSummary,
    ReportLink,
    gate_rows,
    latest_monitoring,
    report_links,
)
from ferryml.serving.routing import CHALLENGER, CHAMPION
from ferryml.serving.state import SharedState

if TYPE_CHECKING:
    from ferryml.registry import ModelRegistry
    from ferryml.serving.deployment import Deployment
    from ferryml.serving.service import ScoringService

logger = logging.getLogger(__name__)
T = TypeVar("T")

MONITORING_REPORTS = "reports/monitoring"
"""Where ``ferry monitor`` writes, relative to the workspace root
(:data:`ferryml.monitoring.project.REPORTS_DIR`, not imported: it loads the whole stage)."""


@dataclass(frozen=True)
class ServedModel:
    """A version this worker answers with, and the arm it answers for."""

    arm: str
    version: str
    alias: str | None
    kind: str
    threshold: float
    feature_set: str


@dataclass(frozen=True)
class VersionRow:
    """A registered version, the aliases pointing at it, the arms serving it here."""

    version: str
    aliases: tuple[str, ...]
    kind: str
    run_id: str | None
    arms: tuple[str, ...]


@dataclass(frozen=True)
class Models:
    name: str
    served: tuple[ServedModel, ...]
    versions: tuple[VersionRow, ...] = ()
    pinned: str | None = None
    standby: str | None = None
    previous: str | None = None
    reload_error: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class CanaryStep:
    """The canary's current step, or the one it was rolled back at."""

    weight: float
    started: str
    status: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RoutingState:
    """The split this worker applies, and the shared state every worker follows."""

    strategy: str
    challenger: str | None
    weight: float
    key: str | None
    revision: int = 0
    changed: str | None = None
    canary: CanaryStep | None = None
    shadow: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Overview:
    project: str
    generated: str
    worker: int
    models: Models
    routing: RoutingState
    gates: tuple[GateRow, ...]
    monitoring: MonitoringSummary | None
    reports: tuple[ReportLink, ...]
    mlflow_url: str
    mlflow_model_url: str
    row_reports: bool
    problems: dict[str, str] = field(default_factory=dict)
    """Section id → why it could not be read (gates, monitoring, reports)."""


def _attempt(section: str, read: Callable[[], T], problems: dict[str, str]) -> T | None:
    """``read()``, or None with the reason in ``problems``: one section failing must not
    take the page down, whatever the failure (MLflow, the database, the file system)."""
    try:
        return read()
    except Exception as exc:  # shown on the page and logged; never a 500
        problems[section] = f"{type(exc).__name__}: {exc}"[:1000]
        logger.warning("overview: %s not read: %s", section, problems[section])
        return None


def gather(service: ScoringService, *, limit: int = 10) -> Overview:
    """Everything the page shows, read now (blocking: call it off the event loop)."""
    context = service.context
    workspace = context.workspace
    ui = service.config.ui
    problems: dict[str, str] = {}
    models = _models(service)
    routing = _routing(service)
    reports = workspace.reports
    gates = _attempt("gates", lambda: gate_rows(reports / "gates", reports, limit), problems)
    registered = {v.run_id: v.version for v in models.versions if v.run_id}
    gates = [
        replace(g, version=registered.get(g.run_id)) if g.version is None and g.run_id else g
        for g in gates or ()
    ]
    directory = workspace.root / MONITORING_REPORTS
    monitoring = _attempt(
        "monitoring", lambda: latest_monitoring(directory, workspace.reports), problems
    )
    links = _attempt(
        "reports", lambda: report_links(workspace.reports, row_reports=ui.row_reports), problems
    )
    mlflow = ui.mlflow_url.rstrip("/")
    return Overview(
        project=workspace.project,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        worker=os.getpid(),
        models=models,
        routing=routing,
        gates=tuple(gates),
        monitoring=monitoring,
        reports=tuple(links or ()),
        mlflow_url=mlflow,
        mlflow_model_url=f"{mlflow}/#/models/{quote(service.deployment.name)}",
        row_reports=ui.row_reports,
        problems=problems,
    )


def _served(arm: str, deployment: Deployment) -> ServedModel:
    return ServedModel(
        arm=arm,
        version=deployment.version,
        alias=deployment.alias,
        kind=deployment.kind,
        threshold=deployment.threshold,
        feature_set=deployment.feature_set.version,
    )


def _models(service: ScoringService) -> Models:
    champion = service.deployment
    challenger = service.routed[1]
    served = [_served(CHAMPION, champion)]
    if challenger is not None:
        served.append(_served(CHALLENGER, challenger))
    follower = service.follower
    standby = follower.standby if follower is not None else None
    base = Models(
        name=champion.name,
        served=tuple(served),
        pinned=follower.pinned if follower else None,
        standby=standby.version if standby is not None else None,
        previous=follower.previous if follower else None,
        reload_error=follower.error if follower else None,
    )
    problems: dict[str, str] = {}
    registered = _attempt("models", lambda: _registry(service).versions(), problems)
    if registered is None:
        return replace(base, problem=problems["models"])
    arms: dict[str, list[str]] = {}
    for model in served:
        arms.setdefault(model.version, []).append(model.arm)
    versions = tuple(
        VersionRow(
            version=v.version,
            aliases=v.aliases,
            kind=v.tags.get("ferryml.model_kind", "?"),
            run_id=v.run_id,
            arms=tuple(arms.get(v.version, ())),
        )
        for v in registered
    )
    return replace(base, versions=versions)


def _registry(service: ScoringService) -> ModelRegistry:
    """The registry the service follows, else the project's (a service opened on one
    version, without following)."""
    if service.follower is not None:
        return service.follower.registry
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    context = service.context
    return ModelRegistry(
        tracker_for(context.loaded, context.workspace.root), context.workspace.project
    )


def _routing(service: ScoringService) -> RoutingState:
    applied = service.routed[0]
    shadow = service.shadow
    status = shadow.status() if shadow is not None else None
    base = RoutingState(
        strategy=applied.strategy,
        challenger=applied.challenger,
        weight=applied.weight,
        key=applied.key,
        shadow=None
        if status is None
        else f"version {status['version']}, {'ready' if status['ready'] else 'starting'}, "
        f"{status['restarts']} restart(s)",
    )
    problems: dict[str, str] = {}
    state = SharedState(service.engine, service.project)
    shared = _attempt("routing", lambda: (state.read_dated(ROUTING), state.read(CANARY)[1]),
                      problems)  # fmt: skip
    if shared is None:
        return replace(base, problem=problems["routing"])
    (revision, _, when), step = shared
    canary = None
    if isinstance(step, dict) and "weight" in step:
        canary = CanaryStep(
            weight=float(step["weight"]),
            started=str(step.get("started", "")),
            status=str(step.get("status", "")),
            reasons=tuple(str(r) for r in step.get("reasons", [])),
        )
    changed = when.isoformat(timespec="seconds") if when is not None else None
    return replace(base, revision=revision, changed=changed, canary=canary)


__all__ = [
    "CanaryStep",
    "Models",
    "Overview",
    "RoutingState",
    "ServedModel",
    "VersionRow",
    "gather",
]
