"""Storage limitation: delete (or anonymize) what is older than its retention.

``governance.gdpr.retention`` gives days per dataset (by event time: raw files, dataset
versions, quarantine, feature builds) and for the prediction log (records by answer time, labels
by arrival). ``retain`` applies them as of the project's clock::

    plan = retention_plan(context)                 # what would change (a dry run)
    done = retain(context)                         # change it; an audit entry records it

Dataset versions rewritten by retention become new versions exactly as erasures do (old → new
in lineage). ``anonymize`` keeps expired rows with their subject, id, entity and PII columns
emptied, so counts and aggregates stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ferryml.errors import ConfigError
from ferryml.governance.gdpr.selection import OlderThan
from ferryml.governance.gdpr.stores import Erased, Location, Scope, open_stores

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

RETAIN_ACTION = "gdpr.retain"
PREDICTION_LOG = "prediction log"


@dataclass(frozen=True)
class RetentionRule:
    """One retention: what it covers, from when data expires, what happens to it."""

    target: str
    """A dataset name, or :data:`PREDICTION_LOG`."""
    days: int
    cutoff: datetime
    selection: OlderThan


@dataclass
class RetentionResult:
    """What a retention run changed, per rule and store."""

    as_of: datetime
    changes: dict[str, list[Erased]] = field(default_factory=dict)
    replaced: dict[str, str] = field(default_factory=dict)

    @property
    def items(self) -> int:
        return sum(e.items for results in self.changes.values() for e in results)


def retention_plan(context: ProjectContext) -> list[RetentionRule]:
    """The retention rules of the project as of its clock (empty: nothing is limited)."""
    config = context.loaded.config
    retention = config.governance.gdpr.retention
    now = context.clock.now()
    times = config.schema_.columns_with_role("event_time")
    unknown = [name for name in retention.datasets if name not in config.data.sources]
    if unknown:
        raise ConfigError(
            f"governance.gdpr.retention.datasets names {unknown}, which data.sources lacks",
            hint=f"declared datasets: {', '.join(config.data.sources) or 'none'}",
        )
    blank = _blank_columns(context)
    rules = []
    for dataset, days in sorted(retention.datasets.items()):
        cutoff = now - timedelta(days=days)
        selection = OlderThan(times[0], cutoff, action=retention.action, blank=blank)
        rules.append(RetentionRule(dataset, days, cutoff, selection))
    if retention.prediction_log_days is not None:
        days = retention.prediction_log_days
        cutoff = now - timedelta(days=days)
        rules.append(RetentionRule(PREDICTION_LOG, days, cutoff, OlderThan("ts", cutoff)))
    return rules


def expired_data(context: ProjectContext) -> dict[str, list[Location]]:
    """Per retention rule: where data past retention is (what :func:`retain` would change)."""
    scope = Scope(context, operation_id="retain-dry-run")
    try:
        stores = open_stores(scope)
        return {
            rule.target: [
                location
                for store in stores
                for location in store.expired(
                    rule.selection, None if rule.target == PREDICTION_LOG else rule.target
                )
            ]
            for rule in retention_plan(context)
        }
    finally:
        scope.close()


def retain(context: ProjectContext, *, actor: str = "user:unknown") -> RetentionResult:
    """Apply every retention rule; record the run on the audit trail."""
    rules = retention_plan(context)
    now = context.clock.now()
    result = RetentionResult(as_of=now)
    scope = Scope(context, operation_id=f"retain-{now:%Y%m%dT%H%M%S}")
    try:
        stores = open_stores(scope)
        for rule in rules:
            dataset = None if rule.target == PREDICTION_LOG else rule.target
            done = [store.expire(rule.selection, dataset) for store in stores]
            result.changes[rule.target] = [e for e in done if e.items or e.pending]
            for erased in done:
                result.replaced.update(erased.details.get("replaced", {}))
    finally:
        scope.close()
    if result.items:
        from ferryml.governance.gdpr.erase import compact_platform_db

        compact_platform_db(context)
    context.audit.append(
        actor,
        RETAIN_ACTION,
        f"project/{context.workspace.project}",
        {
            "as_of": now.isoformat(),
            "rules": {r.target: {"days": r.days, "cutoff": r.cutoff.isoformat()} for r in rules},
            "items": {
                target: {e.store: e.items for e in changes}
                for target, changes in result.changes.items()
            },
            "datasets": result.replaced,
        },
    )
    return result


def _blank_columns(context: ProjectContext) -> frozenset[str]:
    """What anonymization empties: subject, id, entity and PII columns."""
    config = context.loaded.config
    schema = config.schema_
    return frozenset(
        {
            *config.governance.gdpr.subject_columns,
            *schema.columns_with_role("id"),
            *schema.columns_with_role("entity"),
            *schema.pii_columns,
        }
    )


__all__ = [
    "PREDICTION_LOG",
    "RETAIN_ACTION",
    "RetentionResult",
    "RetentionRule",
    "expired_data",
    "retain",
    "retention_plan",
]
