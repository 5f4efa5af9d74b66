"""The input of a batch run: Parquet files, checked against the feature set before any output.

Every column scoring reads must be present with a type that feeds features (a string where the
schema has a string, a number, boolean or timestamp where it has one); rows are put in event-time
order (ties by id), the order the online path would have seen them in, which window aggregates
depend on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from ferryml.errors import InvalidInputError
from ferryml.features.graph import FeatureSet

_KINDS = {
    "string": (pa.types.is_string, pa.types.is_large_string, pa.types.is_dictionary),
    "number": (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean),
    "timestamp": (pa.types.is_timestamp, pa.types.is_date),
}


@dataclass(frozen=True)
class BatchInput:
    """The files of a batch input, their content hash, and the columns to read."""

    files: tuple[Path, ...]
    sha256: str
    columns: tuple[str, ...]
    order_by: tuple[str, ...]

    def read(self) -> pa.Table:
        """The needed columns of every file, sorted by event time, then id."""
        table = ds.dataset([str(f) for f in self.files], format="parquet").to_table(
            columns=list(self.columns)
        )
        return table.sort_by([(name, "ascending") for name in self.order_by])


def open_input(feature_set: FeatureSet, paths: Sequence[Path]) -> BatchInput:
    """Check ``paths`` (Parquet files or directories of them) against ``feature_set``.

    Raises :class:`InvalidInputError` naming the file and the column when something is missing
    or of the wrong type, before anything is read in full or written.
    """
    files = _parquet_files(paths)
    schema = feature_set.schema
    ids = schema.columns_with_role("id")
    needed = tuple(dict.fromkeys([*ids, *feature_set.scoring_columns]))
    for file in files:
        try:
            found = ds.dataset(str(file), format="parquet").schema
        except (OSError, pa.ArrowInvalid) as exc:
            raise InvalidInputError(
                f"{file} is not a readable Parquet file: {exc}",
                hint="batch input must be Parquet (one file, or a directory of *.parquet)",
            ) from exc
        missing = [name for name in needed if name not in found.names]
        if missing:
            raise InvalidInputError(
                f"{file} has no column {', '.join(map(repr, missing))}, which scoring needs",
                hint=f"it has {', '.join(found.names)}; scoring reads {', '.join(needed)}",
            )
        for name in needed:
            _check_type(file, name, found.field(name).type, schema.columns[name].type)
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    order_by = (feature_set.event_time_column, *ids)
    return BatchInput(files, digest.hexdigest(), needed, order_by)


def _parquet_files(paths: Sequence[Path]) -> tuple[Path, ...]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))
            if not found:
                raise InvalidInputError(
                    f"{path} holds no *.parquet file", hint="point --input at Parquet data"
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InvalidInputError(f"no input at {path}", hint="check the --input path")
    if not files:
        raise InvalidInputError("no input given", hint="pass --input FILE_OR_DIRECTORY")
    return tuple(files)


def _check_type(file: Path, name: str, found: pa.DataType, declared: str) -> None:
    kind = "string" if declared == "string" else "timestamp" if declared in (
        "timestamp", "date"
    ) else "number"  # fmt: skip
    if not any(check(found) for check in _KINDS[kind]):
        raise InvalidInputError(
            f"{file}: column {name!r} is {found}; the schema declares it {declared}",
            hint=f"write {name!r} as a {kind} column (schema.columns.{name}.type: {declared})",
        )
