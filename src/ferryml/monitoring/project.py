"""Monitoring a project's model: its baseline, its logged traffic, the windows' verdicts.

    ferry monitor report --from 2025-12-01 --to 2026-01-01

reads the answers logged between the two dates (with the labels known now, or at ``cutoff``),
cuts them into windows and compares each with the model's baseline
(:mod:`ferryml.monitoring.baseline`), then writes the report as JSON and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ferryml.errors import InvalidInputError
from ferryml.monitoring.alerts import Alert, evaluate, log_alerts, post_webhook
from ferryml.monitoring.baseline import baseline_of, monitored_columns
from ferryml.monitoring.monitor import MonitorReport, Window, monitor
from ferryml.monitoring.traffic import US, read_traffic
from ferryml.serving.state import SharedState

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ferryml.monitoring.config import WebhookConfig
    from ferryml.pipeline import ProjectContext

REPORTS_DIR = "reports/monitoring"
SENT_ALERTS = "monitoring.alerts_sent"
"""Platform-DB state: keys of the alerts the webhook has taken."""
MAX_REMEMBERED = 5000


@dataclass(frozen=True)
class MonitorRun:
    """A report and the alerts its windows raised."""

    report: MonitorReport
    alerts: list[Alert]


def monitor_project(
    context: ProjectContext,
    *,
    start: datetime,
    end: datetime,
    model: str = "champion",
    cutoff: datetime | None = None,
) -> MonitorRun:
    """The windows of ``[start, end)`` of the project's traffic against ``model``'s baseline,
    with the labels known at ``cutoff`` (default: the project's clock, now), and the alerts
    of ``monitoring.alerts.rules`` on them."""
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
    report = monitor(
        baseline,
        traffic,
        period=Window(start.timestamp() * US, end.timestamp() * US),
        amount_column=costs.false_negative_column,
        flat_false_negative=costs.false_negative,
        false_negative_factor=costs.false_negative_factor if costs.false_negative_column else 1.0,
        false_positive_cost=costs.false_positive,
    )
    rules = loaded.config.monitoring.alerts.rules
    return MonitorRun(report, evaluate(rules, report, registered.model.importance()))


def deliver(
    engine: Engine, project: str, webhook: WebhookConfig | None, run: MonitorRun
) -> list[Alert]:
    """Log every alert; POST those not delivered before to ``webhook`` (when set) and
    remember them in the platform DB. Returns the alerts sent to the webhook."""
    log_alerts(run.alerts, project)
    if webhook is None or not run.alerts:
        return []
    state = SharedState(engine, project)
    _, sent = state.read(SENT_ALERTS)
    known = set(sent or [])
    fresh = [alert for alert in run.alerts if alert.key not in known]
    if fresh:
        post_webhook(webhook, fresh, project=project, model=run.report.baseline["model"])
        remembered = [*(sent or []), *(alert.key for alert in fresh)][-MAX_REMEMBERED:]
        state.write(SENT_ALERTS, remembered, actor="monitor")
    return fresh


def last_windows(now: datetime, days: int, count: int) -> tuple[datetime, datetime]:
    """The ``count`` whole windows of ``days`` ending at the start of ``now``'s day (UTC)."""
    end = datetime.combine(_utc(now).astimezone(UTC).date(), time.min, UTC)
    return end - timedelta(days=days * count), end


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def report_stem(report: MonitorReport) -> str:
    """``monitor-FROM_UNTIL``: one file pair per period (a rerun replaces it)."""
    period = report.period.describe()
    return f"monitor-{period['from'][:10]}_{period['until'][:10]}"


def report_directory(context: ProjectContext) -> Path:
    return context.workspace.root / REPORTS_DIR


__all__ = [
    "REPORTS_DIR",
    "MonitorRun",
    "deliver",
    "last_windows",
    "monitor_project",
    "report_directory",
    "report_stem",
]
