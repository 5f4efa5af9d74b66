"""Data files as they arrived (``paths.raw``) and any other data file in the workspace.

Raw files hold raw ids, before pseudonymization: the generator's Parquet partitions and
profile tables, CSV or JSON-lines drops. Each file holding the subject is rewritten without
their rows; manifests that list a rewritten file's checksum (the generator's
``manifest.json``, the profile lineage of feature builds) are updated to the new content, so
they keep describing the files that exist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ferryml.governance.gdpr.footprint import Footprint, FootprintTracer
from ferryml.governance.gdpr.selection import RowSelection
from ferryml.governance.gdpr.stores.base import Erased, Location, SubjectStore
from ferryml.governance.gdpr.tabular import (
    count_selected,
    kind_of,
    read_columns,
    rewrite_file,
    selected_rows,
)
from ferryml.storage.atomic import atomic_write_text

MANIFEST = "manifest.json"


class RawFiles(SubjectStore):
    """Files under ``paths.raw``."""

    name = "raw"
    description = "raw files (Parquet, CSV, JSON lines) under paths.raw"

    def directories(self) -> list[Path]:
        return [self.scope.context.workspace.raw]

    def excluded(self) -> list[Path]:
        return []

    def files(self) -> Iterator[Path]:
        excluded = [p.resolve() for p in self.excluded()]
        for directory in self.directories():
            if not directory.is_dir():
                continue
            for path in sorted(directory.rglob("*")):
                if kind_of(path) is None or not path.is_file() or _hidden(path, directory):
                    continue
                resolved = path.resolve()
                if any(resolved.is_relative_to(e) for e in excluded):
                    continue
                yield path

    def trace(self, tracer: FootprintTracer) -> None:
        for path in self.files():
            tracer.add_table(read_columns(path, tracer.columns))

    def find(self, footprint: Footprint) -> list[Location]:
        selection = footprint.selection()
        found = []
        for path in self.files():
            count = count_selected(path, selection)
            if count:
                found.append(Location(self.name, self.scope.relative(path), count))
        return found

    def erase(self, footprint: Footprint) -> Erased:
        return self._rewrite(footprint.selection(), self.files())

    def export(self, footprint: Footprint) -> list[dict[str, Any]]:
        selection = footprint.selection()
        rows: list[dict[str, Any]] = []
        for path in self.files():
            if count_selected(path, selection):
                table = selected_rows(path)
                mask = selection.mask(table)
                if mask is not None:
                    picked = table.filter(mask).to_pylist()
                    rows += [{"file": self.scope.relative(path), "row": r} for r in picked]
        return rows

    def expire(self, selection: RowSelection, dataset: str | None) -> Erased:
        return self._rewrite(selection, self._files_of(dataset))

    def expired(self, selection: RowSelection, dataset: str | None) -> list[Location]:
        found = []
        for path in self._files_of(dataset):
            if count := count_selected(path, selection):
                found.append(Location(self.name, self.scope.relative(path), count))
        return found

    def _files_of(self, dataset: str | None) -> Iterator[Path]:
        """The files of a dataset's declared source (a file or a directory)."""
        source = self.scope.context.loaded.config.data.sources.get(dataset or "")
        path = getattr(source, "path", None)
        if path is None:
            return iter(())
        base = (self.scope.root / path).resolve()
        return (p for p in self.files() if p.resolve().is_relative_to(base))

    def _rewrite(self, selection: RowSelection, files: Iterator[Path]) -> Erased:
        items = places = 0
        for path in files:
            before = _sha256(path)
            removed = rewrite_file(path, selection)
            if removed:
                items += removed
                places += 1
                self._update_manifests(path, before, removed)
        return Erased(self.name, items, places)

    def _update_manifests(self, path: Path, old_sha: str, removed: int) -> None:
        new_sha = _sha256(path)
        for directory in self.directories():
            if path.is_relative_to(directory):
                _update_synth_manifests(path, directory, removed, new_sha)
        offline = self.scope.root / self.scope.context.loaded.config.features.store.offline
        relative = self.scope.relative(path)
        for manifest in offline.glob(f"*/*/{MANIFEST}"):
            document = json.loads(manifest.read_text())
            changed = False
            for entry in (document.get("profiles") or {}).values():
                if entry.get("path") == relative and entry.get("sha256") == old_sha:
                    entry["sha256"] = new_sha
                    changed = True
            if changed:
                atomic_write_text(manifest, json.dumps(document, indent=2, sort_keys=True))


class OtherFiles(RawFiles):
    """Data files anywhere else in the workspace (batch outputs, exports, copies): every
    Parquet, CSV and JSON-lines file outside the directories other stores own."""

    name = "other-files"
    description = "other Parquet, CSV and JSON-lines files in the workspace"

    def directories(self) -> list[Path]:
        return [self.scope.root]

    def excluded(self) -> list[Path]:
        config = self.scope.context.loaded.config
        workspace = self.scope.context.workspace
        return [
            workspace.raw,
            workspace.processed,
            workspace.quarantine,
            self.scope.root / config.features.store.offline,
            self.scope.root / config.serving.prediction_log.directory,
        ]

    def trace(self, tracer: FootprintTracer) -> None:
        """Other files are erased by the footprint, never used to build it."""

    def _files_of(self, dataset: str | None) -> Iterator[Path]:
        return iter(())


def _update_synth_manifests(path: Path, top: Path, removed: int, sha: str) -> None:
    for directory in (path.parent, *path.parent.parents):
        manifest = directory / MANIFEST
        if manifest.is_file():
            try:
                document = json.loads(manifest.read_text())
            except (OSError, ValueError):
                document = None
            if isinstance(document, dict) and isinstance(document.get("files"), list):
                relative = path.relative_to(directory).as_posix()
                for entry in document["files"]:
                    if isinstance(entry, dict) and entry.get("path") == relative:
                        entry.update(rows=entry.get("rows", 0) - removed, sha256=sha)
                        entry["bytes"] = path.stat().st_size
                        table = relative.split("/", 1)[0].rsplit(".", 1)[0]
                        rows = document.get("rows")
                        if isinstance(rows, dict) and isinstance(rows.get(table), int):
                            rows[table] -= removed
                        atomic_write_text(manifest, json.dumps(document, indent=2) + "\n")
                        return
        if directory == top:
            return


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


__all__ = ["OtherFiles", "RawFiles"]
