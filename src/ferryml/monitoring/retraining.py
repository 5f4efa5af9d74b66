"""Closing the loop: alerts that ask for retraining start a training run whose best model
enters as challenger through the gates.

When a monitor run raised alerts of ``retrain: true`` rules and ``monitoring.retraining`` is
enabled (and the last retraining is older than ``cooldown_days``), the project's models are
trained again on the latest feature build (labels known at its last event, the rule of
``ferry train``), gated against the champion like any candidate, and the best one that passed
every gate is registered under the ``challenger`` alias — never the champion: shadow, canary or
A/B decide that, and a person promotes. Every step is on the audit trail
(``monitor.retrain``). New data must be ingested and built into features before
(``ferry ingest``, ``ferry features build``) for the retraining to learn from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ferryml.monitoring.alerts import Alert
from ferryml.serving.state import SharedState

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

LAST_RETRAIN = "monitoring.last_retrain"
"""Platform-DB state: when the monitor last retrained (ISO time)."""


@dataclass(frozen=True)
class Retraining:
    """What a retraining did, or why it did not run."""

    asked_by: list[str]
    """The rules whose alerts asked for it."""
    skipped: str | None = None
    runs: list[str] = field(default_factory=list)
    challenger: str | None = None
    """The registered version entered as challenger (None: no candidate passed the gates)."""
    failed_gates: dict[str, list[str]] = field(default_factory=dict)


def retraining_held(context: ProjectContext, now: datetime) -> str | None:
    """Why the policy does not let a retraining start at ``now`` (None: it does)."""
    policy = context.loaded.config.monitoring.retraining
    if not policy.enabled:
        return "monitoring.retraining.enabled is false"
    _, last = SharedState(context.engine, context.workspace.project).read(LAST_RETRAIN)
    if last is not None:
        since = now - datetime.fromisoformat(last)
        if since < timedelta(days=policy.cooldown_days):
            return (
                f"the last training was {since.total_seconds() / 86_400:.1f} days ago "
                f"(monitoring.retraining.cooldown_days: {policy.cooldown_days:g})"
            )
    return None


def retrain_if_asked(
    context: ProjectContext,
    alerts: Sequence[Alert],
    *,
    now: datetime,
    progress: Callable[[str], None] | None = None,
) -> Retraining | None:
    """Retrain when ``alerts`` ask for it and the policy allows; None when none asks."""
    from ferryml.evaluation.project import gate_runs
    from ferryml.evaluation.promotion import CHALLENGER, promote
    from ferryml.pipeline import current_actor
    from ferryml.training.project import train_project

    asked = sorted({alert.rule for alert in alerts if alert.retrain})
    if not asked:
        return None
    held = retraining_held(context, now)
    if held is not None:
        return Retraining(asked, skipped=held)
    state = SharedState(context.engine, context.workspace.project)
    state.write(LAST_RETRAIN, now.isoformat(), actor="monitor")  # before: a crash waits too
    training = train_project(context, register=False, progress=progress)
    runs = [model.run_id for model in training.result.models]
    session = gate_runs(context, runs, progress=progress)
    failed = {
        report.candidate.label: list(report.failed_gates)
        for report in session.reports
        if not report.passed
    }
    challenger = None
    if session.best is not None and session.best.candidate.run_id:
        challenger = promote(context, session.best.candidate.run_id, alias=CHALLENGER).version
    context.audit.append(
        current_actor(),
        "monitor.retrain",
        context.workspace.project,
        {"asked_by": asked, "runs": runs, "challenger": challenger, "failed_gates": failed},
    )
    return Retraining(asked, runs=runs, challenger=challenger, failed_gates=failed)


__all__ = ["LAST_RETRAIN", "Retraining", "retrain_if_asked", "retraining_held"]
