"""The lifecycle as composed steps, shared by ``ferry generate`` and ``ferry quickstart``.

Each step does real work and records itself on the project's audit trail. Steps take their
clock and their progress callback from the caller, so replays run on event time and the CLI
draws the progress bars.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ferryml.clock import Clock, SystemClock
from ferryml.config.loader import LoadedConfig
from ferryml.data.synth import SynthManifest, generate
from ferryml.governance.audit import AuditTrail
from ferryml.storage.db import make_engine, upgrade
from ferryml.workspace import Workspace

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


def current_actor() -> str:
    """Who is acting, for the audit trail: the OS user running the command."""
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "user:unknown"


@dataclass
class ProjectContext:
    """A loaded config with its workspace, platform DB and audit trail opened once."""

    loaded: LoadedConfig
    workspace: Workspace
    audit: AuditTrail
    clock: Clock

    @classmethod
    def open(
        cls, loaded: LoadedConfig, clock: Clock | None = None, *, create: bool = True
    ) -> ProjectContext:
        """Open the project; ``create=False`` (for read-only commands) requires its workspace."""
        clock = clock or SystemClock()
        workspace = Workspace.from_config(loaded)
        if create:
            workspace.create_layout()
        else:
            workspace.require_existing()
        engine = make_engine(workspace.database_url)
        upgrade(engine)
        audit = AuditTrail(engine, workspace.project, clock=clock)
        return cls(loaded=loaded, workspace=workspace, audit=audit, clock=clock)


def generate_data(
    context: ProjectContext, out_dir: Path | None = None, progress: Progress | None = None
) -> SynthManifest:
    """Generate the project's synthetic data into ``out_dir`` (default: ``raw/synth``)."""
    target = out_dir or context.workspace.raw / "synth"
    log.info("generating synthetic data", extra={"out_dir": str(target)})
    manifest = generate(
        context.loaded.config.data.synth, target, progress=progress, clock=context.clock
    )
    context.audit.append(
        current_actor(),
        "data.generate",
        str(target),
        {
            "rows": dict(manifest.rows),
            "fraud_rate": manifest.fraud_rate,
            "scenarios": list(manifest.active_scenarios),
            "config_source": context.loaded.source,
        },
    )
    log.info(
        "generated synthetic data",
        extra={"rows": dict(manifest.rows), "fraud_rate": manifest.fraud_rate},
    )
    return manifest
