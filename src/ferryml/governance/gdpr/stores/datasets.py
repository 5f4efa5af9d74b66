"""Published dataset versions, their quarantine and their validation results.

A version is content-addressed, so a version without the subject is a new version: its files
are the old version's minus the subject's rows, published through the versioning API with the
old version as its parent and ``extra.erasure = {id, replaces}``; the old version's row stays
in the platform DB (lineage of earlier runs still resolves) with ``extra.erased = {id,
replaced_by}``, and its files are deleted. The replacement takes the old version's creation
time, so "latest" keeps pointing at the same place in history. The quarantine and validation
reports of the old version move to the new version's name, the quarantined rows filtered too.

Crash safety: publishing the same filtered content again returns the version already
published, the row update and the deletions are idempotent; a version whose files still exist
is simply processed again.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import update

from ferryml.clock import ManualClock
from ferryml.data.validate.quarantine import ROWS_NAME, write_quarantine
from ferryml.data.versioning import DatasetStore, DatasetVersion
from ferryml.data.versioning.model import to_json
from ferryml.governance.gdpr.footprint import Footprint, FootprintTracer
from ferryml.governance.gdpr.redact import redact_json
from ferryml.governance.gdpr.selection import RowSelection
from ferryml.governance.gdpr.stores.base import Erased, Location, SubjectStore
from ferryml.governance.gdpr.tabular import (
    count_selected,
    filtered_table,
    read_columns,
)
from ferryml.storage.db import transaction
from ferryml.storage.tables import datasets


class DatasetVersions(SubjectStore):
    """Every version of every dataset of the project whose files are still on disk."""

    name = "datasets"
    description = "dataset versions (Parquet), their quarantine and validation results"

    def versions(self, dataset: str | None = None) -> list[DatasetVersion]:
        return [v for v in self.scope.context.datasets.list(dataset) if v.path.is_dir()]

    def quarantine_file(self, version: DatasetVersion) -> Path:
        workspace = self.scope.context.workspace
        return workspace.quarantine / version.dataset / version.version / ROWS_NAME

    def trace(self, tracer: FootprintTracer) -> None:
        for version in self.versions():
            for path in _parts(version):
                tracer.add_table(read_columns(path, tracer.columns))
            quarantine = self.quarantine_file(version)
            if quarantine.is_file():
                tracer.add_table(read_columns(quarantine, tracer.columns))

    def holding(self, footprint: Footprint) -> list[str]:
        """The versions whose files hold the subject (``dataset@version``)."""
        selection = footprint.selection()
        return [
            version.ref
            for version in self.versions()
            if any(count_selected(path, selection) for path in _parts(version))
        ]

    def find(self, footprint: Footprint) -> list[Location]:
        selection = footprint.selection()
        found = []
        for version in self.versions():
            rows = sum(count_selected(path, selection) for path in _parts(version))
            if rows:
                found.append(Location(self.name, version.ref, rows))
            quarantine = self.quarantine_file(version)
            if quarantine.is_file() and (rows := count_selected(quarantine, selection)):
                found.append(Location(self.name, self.scope.relative(quarantine), rows))
        tokens = footprint.tokens
        for version in self.scope.context.datasets.list():
            if version.validation is not None and redact_json(version.validation, tokens)[1]:
                found.append(Location(self.name, f"{version.ref} (validation result)", 1))
        return found

    def erase(self, footprint: Footprint) -> Erased:
        return self._rewrite(footprint.selection(), self.versions(), footprint.tokens)

    def expire(self, selection: RowSelection, dataset: str | None) -> Erased:
        if dataset is None:
            return Erased(self.name)
        return self._rewrite(selection, self.versions(dataset), frozenset())

    def expired(self, selection: RowSelection, dataset: str | None) -> list[Location]:
        if dataset is None:
            return []
        found = []
        for version in self.versions(dataset):
            if rows := sum(count_selected(path, selection) for path in _parts(version)):
                found.append(Location(self.name, version.ref, rows))
        return found

    def export(self, footprint: Footprint) -> list[dict[str, Any]]:
        selection = footprint.selection()
        rows: list[dict[str, Any]] = []
        for version in self.versions():
            for path in _parts(version):
                table = pq.read_table(path)
                mask = selection.mask(table)
                if mask is not None:
                    rows += [
                        {"version": version.ref, "row": r} for r in table.filter(mask).to_pylist()
                    ]
        return rows

    def _rewrite(
        self, selection: RowSelection, versions: list[DatasetVersion], tokens: frozenset[str]
    ) -> Erased:
        items = places = 0
        replaced: dict[str, str] = {}
        for version in versions:
            removed = sum(count_selected(path, selection) for path in _parts(version))
            quarantined = self._filter_quarantine(version, selection)
            items += quarantined
            if removed == 0:
                continue
            if selection.action == "delete" and removed == _rows(version):
                new = None  # nothing left: the version goes, no empty one replaces it
            else:
                new = self._replace(version, selection)
                self._move_sidecars(version, new)
                replaced[version.ref] = new.ref
            self._mark_replaced(version, new, tokens)
            shutil.rmtree(version.path)
            items += removed
            places += 1
        for version in self.scope.context.datasets.list():
            if version.ref not in replaced:
                self._scrub_validation(version, tokens)
        return Erased(self.name, items, places, details={"replaced": replaced})

    def _replace(self, version: DatasetVersion, selection: RowSelection) -> DatasetVersion:
        context = self.scope.context
        # The replacement takes the old version's place in time: `latest` stays where it was.
        store = DatasetStore(
            context.engine, context.workspace.project, context.workspace.processed,
            clock=ManualClock(version.created_at),
        )  # fmt: skip
        staged = store.new_staging_dir()
        try:
            for path in _parts(version):
                table, _ = filtered_table(pq.read_table(path), selection)
                pq.write_table(table, staged / path.name)
            extra = {
                **{k: v for k, v in version.extra.items() if k not in ("erased", "erasure")},
                "erasure": {"id": self.scope.operation_id, "replaces": version.ref},
            }
            result = store.publish(
                version.dataset,
                staged,
                key_columns=version.key_columns,
                source=version.source,
                parents=[version.ref],
                validation=version.validation,
                extra=extra,
            )
        finally:
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
        return result.version

    def _filter_quarantine(self, version: DatasetVersion, selection: RowSelection) -> int:
        path = self.quarantine_file(version)
        if not path.is_file():
            return 0
        table, removed = filtered_table(pq.read_table(path), selection)
        if removed:
            write_quarantine(table, path.parent)
        return removed

    def _move_sidecars(self, old: DatasetVersion, new: DatasetVersion) -> None:
        workspace = self.scope.context.workspace
        for top in (workspace.quarantine, workspace.reports / "validation"):
            source = top / old.dataset / old.version
            target = top / new.dataset / new.version
            if not source.exists():
                continue
            if target.exists():
                shutil.rmtree(source)
            else:
                source.rename(target)

    def _mark_replaced(
        self, old: DatasetVersion, new: DatasetVersion | None, tokens: frozenset[str]
    ) -> None:
        extra = dict(old.extra)
        replaced_by = None if new is None else new.ref
        extra["erased"] = {"id": self.scope.operation_id, "replaced_by": replaced_by}
        values: dict[str, Any] = {"extra": to_json(extra, "extra")}
        if old.validation is not None:
            values["validation"] = to_json(redact_json(old.validation, tokens)[0], "validation")
        self._update(old, values)

    def _scrub_validation(self, version: DatasetVersion, tokens: frozenset[str]) -> None:
        if version.validation is None or not tokens:
            return
        scrubbed, changed = redact_json(version.validation, tokens)
        if changed:
            self._update(version, {"validation": to_json(scrubbed, "validation")})

    def _update(self, version: DatasetVersion, values: Mapping[str, Any]) -> None:
        context = self.scope.context
        with transaction(context.engine, purpose="recording a GDPR rewrite of a dataset") as conn:
            conn.execute(
                update(datasets)
                .where(
                    datasets.c.project == context.workspace.project,
                    datasets.c.dataset == version.dataset,
                    datasets.c.version == version.version,
                )
                .values(**values)
            )


def _parts(version: DatasetVersion) -> list[Path]:
    return sorted(version.path.glob("*.parquet"))


def _rows(version: DatasetVersion) -> int:
    return sum(pq.ParquetFile(path).metadata.num_rows for path in _parts(version))


__all__ = ["DatasetVersions"]
