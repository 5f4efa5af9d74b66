"""What ``ferry quickstart`` does in place of people, so that a high-risk lifecycle runs end to
end on one laptop: it produces the artifacts the policy requires (an explanation report) and
records stand-in approvals, each labelled as such on the version and the audit trail.

A real project never calls this: its people run ``ferry explain`` and ``ferry approve``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ferryml.governance.policy import Approval
    from ferryml.pipeline import ProjectContext


@dataclass(frozen=True)
class StandIn:
    """What the quickstart provided for one version."""

    version: str
    explanation: Path | None = None
    approvals: list[Approval] = field(default_factory=list)


def meet_policy_as_stand_in(context: ProjectContext, run_id: str) -> StandIn:
    """Register ``run_id``'s model (if it is not yet), explain it if the policy requires an
    explanation report, and approve it with stand-in identities as often as it requires."""
    from ferryml.evaluation.loading import check_run_id, get_run
    from ferryml.evaluation.promotion import registered_version
    from ferryml.governance.policy import stand_in_approvals
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    required = context.loaded.config.governance.policy.required()
    tracker = tracker_for(context.loaded, context.workspace.root)
    registry = ModelRegistry(tracker, context.loaded.config.project.name)
    version = registered_version(context, registry, get_run(tracker, check_run_id(run_id)))
    explanation = None
    if required.explanation_report:
        from ferryml.explain.project import explain_project

        explanation = explain_project(context, version=version.version).html
    approvals = stand_in_approvals(context, registry, version) if required.approvals else []
    return StandIn(version.version, explanation, approvals)


__all__ = ["StandIn", "meet_policy_as_stand_in"]
