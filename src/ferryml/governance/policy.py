"""The governance policy in the lifecycle: who may approve a model version, and what a version
must have before it becomes the champion.

The policy itself is configuration (``governance.policy``: the use case and its risk tier, the
ethical position, the roles, the requirements per tier). This module enforces it:

- :func:`approve` records an approval on the version (the MLflow tag ``ferryml.approvals``)
  and on the audit trail. The approver is the acting identity, must not be the model's owner
  and, when approvers are named, must be one of them; one approval per person.
- :func:`missing_for_promotion` lists what the project's tier requires and the version lacks
  (approvals, its model card, an explanation report, a passed fairness gate);
  :func:`require_promotable` refuses the promotion naming each, with the command that fixes it.

The owner is ``governance.policy.roles.owner`` when set, else whoever registered the version
(the tag ``ferryml.registered_by``, written at registration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ferryml.errors import PolicyViolationError

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext
    from ferryml.registry import ModelRegistry, RegisteredVersion

APPROVALS_TAG = "ferryml.approvals"
REGISTERED_BY_TAG = "ferryml.registered_by"


@dataclass(frozen=True)
class Approval:
    """One person's approval of one model version."""

    approver: str
    at: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {"approver": self.approver, "at": self.at, "note": self.note}


def approvals_of(version: RegisteredVersion) -> list[Approval]:
    """The approvals recorded on ``version``, oldest first."""
    raw = version.tags.get(APPROVALS_TAG)
    if not raw:
        return []
    return [Approval(a["approver"], a["at"], a.get("note", "")) for a in json.loads(raw)]


def owner_of(context: ProjectContext, registry: ModelRegistry, version: RegisteredVersion) -> str:
    """Who answers for ``version``: the policy's owner, else who registered it."""
    configured = context.loaded.config.governance.policy.roles.owner
    if configured:
        return configured
    return version.tags.get(REGISTERED_BY_TAG) or "unknown"


def approve(
    context: ProjectContext,
    registry: ModelRegistry,
    version: str,
    *,
    approver: str,
    note: str = "",
) -> Approval:
    """Record ``approver``'s approval of ``version`` (after reading its model card)."""
    from ferryml.training.tracking import mlflow_errors

    registered = registry.get(version)
    roles = context.loaded.config.governance.policy.roles
    owner = owner_of(context, registry, registered)
    where = f"{registry.name}@{registered.version}"
    if approver == owner:
        raise PolicyViolationError(
            f"{approver} owns {where} and may not approve it: approval is a second pair of eyes",
            hint="ask an approver other than the owner"
            + (f" ({', '.join(roles.approvers)})" if roles.approvers else ""),
        )
    if roles.approvers and approver not in roles.approvers:
        raise PolicyViolationError(
            f"{approver} is not an approver of project {context.workspace.project!r}",
            hint=f"approvers: {', '.join(roles.approvers)} (governance.policy.roles.approvers)",
        )
    existing = approvals_of(registered)
    if any(a.approver == approver for a in existing):
        raise PolicyViolationError(f"{approver} has already approved {where}")
    approval = Approval(approver, context.clock.now().isoformat(timespec="seconds"), note.strip())
    recorded = json.dumps([a.as_dict() for a in (*existing, approval)])
    with mlflow_errors(registry.tracker.uri, f"record the approval of {where}"):
        registry.tracker.client.set_model_version_tag(
            registry.name, registered.version, APPROVALS_TAG, recorded
        )
    context.audit.append(
        approver,
        "model.approve",
        where,
        {"owner": owner, "note": approval.note, "approvals": len(existing) + 1},
    )
    return approval


def missing_for_promotion(
    context: ProjectContext, registry: ModelRegistry, version: RegisteredVersion
) -> list[str]:
    """What the project's risk tier requires of a champion and ``version`` lacks, each with
    the command that provides it (empty: it may be promoted)."""
    from ferryml.governance.card import CARD_ARTIFACTS, EXPLAIN_ARTIFACTS

    policy = context.loaded.config.governance.policy
    required = policy.required()
    tier = policy.use_case.risk_tier
    where = f"{registry.name}@{version.version}"
    missing = []
    approvals = len(approvals_of(version))
    if approvals < required.approvals:
        missing.append(
            f"{required.approvals} approval(s) for a {tier}-risk model, it has {approvals} "
            f"(`ferry approve {version.version}` by an approver other than its owner)"
        )
    artifacts: set[str] = set()
    if version.run_id is not None:
        listed = registry.tracker.client.list_artifacts(version.run_id)
        artifacts = {entry.path.split("/")[0] for entry in listed}
    if required.model_card and CARD_ARTIFACTS not in artifacts:
        missing.append(f"its model card (`ferry card {version.version}`)")
    if required.explanation_report and not any(a.startswith(EXPLAIN_ARTIFACTS) for a in artifacts):
        missing.append(f"an explanation report (`ferry explain --version {version.version}`)")
    if required.fairness_gate:
        fairness = None
        if version.run_id is not None:
            fairness = registry.tracker.get_run(version.run_id).data.tags.get(
                "ferryml.gate.fairness"
            )
        if fairness != "passed":
            missing.append(
                f"a passed fairness gate (its fairness gate: {fairness or 'not run'}; "
                f"`ferry gate RUN_ID` with gates.fairness configured) for {where}"
            )
    return missing


def require_promotable(
    context: ProjectContext, registry: ModelRegistry, version: RegisteredVersion
) -> None:
    """Refuse the promotion of ``version`` to champion unless the policy is met."""
    missing = missing_for_promotion(context, registry, version)
    if missing:
        tier = context.loaded.config.governance.policy.use_case.risk_tier
        raise PolicyViolationError(
            f"{registry.name}@{version.version} may not become the champion of this "
            f"{tier}-risk project; it lacks: " + "; ".join(missing),
            hint="provide each, then promote again (governance.policy.requirements sets what "
            "each risk tier needs)",
        )


STAND_IN = "demo:approver-{n}"


def stand_in_approvals(
    context: ProjectContext, registry: ModelRegistry, version: RegisteredVersion
) -> list[Approval]:
    """Approvals by stand-in identities (``demo:approver-1``, …), as many as the policy asks:
    only ``ferry quickstart`` uses this, to show the approval step of a high-risk lifecycle
    without a second person at the keyboard. Each is marked as a stand-in, on the version
    and on the audit trail."""
    required = context.loaded.config.governance.policy.required().approvals
    have = {approval.approver for approval in approvals_of(version)}
    made = []
    for n in range(1, required + 1):
        approver = STAND_IN.format(n=n)
        if approver not in have and len(have) < required:
            note = "stand-in approval by ferry quickstart (a demo, not a person)"
            made.append(approve(context, registry, version.version, approver=approver, note=note))
            have.add(approver)
    return made


__all__ = [
    "APPROVALS_TAG",
    "REGISTERED_BY_TAG",
    "STAND_IN",
    "Approval",
    "approvals_of",
    "approve",
    "missing_for_promotion",
    "owner_of",
    "require_promotable",
    "stand_in_approvals",
]
