"""The ``governance`` section of the project config: the audit trail, GDPR and policy.

Each sub-section is strict (unknown keys are errors) like every config section.
"""

from __future__ import annotations

from pydantic import Field

from ferryml.config.base import StrictModel
from ferryml.explain.reasons import ReasonText


class AuditConfig(StrictModel):
    """How the audit trail is keyed and where its head is checkpointed."""


class GdprConfig(StrictModel):
    """Personal data: allow-listed features, purposes, retention, erasure."""


class PolicyConfig(StrictModel):
    """The governance framework as configuration: risk tier, roles, what promotion needs."""


class GovernanceConfig(StrictModel):
    """Audit trail, GDPR and the governance policy."""

    audit: AuditConfig = Field(default_factory=AuditConfig)
    gdpr: GdprConfig = Field(default_factory=GdprConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    reasons: dict[str, ReasonText] = Field(
        default_factory=dict,
        description="Reason-code sentences by feature (`{value}` is the row's value); features "
        "without one are explained from their description. Reviewed with each model: its card "
        "prints the catalogue.",
    )


__all__ = ["AuditConfig", "GdprConfig", "GovernanceConfig", "PolicyConfig"]
