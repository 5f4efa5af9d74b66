"""The files of a dataset directory, as versioning reads them (the DuckDB session itself is
:mod:`ferryml.storage.duckdb_session`)."""

from __future__ import annotations

from pathlib import Path

from ferryml.errors import InvalidInputError

MANIFEST_NAME = "manifest.json"


def parquet_files(directory: Path, *, allow_manifest: bool = True) -> list[Path]:
    """The Parquet files of a flat dataset directory, sorted by name.

    A dataset directory holds ``*.parquet`` files and, once published, ``manifest.json`` —
    nothing else: a stray file would sit in an "immutable" snapshot without being hashed.
    """
    if not directory.is_dir():
        raise InvalidInputError(
            f"dataset directory {directory} does not exist or is not a directory",
            hint="write the staged Parquet files into a directory and pass its path",
        )
    files: list[Path] = []
    strays: list[str] = []
    for entry in sorted(directory.iterdir()):
        if entry.is_file() and entry.suffix == ".parquet" and not entry.name.startswith((".", "_")):
            files.append(entry)
        elif not (allow_manifest and entry.name == MANIFEST_NAME and entry.is_file()):
            strays.append(entry.name + ("/" if entry.is_dir() else ""))
    if strays:
        raise InvalidInputError(
            f"dataset directory {directory} holds entries that are not Parquet files: "
            f"{', '.join(strays[:10])}{' …' if len(strays) > 10 else ''}",
            hint="stage a flat directory of *.parquet files only (no partition subdirectories, "
            "hidden or _-prefixed files)",
        )
    if not files:
        raise InvalidInputError(
            f"dataset directory {directory} holds no *.parquet files",
            hint="a dataset needs at least one Parquet file (it may hold zero rows)",
        )
    return files
