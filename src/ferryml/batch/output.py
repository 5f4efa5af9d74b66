"""The output directory of a batch run: Parquet partitioned by event date, progress, manifest.

Layout (readable by any Parquet reader with hive partitioning; names starting with ``_`` or
``.`` are not data)::

    <output>/event_date=2025-11-08/part-000003.parquet   rows of chunk 3 on that date
    <output>/_progress/run.json                           the run's fingerprint (while running)
    <output>/_progress/000003.json                        chunk 3 is written (its counts)
    <output>/_manifest.json                               the finished run: model, data, counts

Every file is written atomically, and a chunk's file names depend only on the chunk and the
date, so a chunk written again replaces itself: a rerun after a kill writes the chunks that
have no progress mark and never duplicates a row. A run's fingerprint (model version, input
hash, engine, chunk size) guards the directory: another run's output is refused, not mixed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ferryml.errors import ConflictError
from ferryml.storage.atomic import atomic_path, atomic_write_text

MANIFEST = "_manifest.json"
PROGRESS = "_progress"
RUN_FILE = "run.json"
PARTITION = "event_date"
DECISION = "decision"


@dataclass(frozen=True)
class ChunkCounts:
    """What one chunk wrote."""

    rows: int
    decisions: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "decisions": dict(self.decisions)}


class BatchOutput:
    """One run's output directory. :meth:`prepare` first, then chunks, then :meth:`finish`."""

    def __init__(self, path: Path, fingerprint: Mapping[str, Any], *, overwrite: bool) -> None:
        self.path = Path(path)
        self.fingerprint = dict(fingerprint)
        self.overwrite = overwrite

    @property
    def progress(self) -> Path:
        return self.path / PROGRESS

    def finished(self) -> dict[str, Any] | None:
        """The manifest of this very run when it already finished, else None."""
        manifest = self._read(self.path / MANIFEST)
        if manifest is not None and manifest.get("fingerprint") == self.fingerprint:
            return manifest
        return None

    def prepare(self) -> set[int]:
        """Make the directory ready for this run; the chunks an earlier attempt finished.

        Refuses (:class:`ConflictError`) a directory holding another run's output or other
        files, unless ``overwrite``: then a batch output (manifest or progress present) is
        replaced; a directory of something else is never deleted.
        """
        if self.path.exists() and any(self.path.iterdir()):
            theirs = self._read(self.path / MANIFEST) or self._read(self.progress / RUN_FILE)
            if theirs is None:
                raise ConflictError(
                    f"{self.path} is not empty and holds no ferryml batch output",
                    hint="write to a new or empty directory",
                )
            theirs = theirs.get("fingerprint", theirs)
            if theirs != self.fingerprint:
                if not self.overwrite:
                    raise ConflictError(
                        f"{self.path} holds the output of another batch run "
                        f"({_describe(theirs)}); this one is {_describe(self.fingerprint)}",
                        hint="choose another --output, or pass --overwrite to replace it",
                    )
                shutil.rmtree(self.path)
        self.progress.mkdir(parents=True, exist_ok=True)
        (self.path / MANIFEST).unlink(missing_ok=True)
        atomic_write_text(self.progress / RUN_FILE, json.dumps(self.fingerprint, indent=2))
        for stray in self.path.rglob(".*.tmp"):  # a killed attempt's unfinished writes
            stray.unlink(missing_ok=True)
        return {int(p.stem) for p in self.progress.glob("[0-9]*.json")}

    def write_chunk(self, index: int, rows: pa.Table) -> ChunkCounts:
        """Write chunk ``index`` (with its :data:`PARTITION` column) and mark it done."""
        dates = rows.column(PARTITION)
        for date in pc.unique(dates).to_pylist():
            part = rows.filter(pc.equal(dates, date)).drop_columns([PARTITION])
            target = self.path / f"{PARTITION}={date}" / f"part-{index:06d}.parquet"
            with atomic_path(target) as tmp:
                pq.write_table(part, tmp)
        counts = ChunkCounts(rows.num_rows, decision_counts(rows))
        atomic_write_text(self.progress / f"{index:06d}.json", json.dumps(counts.as_dict()))
        return counts

    def chunk_counts(self) -> list[ChunkCounts]:
        """The counts of every chunk marked done, in chunk order."""
        counts = []
        for mark in sorted(self.progress.glob("[0-9]*.json")):
            data = json.loads(mark.read_text())
            counts.append(ChunkCounts(int(data["rows"]), data["decisions"]))
        return counts

    def finish(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Write the manifest (with the fingerprint) and drop the progress marks."""
        final = {**manifest, "fingerprint": self.fingerprint}
        atomic_write_text(self.path / MANIFEST, json.dumps(final, indent=2, sort_keys=True))
        shutil.rmtree(self.progress, ignore_errors=True)
        return final

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return loaded if isinstance(loaded, dict) else None


def decision_counts(rows: pa.Table) -> dict[str, int]:
    """Rows per decision."""
    counted = pc.value_counts(rows.column(DECISION)).to_pylist()
    return {item["values"]: int(item["counts"]) for item in counted}


def merged(counts: list[ChunkCounts]) -> dict[str, Any]:
    """The run's totals from its chunks."""
    decisions: dict[str, int] = {}
    for chunk in counts:
        for decision, n in chunk.decisions.items():
            decisions[decision] = decisions.get(decision, 0) + n
    return {"rows": sum(chunk.rows for chunk in counts), "decisions": decisions}


def _describe(fingerprint: Mapping[str, Any]) -> str:
    model = fingerprint.get("model", {})
    return (
        f"model {model.get('name')} v{model.get('version')}, input "
        f"{str(fingerprint.get('input_sha256', ''))[:12]}, engine {fingerprint.get('engine')}"
    )


def run_fingerprint(
    model: Mapping[str, Any], input_sha256: str, *, engine: str, chunk_rows: int | None = None
) -> dict[str, Any]:
    """What makes two runs the same run: the model version, the input's content, the engine
    and (local engine) the chunk size, which decides the part files."""
    return {
        "model": dict(model),
        "input_sha256": input_sha256,
        "engine": engine,
        "chunk_rows": chunk_rows,
    }
