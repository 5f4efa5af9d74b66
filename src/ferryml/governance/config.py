"""The ``governance`` section of the project config: the audit trail, GDPR and policy.

Each sub-section is strict (unknown keys are errors) like every config section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt

from ferryml.config.base import StrictModel
from ferryml.explain.reasons import ReasonText


class AuditConfig(StrictModel):
    """How the audit trail is keyed and where its head is checkpointed.

    The key signs every entry (HMAC-SHA256), so a chain rewritten without it fails
    verification; the head checkpoints, kept outside the platform DB, reveal a deleted tail.
    See ``docs/audit.md``.
    """

    key_env: str = Field(
        default="FERRY_AUDIT_KEY",
        min_length=1,
        description="Environment variable holding the audit key; when set it wins over the file.",
    )
    key_file: Path | None = Field(
        default=Path(".secrets/audit.key"),
        description="File holding the audit key (relative to paths.root); `ferry init` creates "
        "it (mode 600). Not the PII key: each key has one purpose.",
    )
    checkpoint_file: Path | None = Field(
        default=Path(".ferryml-audit-head.json"),
        description="File (relative to paths.root) holding the newest (seq, hash) of the chain, "
        "moved forward after every append; null turns it off (the MLflow tag remains).",
    )
    mlflow_checkpoint: bool = Field(
        default=True,
        description="Also keep the head as the tag `ferryml.audit_head` of the project's MLflow "
        "experiment (written by `ferry audit verify|anchor` and at the end of commands that "
        "use MLflow).",
    )


class RetentionConfig(StrictModel):
    """Storage limitation: how long data is kept, in days (``ferry gdpr retain`` enforces it)."""

    datasets: dict[str, PositiveInt] = Field(
        default_factory=dict,
        description="Per dataset: days its events are kept, by event time (raw files, dataset "
        "versions, quarantine, feature builds). A dataset left out is kept.",
    )
    prediction_log_days: int | None = Field(
        default=None,
        ge=1,
        description="Days prediction records (and the labels of their events) are kept; "
        "unset: kept.",
    )
    action: Literal["delete", "anonymize"] = Field(
        default="delete",
        description="`delete` removes rows past retention; `anonymize` keeps them with the "
        "subject, entity, id and PII columns emptied (aggregates stay usable).",
    )


class GdprConfig(StrictModel):
    """Personal data: who a data subject is, allow-listed features, purposes, retention.

    See ``docs/gdpr.md``; ``ferry gdpr erase|export|retain|check`` act on it.
    """

    subject_columns: list[str] = Field(
        default_factory=list,
        description="Columns whose value identifies a data subject (a person), e.g. "
        "[customer_id]: `ferry gdpr erase|export --subject ID` select the rows holding ID, or "
        "its pseudonym for a `pii: true` column, in any of them. Empty: those commands refuse.",
    )
    allowed_features: list[str] | None = Field(
        default=None,
        description="Data minimization: the features a model may use (names or globs such as "
        "`customer_amount_*`); features outside the list are refused. Unset: no allow-list.",
    )
    purposes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Purpose limitation: per dataset, the purposes its data was collected for.",
    )
    training_purpose: str | None = Field(
        default=None,
        description="The purpose this project's models serve; training on a dataset whose "
        "purposes lack it is refused. Unset: no purpose check.",
    )
    retention: RetentionConfig = Field(default_factory=RetentionConfig)


RiskTier = Literal["minimal", "limited", "high"]


class UseCase(StrictModel):
    """Step 1 of the governance framework: what the model decides, about whom, how risky."""

    description: str = Field(default="", description="What the model is for, in one line.")
    decisions: Literal["automated", "assisted"] = Field(
        default="automated",
        description="`automated`: its decision takes effect; `assisted`: a person decides.",
    )
    affects_individuals: bool = Field(
        default=True, description="Decisions about people (GDPR art. 22 applies when automated)."
    )
    risk_tier: RiskTier = Field(
        default="minimal",
        description="minimal | limited | high: which of `requirements` promotion must meet.",
    )
    limitations: list[str] = Field(
        default_factory=list, description="Known limits, printed on every model card."
    )
    out_of_scope: list[str] = Field(
        default_factory=list, description="Uses the model must not be put to."
    )


class Roles(StrictModel):
    """Step 3: who answers for the model. Identities as the audit trail writes them
    (``user:NAME``; ``FERRY_ACTOR`` sets it where the OS user is not the person)."""

    owner: str | None = Field(
        default=None,
        description="Answers for the models; unset: whoever registered the version. May not "
        "approve its own models.",
    )
    reviewers: list[str] = Field(default_factory=list, description="Review the model cards.")
    approvers: list[str] = Field(
        default_factory=list,
        description="May approve a promotion; empty: anyone but the owner.",
    )


class Requirements(StrictModel):
    """Step 4: what a model version must have before it becomes the champion."""

    approvals: int = Field(
        default=0, ge=0, le=10, description="Approvals by distinct approvers (`ferry approve`)."
    )
    model_card: bool = Field(default=True, description="A model card stored with the version.")
    explanation_report: bool = Field(
        default=False, description="An explanation report on its run (`ferry explain`)."
    )
    fairness_gate: bool = Field(
        default=False, description="The fairness gate ran and passed on its run."
    )


def _default_requirements() -> dict[RiskTier, Requirements]:
    return {
        "minimal": Requirements(),
        "limited": Requirements(fairness_gate=True),
        "high": Requirements(approvals=1, explanation_report=True, fairness_gate=True),
    }


class PolicyConfig(StrictModel):
    """The governance framework as configuration: the use case and its risk tier, the
    ethical position, the roles, and what promotion to champion requires per tier."""

    use_case: UseCase = Field(default_factory=UseCase)
    ethics: list[str] = Field(
        default_factory=list,
        description="Step 2: the ethical position, as statements the model card prints.",
    )
    roles: Roles = Field(default_factory=Roles)
    requirements: dict[RiskTier, Requirements] = Field(
        default_factory=_default_requirements,
        description="Per risk tier; a tier left out requires nothing but a model card.",
    )
    review_every_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Step 8: a champion approved longer ago than this is due for review "
        "(`ferry governance review`).",
    )

    def required(self) -> Requirements:
        """What the project's risk tier requires."""
        return self.requirements.get(self.use_case.risk_tier, Requirements())


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


__all__ = [
    "AuditConfig",
    "GdprConfig",
    "GovernanceConfig",
    "PolicyConfig",
    "Requirements",
    "RetentionConfig",
    "RiskTier",
    "Roles",
    "UseCase",
]
