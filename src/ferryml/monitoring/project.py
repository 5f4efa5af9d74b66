"""Monitoring a project's model: its baseline, its logged traffic, the windows' verdicts.

    ferry monitor report --from 2025-12-01 --to 2026-01-01

reads the answers logged between the two dates (with the labels known now, or at ``cutoff``),
cuts them into windows and compares each with the model's baseline
(:mod:`ferryml.monitoring.baseline`), then writes the report as JSON and HTML.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ferryml.errors import InvalidInputError
from ferryml.monitoring.baseline import baseline_of, monitored_columns
from ferryml.monitoring.monitor import MonitorReport, Window, monitor
from ferryml.monitoring.traffic import US, read_traffic

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

REPORTS_DIR = "reports/monitoring"


def monitor_project(
    context: ProjectContext,
    *,
    start: datetime,
    end: datetime,
    model: str = "champion",
    cutoff: datetime | None = None,
) -> MonitorReport:
    """The windows of ``[start, end)`` of the project's traffic against ``model``'s baseline,
    with the labels known at ``cutoff`` (default: the project's clock, now)."""
    from ferryml.batch.run import model_reference
    from ferryml.registered import load_registered
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    start, end = _utc(start), _utc(end)
    if end <= start:
        raise InvalidInputError(
            f"--to ({end:%Y-%m-%d %H:%M}) is not after --from ({start:%Y-%m-%d %H:%M})",
            hint="ferry monitor report --from 2025-12-01 --to 2026-01-01",
        )
    loaded = context.loaded
    root = context.workspace.root
    registry = ModelRegistry(tracker_for(loaded, root), loaded.config.project.name)
    registered = load_registered(loaded, root, registry, model_reference(registry.name, model))
    columns = monitored_columns(loaded, registered.model.features)
    baseline = baseline_of(loaded, registered, registry, columns)
    training = loaded.config.training
    traffic = read_traffic(
        context.engine,
        context.workspace.project,
        start=start,
        end=end,
        cutoff=_utc(cutoff) if cutoff is not None else context.clock.now(),
        maturity_days=training.label_maturity_days,
        columns=columns,
    )
    costs = training.costs
    return monitor(
        baseline,
        traffic,
        period=Window(start.timestamp() * US, end.timestamp() * US),
        amount_column=costs.false_negative_column,
        flat_false_negative=costs.false_negative,
        false_negative_factor=costs.false_negative_factor if costs.false_negative_column else 1.0,
        false_positive_cost=costs.false_positive,
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def report_stem(report: MonitorReport) -> str:
    period = report.period.describe()
    return f"monitor-{period['from'][:10]}_{period['until'][:10]}"


def report_directory(context: ProjectContext) -> Path:
    return context.workspace.root / REPORTS_DIR


__all__ = ["REPORTS_DIR", "monitor_project", "report_directory", "report_stem"]
