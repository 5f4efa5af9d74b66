"""Input examples logged with models: a few feature rows of the validation split, as JSON.

An example carries no id, only feature values; a row is the subject's when it equals one of
the subject's rows in a feature build's training set on every column they share (floats
compared to 1e-9 relative, missing equals missing). Such rows leave ``input_example.json``
and ``serving_input_example.json``; the model, its signature and the rest of the example stay.
The builds must still hold the subject: this store is erased before the feature builds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ferryml.features.build import MANIFEST, TRAINING_FILE
from ferryml.governance.gdpr.footprint import Footprint
from ferryml.governance.gdpr.stores.base import Erased, Location, SubjectStore
from ferryml.storage.atomic import atomic_write_text

EXAMPLE_FILES = ("input_example.json", "serving_input_example.json")
_MIN_SHARED_COLUMNS = 3


class InputExamples(SubjectStore):
    """Model input examples in the local MLflow artifact root (``training.tracking.artifacts``)."""

    name = "mlflow-examples"
    description = "MLflow input examples logged with models"

    def files(self) -> Iterator[Path]:
        artifacts = self.scope.root / self.scope.context.loaded.config.training.tracking.artifacts
        if artifacts.is_dir():
            for name in EXAMPLE_FILES:
                yield from sorted(artifacts.rglob(name))

    def find(self, footprint: Footprint) -> list[Location]:
        rows = _SubjectRows(self, footprint)
        found = []
        for path in self.files():
            frame = _frame(path)
            if frame is not None and (hits := sum(map(rows.matches(frame[0]), frame[1]))):
                found.append(Location(self.name, self.scope.relative(path), hits))
        return found

    def erase(self, footprint: Footprint) -> Erased:
        rows = _SubjectRows(self, footprint)
        items = places = 0
        for path in self.files():
            document = json.loads(path.read_text())
            frame = _frame(path, document)
            if frame is None:
                continue
            columns, data = frame
            match = rows.matches(columns)
            kept = [row for row in data if not match(row)]
            if len(kept) == len(data):
                continue
            split = document.get("dataframe_split", document)
            split["data"] = kept
            indent = 2 if "dataframe_split" in document else None  # as MLflow writes each
            atomic_write_text(path, json.dumps(document, indent=indent))
            items += len(data) - len(kept)
            places += 1
        return Erased(self.name, items, places)

    def builds(self) -> list[Path]:
        offline = self.scope.root / self.scope.context.loaded.config.features.store.offline
        return [m.parent / TRAINING_FILE for m in sorted(offline.glob(f"*/*/{MANIFEST}"))]


class _SubjectRows:
    """The subject's training rows of every build, read once, compared by column set."""

    def __init__(self, store: InputExamples, footprint: Footprint) -> None:
        selection = footprint.selection()
        self._tables = []
        for path in store.builds():
            if not path.is_file():
                continue
            table = pq.read_table(path)
            mask = selection.mask(table)
            if mask is not None:
                picked = table.filter(mask)
                if picked.num_rows:
                    self._tables.append(picked)

    def matches(self, columns: Sequence[str]) -> Any:
        candidates: list[list[Any]] = []
        for table in self._tables:
            shared = [c for c in columns if c in table.column_names]
            if len(shared) < min(_MIN_SHARED_COLUMNS, len(columns)) or not shared:
                continue
            positions = [columns.index(c) for c in shared]
            for row in table.select(shared).to_pylist():
                candidates.append([positions, [row[c] for c in shared]])

        def match(row: Sequence[Any]) -> bool:
            return any(
                all(_same(row[p], v) for p, v in zip(positions, values, strict=True))
                for positions, values in candidates
            )

        return match


def _frame(path: Path, document: Any = None) -> tuple[list[str], list[list[Any]]] | None:
    """The columns and rows of a pandas ``split`` example (plain or under dataframe_split)."""
    if document is None:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
    split = document.get("dataframe_split", document) if isinstance(document, dict) else None
    if not isinstance(split, dict):
        return None
    columns, data = split.get("columns"), split.get("data")
    if not isinstance(columns, list) or not isinstance(data, list):
        return None
    return columns, data


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


__all__ = ["EXAMPLE_FILES", "InputExamples"]
