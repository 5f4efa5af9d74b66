"""Right to erasure: remove one subject from every store of a project, and record it.

    outcome = erase_subject(context, "C00000042")          # or dry_run=True to only look
    outcome.record.status, outcome.record.models          # 'complete', models to retrain

One run: resolve the subject (raw id, pseudonym with the project's PII key), trace their
footprint (:mod:`~ferryml.governance.gdpr.footprint`), list the models trained on dataset
versions that hold them, erase store by store (derived data first, sources last, see
:mod:`~ferryml.governance.gdpr.stores`), compact the platform DB, then look again in every
store. The record (:mod:`~ferryml.governance.gdpr.record`) is saved after each store and an
audit entry closes the run.

Erasure is not atomic across stores (files, two databases, Redis): it is idempotent instead.
A run that stops, or finds a store it cannot change now (a prediction-log segment a running
server still writes), leaves the record ``in_progress`` or ``incomplete``; running the same
command again resumes the same erasure (same id, found by the subject's digest) and finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ferryml.governance.gdpr.footprint import Footprint, FootprintTracer
from ferryml.governance.gdpr.record import ErasureRecord, ErasureRecords, TrainedModel
from ferryml.governance.gdpr.redact import redact_text
from ferryml.governance.gdpr.sqlite_files import compact
from ferryml.governance.gdpr.stores import Erased, Location, Scope, SubjectStore, open_stores
from ferryml.governance.gdpr.subject import Subject, project_subject

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
ERASE_ACTION = "gdpr.erase"


@dataclass
class ErasureOutcome:
    """What a run did (or, for a dry run, would do)."""

    record: ErasureRecord
    dry_run: bool
    locations: list[Location] = field(default_factory=list)
    """Dry run: where the subject is. Otherwise: where they still are after the run."""
    results: list[Erased] = field(default_factory=list)
    path: Path | None = None
    """The saved record (None for a dry run)."""

    @property
    def complete(self) -> bool:
        return self.record.status == "complete"


def erase_subject(
    context: ProjectContext,
    raw_id: str,
    *,
    dry_run: bool = False,
    actor: str = "user:unknown",
    progress: Progress | None = None,
) -> ErasureOutcome:
    """Erase the subject ``raw_id`` from every store of the project (see the module doc)."""
    subject = project_subject(context.loaded, context.workspace.root, raw_id)
    records = ErasureRecords(context.workspace.reports)
    now = context.clock.now()
    record = records.unfinished(subject.digest) or records.new(subject.digest, now)
    scope = Scope(context, record.erasure_id)
    try:
        stores = open_stores(scope)
        footprint = trace_footprint(context, subject, stores)
        if dry_run:
            locations = [location for store in stores for location in store.find(footprint)]
            record.footprint = footprint.counts()
            record.add_models(trained_on(context, _holding(stores, footprint)))
            return ErasureOutcome(record, True, _masked(locations, footprint))
        record.status = "in_progress"
        record.footprint = _max_counts(record.footprint, footprint.counts())
        record.add_models(trained_on(context, _holding(stores, footprint)))
        records.save(record, context.clock.now())
        results = []
        for store in stores:
            if progress is not None:
                progress(store.name)
            result = store.erase(footprint)
            results.append(result)
            record.add(result)
            records.save(record, context.clock.now())
        pending = [p for result in results for p in result.pending]
        pending += compact_platform_db(context)
        residue = _masked([loc for store in stores for loc in store.find(footprint)], footprint)
        record.runs += 1
        record.pending = pending
        record.residue = [f"{loc.store}: {loc.where} ({loc.items})" for loc in residue]
        record.status = "complete" if not pending and not residue else "incomplete"
        path = records.save(record, context.clock.now())
        context.audit.append(
            actor, ERASE_ACTION, f"erasure/{record.erasure_id}", record.audit_details()
        )
        return ErasureOutcome(record, False, residue, results, path)
    finally:
        scope.close()


def trace_footprint(
    context: ProjectContext, subject: Subject, stores: Sequence[SubjectStore]
) -> Footprint:
    """The subject's footprint, from every store that holds tables with a subject column."""
    config = context.loaded.config
    ids = config.schema_.columns_with_role("id")
    entities = [
        *config.schema_.columns_with_role("entity"),
        *(entity.key for entity in config.features.entities.values()),
    ]
    tracer = FootprintTracer(subject, id_column=ids[0] if ids else None, entity_columns=entities)
    for store in stores:
        store.trace(tracer)
    return tracer.footprint()


def trained_on(context: ProjectContext, refs: Sequence[str]) -> list[TrainedModel]:
    """Training runs (with their registered versions and aliases) on ``refs`` or on versions
    derived from them."""
    if not refs:
        return []
    from ferryml.governance.lineage import dependents

    models: dict[str, TrainedModel] = {}
    for ref in refs:
        for run in dependents(context, ref).runs:
            version = run.get("registered_version")
            models.setdefault(
                run["run_id"],
                TrainedModel(
                    run_id=run["run_id"],
                    model=run.get("model"),
                    dataset=run["dataset"],
                    registered_version=None if version is None else str(version),
                    aliases=list(run.get("aliases") or []),
                ),
            )
    return list(models.values())


def compact_platform_db(context: ProjectContext) -> list[str]:
    """Make deleted rows of the platform DB unrecoverable from its files: ``VACUUM`` and a
    truncated WAL on SQLite, ``VACUUM`` of the touched tables on PostgreSQL. Returns what
    could not be done now.

    PostgreSQL never shows deleted rows to a query; ``VACUUM`` frees their space on disk
    sooner than autovacuum would. A role that may not vacuum leaves that to autovacuum (a
    warning in the log), which is not a reason to call the erasure incomplete."""
    url = make_url(context.workspace.database_url)
    context.engine.dispose()  # pooled connections would keep the WAL from being truncated
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "")
        if database.is_file() and not compact(database):
            return [f"{database.name}: WAL not truncated (another process reads it)"]
        return []
    try:
        with context.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM predictions, labels, datasets")
    except SQLAlchemyError as exc:
        log.warning("VACUUM after a GDPR rewrite failed; autovacuum will free the space: %s", exc)
    return []


def _holding(stores: Sequence[SubjectStore], footprint: Footprint) -> list[str]:
    from ferryml.governance.gdpr.stores.datasets import DatasetVersions

    refs: list[str] = []
    for store in stores:
        if isinstance(store, DatasetVersions):
            refs += store.holding(footprint)
    return refs


def _masked(locations: list[Location], footprint: Footprint) -> list[Location]:
    """Locations whose names quote the subject (a file named after them) with it redacted."""
    return [
        Location(loc.store, redact_text(loc.where, footprint.subject.values)[0], loc.items)
        for loc in locations
    ]


def _max_counts(before: dict[str, int], now: dict[str, int]) -> dict[str, int]:
    return {k: max(before.get(k, 0), now.get(k, 0)) for k in {*before, *now}}


__all__ = [
    "ERASE_ACTION",
    "ErasureOutcome",
    "compact_platform_db",
    "erase_subject",
    "trace_footprint",
    "trained_on",
]
