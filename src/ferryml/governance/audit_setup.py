"""A project's audit trail as its config describes it: key, checkpoints, config changes.

:func:`project_audit_trail` is what :class:`~ferryml.pipeline.ProjectContext` opens: the key
from ``governance.audit`` (loaded when first needed), the checkpoint file in the workspace, the
MLflow tag on the project's experiment, and :func:`record_config` before the trail's first
append, so every action on the trail follows an entry naming the config it ran under::

    trail = project_audit_trail(engine, loaded, workspace.root, clock=clock, actor=whoami)
    trail.append(whoami(), "data.ingest", "transactions@3f2a…", {"rows": 10})
    # → config.change (if the config's sha256 differs from the last one recorded), data.ingest
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import yaml
from sqlalchemy import Engine

from ferryml.clock import Clock
from ferryml.config.loader import LoadedConfig
from ferryml.governance.audit import AuditEntry, AuditTrail
from ferryml.governance.audit_checkpoint import FileCheckpoint, HeadCheckpoint, MlflowCheckpoint
from ferryml.governance.audit_key import audit_key_source, create_audit_key_file

CONFIG_ACTION = "config.change"


def project_audit_trail(
    engine: Engine,
    loaded: LoadedConfig,
    root: Path,
    *,
    clock: Clock,
    actor: Callable[[], str],
) -> AuditTrail:
    """The project's trail, keyed and checkpointed as ``governance.audit`` says."""
    config = loaded.config
    settings = config.governance.audit
    checkpoints: list[HeadCheckpoint] = []
    lock = root / ".ferryml-audit-head.lock"
    if settings.checkpoint_file is not None:
        file = FileCheckpoint(root / settings.checkpoint_file)
        checkpoints.append(file)
        lock = file.lock_path
    if settings.mlflow_checkpoint:
        from ferryml.training.tracking import default_tracking_uri

        tracking = config.training.tracking
        uri = tracking.uri or default_tracking_uri(root)
        experiment = tracking.experiment or config.project.name
        checkpoints.append(MlflowCheckpoint(uri, experiment, lock=lock))
    # The key loader asks the trail (bound below; called only later) whether it holds keyed
    # entries, before it creates a missing key file.
    key = audit_key_source(settings, root, has_keyed_entries=lambda: trail.has_keyed_entries())
    trail = AuditTrail(
        engine,
        config.project.name,
        clock=clock,
        key=key,
        checkpoints=checkpoints,
        before_first_append=lambda opened: record_config(opened, loaded, actor()),
    )
    return trail


def create_key_file(loaded: LoadedConfig, root: Path) -> Path | None:
    """For a new workspace: its audit key file, unless the key comes from the environment or
    one exists; the path when this call created it."""
    settings = loaded.config.governance.audit
    if settings.key_file is None:
        return None
    path = root / settings.key_file
    return path if create_audit_key_file(path) else None


def config_sha256(loaded: LoadedConfig) -> str:
    """The sha256 of the merged config (YAML, environment, --set), computed as the
    ``config_sha256`` lineage tag of training runs is: the two can be matched."""
    text = yaml.safe_dump(loaded.config.model_dump(mode="json", by_alias=True), sort_keys=False)
    return hashlib.sha256(text.encode()).hexdigest()


def record_config(trail: AuditTrail, loaded: LoadedConfig, actor: str) -> AuditEntry | None:
    """Append ``config.change`` when the config differs from the last one recorded (one
    indexed query otherwise); the entry names the config's source and both hashes."""
    digest = config_sha256(loaded)
    last = trail.find(action=CONFIG_ACTION, limit=1)
    previous = last[0].details.get("config_sha256") if last else None
    if previous == digest:
        return None
    return trail.append(
        actor, CONFIG_ACTION, loaded.source, {"config_sha256": digest, "previous_sha256": previous}
    )


def flush_at_exit(trail: AuditTrail) -> list[str]:
    """At the end of a command: write the deferred checkpoints (the MLflow tag) when the
    process has loaded MLflow anyway. Importing MLflow costs more than a second, which a
    command that never used it (ingest, validate) should not pay for a tag; the file
    checkpoint is current after every append regardless."""
    return trail.flush() if "mlflow" in sys.modules else []  # flush logs its own failures


__all__ = [
    "CONFIG_ACTION",
    "config_sha256",
    "create_key_file",
    "flush_at_exit",
    "project_audit_trail",
    "record_config",
]
