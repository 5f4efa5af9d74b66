"""``manifest.json``: the self-description written inside every published version directory.

It repeats the DB row (so a directory can be re-registered after a crash, or read without the
DB) and lists the files with their sizes (so a repair notices a directory that was tampered
with). Written atomically into the staged directory *before* that directory is renamed into
place: a visible version directory always holds its manifest.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ferryml.data.versioning._duckdb import MANIFEST_NAME
from ferryml.data.versioning.hashing import HASH_FORMAT, ColumnSpec
from ferryml.data.versioning.model import DatasetVersion, to_json
from ferryml.storage.atomic import atomic_write_text

MANIFEST_FORMAT = 1


def write_manifest(directory: Path, project: str, version: DatasetVersion) -> None:
    """Write ``directory/manifest.json`` describing ``version`` and the Parquet files there."""
    files = sorted(p for p in directory.glob("*.parquet") if p.is_file())
    body = {
        "manifest_format": MANIFEST_FORMAT,
        "hash_format": HASH_FORMAT,
        "project": project,
        "dataset": version.dataset,
        "version": version.version,
        "content_hash": version.content_hash,
        "rows": version.rows,
        "schema": [dict(c) for c in version.schema],
        "key_columns": list(version.key_columns),
        "files": [{"name": p.name, "bytes": p.stat().st_size} for p in files],
        "created_at": version.created_at.isoformat(timespec="microseconds"),
        "source": dict(version.source),
        "parents": list(version.parents),
        "validation": None if version.validation is None else dict(version.validation),
        "extra": dict(version.extra),
    }
    atomic_write_text(
        directory / MANIFEST_NAME,
        json.dumps(json.loads(to_json(body, "manifest")), indent=2, sort_keys=True) + "\n",
    )


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of ``directory`` as a dict, or ``None`` when missing or unreadable."""
    try:
        loaded = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def manifest_problem(
    directory: Path, manifest: dict[str, Any] | None, content_hash: str
) -> str | None:
    """Why ``directory`` is not an intact snapshot with ``content_hash``, or ``None`` if it is."""
    if manifest is None:
        return f"{MANIFEST_NAME} is missing or not valid JSON"
    if manifest.get("content_hash") != content_hash:
        return f"its manifest records content hash {manifest.get('content_hash')!r}"
    expected = {f.get("name"): f.get("bytes") for f in manifest.get("files", [])}
    found = {p.name: p.stat().st_size for p in directory.glob("*.parquet") if p.is_file()}
    if expected != found:
        return f"its Parquet files {sorted(found)} do not match the manifest's {sorted(expected)}"
    return None


def version_from_manifest(manifest: dict[str, Any], path: Path) -> DatasetVersion:
    """The :class:`DatasetVersion` a (checked) manifest describes."""
    return DatasetVersion(
        dataset=manifest["dataset"],
        version=manifest["version"],
        content_hash=manifest["content_hash"],
        rows=int(manifest["rows"]),
        schema=tuple(ColumnSpec(name=c["name"], type=c["type"]) for c in manifest["schema"]),
        path=path,
        created_at=datetime.fromisoformat(manifest["created_at"]),
        source=manifest.get("source") or {},
        parents=tuple(manifest.get("parents") or ()),
        validation=manifest.get("validation"),
        key_columns=tuple(manifest["key_columns"]),
        extra=manifest.get("extra") or {},
    )
