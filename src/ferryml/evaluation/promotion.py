"""Promotion: a model becomes the champion only when its gates passed against the current one.

An override is possible, never silent: it needs a written reason, which is kept on the model
version (``ferryml.promotion_override``) and on the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryml.errors import InvalidInputError
from ferryml.evaluation.loading import champion_version, check_run_id, get_run, run_tag
from ferryml.evaluation.project import GATES_CHAMPION_TAG, GATES_TAG
from ferryml.registry import ModelRegistry, RegisteredVersion
from ferryml.training.tracking import TAG_PREFIX, mlflow_errors

if TYPE_CHECKING:
    from mlflow.entities import Run

    from ferryml.pipeline import ProjectContext

CHALLENGER = "challenger"


def promote(
    context: ProjectContext,
    run_id: str,
    *,
    override_reason: str | None = None,
    alias: str = "champion",
) -> RegisteredVersion:
    """Make ``run_id``'s model the champion (or give it another ``alias``, e.g. the
    challenger): only if its gates passed against the current champion, or with a written
    ``override_reason`` (recorded on the version and the audit trail)."""
    from ferryml.governance.card import write_card
    from ferryml.governance.policy import require_promotable
    from ferryml.pipeline import current_actor
    from ferryml.training.project import tracker_for

    loaded = context.loaded
    tracker = tracker_for(loaded, context.workspace.root)
    run = get_run(tracker, check_run_id(run_id))
    registry = ModelRegistry(tracker, loaded.config.project.name)
    current = champion_version(registry, alias)
    # what the gates compared the run with
    champion = champion_version(registry, loaded.config.gates.champion.alias)
    verdict = run.data.tags.get(GATES_TAG)
    gated_against = run.data.tags.get(GATES_CHAMPION_TAG)
    problem = None
    if verdict is None:
        problem = "its gates never ran (`ferry gate RUN_ID`)"
    elif verdict != "passed":
        failed = run.data.tags.get(GATES_TAG + ".failed", "")
        problem = f"its gates failed ({failed})"
    elif gated_against != champion:
        problem = (
            f"it was gated against champion {gated_against}, but the champion is now {champion}: "
            "gate it again"
        )
    reason = (override_reason or "").strip()
    if problem and not reason:
        raise InvalidInputError(
            f"run {run_id} may not be promoted: {problem}",
            hint="fix the model and gate it again, or promote with --override-reason "
            "'why this is acceptable' (recorded on the audit trail)",
        )
    if override_reason is not None and len(reason) < 10:
        raise InvalidInputError(
            "an override needs a written reason of at least 10 characters",
            hint="say why shipping despite the gates is acceptable, and who decided",
        )
    version = registered_version(context, registry, run)
    if alias == loaded.config.gates.champion.alias:
        require_promotable(context, registry, version)
    if problem:
        with mlflow_errors(tracker.uri, "record the override"):
            tracker.client.set_model_version_tag(
                registry.name, version.version, TAG_PREFIX + "promotion_override", reason[:5000]
            )
    registry.set_alias(alias, version.version)
    if alias != CHALLENGER and registry.alias_version(CHALLENGER) == version.version:
        registry.remove_alias(CHALLENGER)
    context.audit.append(
        current_actor(),
        "model.promote",
        f"{registry.name}@{version.version}",
        {
            "alias": alias,
            "run": run_id,
            "previous": current,
            "gates": verdict or "not run",
            "override_reason": reason if problem else None,
        },
    )
    write_card(context, registry, version.version)  # its aliases changed
    return registry.get(version.version)


def registered_version(
    context: ProjectContext, registry: ModelRegistry, run: Run
) -> RegisteredVersion:
    """The version registered from ``run``: the newest one, or a new one with its card (a
    version to approve before promotion, when the policy asks for approvals)."""
    from ferryml.governance.card import write_card
    from ferryml.governance.policy import REGISTERED_BY_TAG
    from ferryml.pipeline import current_actor

    run_id = run.info.run_id
    version = registry.version_of_run(run_id)
    if version is not None:
        return version
    version = registry.register(
        run_tag(run, "model_uri"),
        run_tag(run, "model_sha256"),
        run_id=run_id,
        tags={
            TAG_PREFIX + "model_kind": run_tag(run, "model_kind"),
            TAG_PREFIX + "threshold": run_tag(run, "threshold"),
            TAG_PREFIX + "training_id": run.data.tags.get(TAG_PREFIX + "training_id", ""),
            REGISTERED_BY_TAG: current_actor(),
        },
    )
    context.audit.append(
        current_actor(), "model.register", f"{registry.name}@{version.version}", {"run": run_id}
    )
    write_card(context, registry, version.version)
    return version


__all__ = ["promote", "registered_version"]
