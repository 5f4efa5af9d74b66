"""The lifecycle as composed steps, shared by ``ferry generate`` and ``ferry quickstart``.

Each step does real work and records itself on the project's audit trail. Steps take their
clock and their progress callback from the caller, so replays run on event time and the CLI
draws the progress bars.
"""

from __future__ import annotations

import difflib
import getpass
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ferryml.clock import Clock, SystemClock
from ferryml.config.loader import LoadedConfig
from ferryml.data.ingest.job import (
    IngestResult,
    RowProgress,
    Validation,
    ingest_dataset,
    reference_table,
)
from ferryml.data.pseudonymize import load_pii_key
from ferryml.data.synth import SynthManifest, generate
from ferryml.data.validate import (
    ChunkValidator,
    ValidationSummary,
    validate_stored,
    write_summary,
)
from ferryml.data.versioning import DatasetStore, DatasetVersion
from ferryml.errors import ConfigError, DataError, FerryError
from ferryml.governance.audit import AuditTrail
from ferryml.governance.audit_setup import create_key_file, flush_at_exit, project_audit_trail
from ferryml.relocation import relocate
from ferryml.storage.db import make_engine, upgrade
from ferryml.workspace import Workspace, create_pii_key_file

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ferryml.features.build import FeatureBuild
    from ferryml.features.dfs import DiscoveryResult
    from ferryml.features.project_store import Materialized, ProjectFeatureStore

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


ACTOR_ENV = "FERRY_ACTOR"


def current_actor() -> str:
    """Who is acting, for the audit trail and approvals: ``$FERRY_ACTOR`` when set (a CI job
    or a single-sign-on wrapper names the person), else the OS user running the command."""
    named = os.environ.get(ACTOR_ENV, "").strip()
    if named:
        return named
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
    datasets: DatasetStore
    clock: Clock
    engine: Engine
    """The platform DB, shared by the audit trail, the datasets and whoever else needs it."""

    def close(self) -> None:
        """Close the platform DB's pooled connections; the context is not used afterwards.

        A one-shot command may leave this to the process's end; a long-lived process opening
        several contexts (a server, a test session) must not. The audit head goes to the
        MLflow checkpoint first, when this process loaded MLflow anyway."""
        flush_at_exit(self.audit)
        self.engine.dispose()

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
        audit = project_audit_trail(
            engine, loaded, workspace.root, clock=clock, actor=current_actor
        )
        datasets = DatasetStore(engine, workspace.project, workspace.processed, clock=clock)
        moved_from = relocate(loaded, workspace.root)
        if moved_from is not None:
            log.info("workspace moved", extra={"from": str(moved_from), "to": str(workspace.root)})
            audit.append(
                current_actor(),
                "workspace.relocate",
                str(workspace.root),
                {"from": str(moved_from)},
            )
        return cls(
            loaded=loaded,
            workspace=workspace,
            audit=audit,
            datasets=datasets,
            clock=clock,
            engine=engine,
        )


def report_stamp(context: ProjectContext) -> str:
    """A report's time in its name, to the microsecond: two reports of one second must not
    share a directory (the second would overwrite the first)."""
    return context.clock.now().strftime("%Y%m%dT%H%M%S.%fZ")


def record_new_workspace(context: ProjectContext) -> None:
    """For a workspace ``ferry init``/``quickstart`` just made: its PII and audit keys and
    audit entry.

    Only here is a PII key file created: elsewhere a missing key is an error, since a new key
    silently gives new pseudonyms that no longer join with the old ones. (An audit key file
    is also created for an older workspace, before its first keyed entry: see
    :mod:`ferryml.governance.audit_key`.)
    """
    key_file = context.loaded.config.data.ingest.pii_key_file
    if key_file is not None and create_pii_key_file(context.workspace.root / key_file):
        log.info("created a PII key file", extra={"path": str(context.workspace.root / key_file)})
    audit_key = create_key_file(context.loaded, context.workspace.root)
    if audit_key is not None:
        log.info("created the audit key file", extra={"path": str(audit_key)})
    context.audit.append(current_actor(), "workspace.init", str(context.workspace.root), {})


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
            "positive_rate": manifest.positive_rate,
            "scenarios": list(manifest.active_scenarios),
            "config_source": context.loaded.source,
        },
    )
    log.info(
        "generated synthetic data",
        extra={"rows": dict(manifest.rows), "positive_rate": manifest.positive_rate},
    )
    return manifest


def ingest_data(
    context: ProjectContext,
    dataset: str | None = None,
    progress: RowProgress | None = None,
    *,
    as_of: datetime | None = None,
) -> IngestResult:
    """Ingest one declared source (the only one when ``dataset`` is None) as a dataset version.

    ``as_of`` is "now" for rules such as not-in-future (default: the context's clock); a replay
    passes the event time it has reached.
    """
    config = context.loaded.config
    name = _source_name(config.data.sources, dataset)
    pii_key = _pii_key(context) if config.schema_.pii_columns else None
    validation = None
    if config.validation.rules:
        validation = Validation(
            validator=ChunkValidator(config.validation, config.schema_),
            as_of=as_of or context.clock.now(),
            quarantine_root=context.workspace.quarantine,
            reports_root=context.workspace.reports / "validation",
        )
    log.info("ingesting", extra={"dataset": name})
    try:
        result = ingest_dataset(
            name,
            config.data.sources[name],
            base_dir=context.workspace.root,
            schema=config.schema_,
            store=context.datasets,
            chunk_rows=config.data.ingest.chunk_rows,
            pii_key=pii_key,
            validation=validation,
            progress=progress,
        )
    except FerryError as exc:  # a refused ingestion is on the record too
        context.audit.append(current_actor(), "data.ingest.refused", name, {"error": exc.message})
        raise
    context.audit.append(
        current_actor(),
        "data.ingest",
        result.version.ref,
        {
            "rows": result.rows,
            "created": result.created,
            "content_hash": result.version.content_hash,
            "source": result.source,
        },
    )
    if result.validation is not None:
        summary = result.validation
        context.audit.append(
            current_actor(),
            "data.validate",
            result.version.ref,
            {
                "suite": summary.suite_name,
                "rows_in": summary.rows_in,
                "accepted": summary.accepted,
                "quarantined": summary.quarantined,
                "failed_rules": [r.rule for r in summary.rules if r.status == "failed"],
            },
        )
    return result


def _source_name(sources: Mapping[str, object], dataset: str | None) -> str:
    if dataset is not None and dataset in sources:
        return dataset
    names = sorted(sources)
    if dataset is None and len(names) == 1:
        return names[0]
    if not names:
        raise ConfigError(
            "the config declares no data sources",
            hint="add one under data.sources, e.g. transactions: {format: parquet, path: ...}",
        )
    close = difflib.get_close_matches(dataset or "", names, n=1)
    asked = "no dataset was named" if dataset is None else f"no source named {dataset!r}"
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"{asked}; data.sources declares {', '.join(names)}", hint=hint + "pass one")


def _pii_key(context: ProjectContext) -> bytes:
    settings = context.loaded.config.data.ingest
    # The environment variable wins: production keys come from a secret store, not a file.
    if os.environ.get(settings.pii_key_env) or settings.pii_key_file is None:
        return load_pii_key(settings.pii_key_env)
    return load_pii_key(
        settings.pii_key_env, key_file=context.workspace.root / settings.pii_key_file
    )


def resolve_version(context: ProjectContext, ref: str) -> DatasetVersion:
    """``DATASET@VERSION``, or ``DATASET`` for its latest version."""
    if "@" in ref:
        name, version = ref.split("@", 1)
        return context.datasets.get(name, version)
    latest = context.datasets.latest(ref)
    if latest is None:
        raise DataError(f"no published version of dataset {ref!r}", hint="run `ferry ingest` first")
    return latest


@dataclass(frozen=True)
class Revalidation:
    """The result of validating a stored version with the current suite."""

    version: DatasetVersion
    summary: ValidationSummary
    report_dir: Path
    data_docs: Path | None


def validate_version(
    context: ProjectContext, ref: str, *, as_of: datetime | None = None
) -> Revalidation:
    """Check a published version against today's rules; moves nothing, writes a report."""
    config = context.loaded.config
    if not config.validation.rules:
        raise ConfigError("the config declares no validation rules", hint="add validation.rules")
    version = resolve_version(context, ref)
    validator = ChunkValidator(config.validation, config.schema_)
    earlier = [
        v for v in context.datasets.list(version.dataset) if v.created_at < version.created_at
    ]
    previous = max(earlier, key=lambda v: v.created_at) if earlier else None
    when = as_of or context.clock.now()
    summary, sample = validate_stored(
        Path(version.path),
        validator,
        as_of=when,
        chunk_rows=config.data.ingest.chunk_rows,
        reference=reference_table(previous, validator),
    )
    stamp = report_stamp(context)
    report_dir = (
        context.workspace.reports / "validation" / version.dataset / version.version / stamp
    )
    write_summary(summary, report_dir / "summary.json")
    docs = None
    if sample is not None:
        docs = validator.suite.build_data_docs(
            sample.to_pandas(), as_of=when, directory=report_dir / "data-docs"
        )
    context.audit.append(
        current_actor(),
        "data.validate",
        version.ref,
        {
            "suite": summary.suite_name,
            "rows_in": summary.rows_in,
            "would_quarantine": summary.quarantined,
            "rejected": summary.rejected,
            "failed_rules": [r.rule for r in summary.rules if r.status == "failed"],
            "report": str(report_dir),
        },
    )
    return Revalidation(version=version, summary=summary, report_dir=report_dir, data_docs=docs)


@dataclass(frozen=True)
class FeatureStoreBuild:
    """A feature build and what was loaded online from it."""

    build: FeatureBuild
    materialized: Materialized


def build_feature_store(
    context: ProjectContext,
    ref: str | None = None,
    *,
    fit_until: datetime | None = None,
    as_of: datetime | None = None,
) -> FeatureStoreBuild:
    """Build the training set of a dataset version (default: the latest of the only source),
    register it in Feast and load the online store and window state as of ``as_of``."""
    from ferryml.features.project_store import ProjectFeatureStore

    config = context.loaded.config
    version = resolve_version(context, ref or _source_name(config.data.sources, None))
    store = ProjectFeatureStore(context.loaded, context.workspace.root)
    build = store.build(version, fit_until=fit_until)
    context.audit.append(
        current_actor(),
        "features.build",
        f"features@{build.feature_set_version}",
        {
            "dataset": version.ref,
            "rows": build.rows,
            "fit_until": build.fit_until.isoformat(),
            "views": dict(build.views),
            "path": str(build.path.relative_to(context.workspace.root)),
        },
    )
    materialized = materialize_features(context, store, build, as_of=as_of)
    return FeatureStoreBuild(build, materialized)


def materialize_features(
    context: ProjectContext,
    store: ProjectFeatureStore | None = None,
    build: FeatureBuild | None = None,
    *,
    as_of: datetime | None = None,
) -> Materialized:
    """Load the online store and window state from a build (default: the latest)."""
    from ferryml.features.project_store import ProjectFeatureStore

    store = store or ProjectFeatureStore(context.loaded, context.workspace.root)
    build = build or store.latest_build()
    materialized = store.materialize(build, as_of=as_of)
    context.audit.append(
        current_actor(),
        "features.materialize",
        f"features@{build.feature_set_version}",
        {
            "as_of": materialized.as_of.isoformat(),
            "views": dict(materialized.views),
            "window_events": dict(materialized.windows),
            "online_store": store.settings.online_store.type,
        },
    )
    return materialized


def discover_features(
    context: ProjectContext,
    ref: str | None = None,
    *,
    sample_size: int = 300,
    top_k: int = 10,
    seed: int = 0,
    out: Path | None = None,
) -> tuple[DiscoveryResult, Path]:
    """Featuretools DFS on a labelled sample of a dataset version: ranked candidates and the
    chosen ones as feature definitions, written as a YAML fragment to paste under features:."""
    from ferryml.features.build import read_events
    from ferryml.features.dfs import discover, write_discovery
    from ferryml.features.project_store import ProjectFeatureStore

    config = context.loaded.config
    version = resolve_version(context, ref or _source_name(config.data.sources, None))
    store = ProjectFeatureStore(context.loaded, context.workspace.root)
    events = read_events(store.feature_set, version.path)
    result = discover(
        events,
        {},
        config.features,
        config.schema_,
        sample_size=sample_size,
        top_k=top_k,
        seed=seed,
    )
    stamp = report_stamp(context)
    path = out or context.workspace.reports / "features" / f"discovered-{stamp}.yaml"
    write_discovery(result, path)
    context.audit.append(
        current_actor(),
        "features.discover",
        version.ref,
        {
            "sample_size": sample_size,
            "candidates": len(result.candidates),
            "exported": [c.exported_as for c in result.candidates if c.exported_as],
            "path": str(path),
        },
    )
    return result, path
