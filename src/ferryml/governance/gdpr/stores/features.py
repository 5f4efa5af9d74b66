"""Feature builds: training sets and batch views under ``features.store.offline``.

A build's ``training.parquet`` holds every event with its features (the subject's rows by
their subject column), its views hold profiles keyed by entity (the subject's own cards by
the footprint's linked ids). Each file is rewritten in place; the build's ``manifest.json``
gets the new row counts and ``gdpr_rewrites: [ids]``, and keeps naming the dataset version it was
built from (that version's row names its replacement: lineage resolves). ``fitted.json`` holds
encodings learned over all rows (category frequencies, ranks), no row of anyone: it stays.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ferryml.features.build import MANIFEST, TRAINING_FILE, VIEWS_DIR
from ferryml.governance.gdpr.footprint import Footprint, FootprintTracer
from ferryml.governance.gdpr.selection import RowSelection
from ferryml.governance.gdpr.stores.base import Erased, Location, SubjectStore
from ferryml.governance.gdpr.tabular import count_selected, read_columns, rewrite_file
from ferryml.storage.atomic import atomic_write_text


class FeatureBuilds(SubjectStore):
    """Every build of every feature set version."""

    name = "features"
    description = "feature builds: training sets and batch views (Parquet)"

    def builds(self) -> Iterator[Path]:
        offline = self.scope.root / self.scope.context.loaded.config.features.store.offline
        for manifest in sorted(offline.glob(f"*/*/{MANIFEST}")):
            yield manifest.parent

    def files(self, build: Path) -> list[Path]:
        return [build / TRAINING_FILE, *sorted((build / VIEWS_DIR).glob("*.parquet"))]

    def trace(self, tracer: FootprintTracer) -> None:
        for build in self.builds():
            training = build / TRAINING_FILE
            if training.is_file():
                tracer.add_table(read_columns(training, tracer.columns))

    def find(self, footprint: Footprint) -> list[Location]:
        selection = footprint.selection()
        found = []
        for build in self.builds():
            for path in self.files(build):
                if path.is_file() and (count := count_selected(path, selection)):
                    found.append(Location(self.name, self.scope.relative(path), count))
        return found

    def erase(self, footprint: Footprint) -> Erased:
        return self._rewrite(footprint.selection(), None)

    def expire(self, selection: RowSelection, dataset: str | None) -> Erased:
        if dataset is None:
            return Erased(self.name)
        return self._rewrite(selection, dataset)

    def expired(self, selection: RowSelection, dataset: str | None) -> list[Location]:
        if dataset is None:
            return []
        found = []
        for build in self._builds_of(dataset):
            for path in self.files(build):
                if path.is_file() and (count := count_selected(path, selection)):
                    found.append(Location(self.name, self.scope.relative(path), count))
        return found

    def _builds_of(self, dataset: str | None) -> Iterator[Path]:
        for build in self.builds():
            manifest = json.loads((build / MANIFEST).read_text())
            if dataset is None or str(manifest.get("dataset", "")).split("@")[0] == dataset:
                yield build

    def export(self, footprint: Footprint) -> list[dict[str, Any]]:
        selection = footprint.selection()
        rows: list[dict[str, Any]] = []
        for build in self.builds():
            training = build / TRAINING_FILE
            if training.is_file() and count_selected(training, selection):
                table = pq.read_table(training)
                mask = selection.mask(table)
                if mask is not None:
                    where = self.scope.relative(build)
                    rows += [{"build": where, "row": r} for r in table.filter(mask).to_pylist()]
        return rows

    def _rewrite(self, selection: RowSelection, dataset: str | None) -> Erased:
        items = places = 0
        for build in self._builds_of(dataset):
            manifest_path = build / MANIFEST
            manifest = json.loads(manifest_path.read_text())
            changed = False
            for path in self.files(build):
                if not path.is_file():
                    continue
                removed = rewrite_file(path, selection)
                if removed:
                    items += removed
                    places += 1
                    changed = True
            if changed:
                _update_manifest(manifest_path, manifest, build, self.scope.operation_id)
        return Erased(self.name, items, places)


def _update_manifest(path: Path, manifest: dict[str, Any], build: Path, operation: str) -> None:
    manifest["rows"] = pq.ParquetFile(build / TRAINING_FILE).metadata.num_rows
    manifest["views"] = {
        name: pq.ParquetFile(build / VIEWS_DIR / f"{name}.parquet").metadata.num_rows
        for name in manifest.get("views", {})
        if (build / VIEWS_DIR / f"{name}.parquet").is_file()
    }
    rewrites = list(manifest.get("gdpr_rewrites", []))
    if operation not in rewrites:
        rewrites.append(operation)
    manifest["gdpr_rewrites"] = rewrites
    atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True))


__all__ = ["FeatureBuilds"]
