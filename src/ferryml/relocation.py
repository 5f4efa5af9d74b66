"""A workspace moved or copied to another directory keeps working there.

ferryml's own records are relative to the workspace root (dataset versions, builds, the
prediction log); two of the tools it embeds are not: MLflow stores absolute ``file://``
artifact locations in its database (``mlflow.db``) and in each model's ``MLmodel``, and Feast's
registry (``registry.db``) names the offline parquet files by absolute path, as its
``feature_store.yaml`` does the SQLite online store. Left alone, a copy would read, and train
into, the directory it was copied from.

:func:`relocate` runs each time a project opens (:meth:`ferryml.pipeline.ProjectContext.open`).
It costs one query when nothing moved: the MLflow experiment's artifact location is compared
with where the workspace now is. When the workspace moved, every location under the old root
is rewritten to the same place under the new one, and nothing else: a tracking server or a
PostgreSQL backend (``training.tracking.uri``), an artifact root outside the workspace and the
audit trail (a record of what happened where, signed) are left as they are.

    >>> _replaced("file:///old/ws/mlruns/fraud/1", "file:///old/ws/", "file:///new/ws/")
    'file:///new/ws/mlruns/fraud/1'
    >>> _replaced("file:///other/mlruns", "file:///old/ws/", "file:///new/ws/") is None
    True
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ferryml.errors import StorageError
from ferryml.storage.atomic import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from ferryml.config.loader import LoadedConfig

MLFLOW_LOCATIONS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
)
"""The columns of MLflow's schema that hold artifact locations (``logged_models``: MLflow 3)."""


def relocate(loaded: LoadedConfig, root: Path) -> Path | None:
    """Point the embedded MLflow and Feast files of the workspace at ``root`` (absolute), if
    it was moved or copied there; the root it came from, or None when it had not moved."""
    old = moved_from(loaded, root)
    if old is None:
        return None
    old_uri, new_uri = old.as_uri() + "/", root.as_uri() + "/"
    tracking = loaded.config.training.tracking
    _rewrite_mlflow(root / "mlflow.db", old_uri, new_uri)
    for mlmodel in (root / tracking.artifacts).rglob("MLmodel"):
        text = mlmodel.read_text(encoding="utf-8")
        if old_uri in text:
            atomic_write_text(mlmodel, text.replace(old_uri, new_uri))
    repo = root / loaded.config.features.store.repo
    old_path, new_path = f"{old}/", f"{root}/"
    store_yaml = repo / "feature_store.yaml"
    if store_yaml.is_file():
        text = store_yaml.read_text(encoding="utf-8")
        if old_path in text:
            atomic_write_text(store_yaml, text.replace(old_path, new_path))
    if (repo / "registry.db").is_file():
        _rewrite_feast_registry(repo / "registry.db", old_path, new_path)
    _forget_cached_artifact_locations()
    return old


def moved_from(loaded: LoadedConfig, root: Path) -> Path | None:
    """The root the workspace's embedded MLflow was made in, when that is not ``root``: the
    project experiment's artifact location, ``file://OLD/<artifacts>/<experiment>``, against
    where it would be now. None without an embedded backend or experiment, or when the
    location was never inside the workspace."""
    tracking = loaded.config.training.tracking
    database = root / "mlflow.db"
    if tracking.uri is not None or not database.is_file():
        return None
    experiment = tracking.experiment or loaded.config.project.name
    expected = (root / tracking.artifacts / experiment).absolute().as_uri()
    try:
        with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT artifact_location FROM experiments WHERE name = ?", (experiment,)
            ).fetchone()
    except sqlite3.Error:
        return None  # not (yet) an MLflow database: nothing can point elsewhere
    stored = row[0] if row else None
    suffix = expected.removeprefix(root.as_uri())
    if not isinstance(stored, str) or stored == expected or not stored.startswith("file://"):
        return None
    if suffix == expected or not stored.endswith(suffix):
        return None  # an artifact root outside the workspace: it did not move with it
    return Path(unquote(urlparse(stored.removesuffix(suffix)).path))


def _forget_cached_artifact_locations() -> None:
    """Empty MLflow's process-wide cache of artifact repositories. It is keyed by run or model
    id alone, and a copied workspace has the same ids as the original: a process that used
    the original (or another copy) would go on reading and logging artifacts there."""
    utils = sys.modules.get("mlflow.tracking._tracking_service.utils")
    cache = getattr(utils, "_artifact_repos_cache", None)
    if cache is not None:
        cache.clear()


def _replaced(value: str, old: str, new: str) -> str | None:
    return new + value[len(old) :] if value.startswith(old) else None


def _rewrite_mlflow(database: Path, old_uri: str, new_uri: str) -> None:
    try:
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
            for table, column in MLFLOW_LOCATIONS:
                if table in tables:  # names from MLFLOW_LOCATIONS, values bound
                    db.execute(
                        f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                        f"WHERE substr({column}, 1, ?) = ?",
                        (new_uri, len(old_uri) + 1, len(old_uri), old_uri),
                    )
    except sqlite3.Error as exc:
        raise StorageError(
            f"cannot point the MLflow database {database} at its new directory: {exc}",
            hint="check that the workspace is writable, or move it back",
        ) from exc


def _rewrite_feast_registry(registry: Path, old: str, new: str) -> None:
    from feast.protos.feast.core.Registry_pb2 import Registry

    proto = Registry()
    proto.ParseFromString(registry.read_bytes())
    if _rewrite_strings(proto, old, new):
        atomic_write_bytes(registry, proto.SerializeToString())


def _rewrite_strings(message: Any, old: str, new: str) -> int:
    """Replace the prefix ``old`` of every string in a protobuf message, nested ones too;
    how many were replaced."""
    count = 0
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                entry = field.message_type.fields_by_name["value"]
                if entry.type == entry.TYPE_MESSAGE:
                    count += sum(_rewrite_strings(item, old, new) for item in value.values())
                elif entry.type == entry.TYPE_STRING:
                    for key, item in list(value.items()):
                        if (replaced := _replaced(item, old, new)) is not None:
                            value[key], count = replaced, count + 1
            else:
                items = value if field.is_repeated else [value]
                count += sum(_rewrite_strings(item, old, new) for item in items)
        elif field.type == field.TYPE_STRING:
            items = list(value) if field.is_repeated else [value]
            for index, item in enumerate(items):
                if (replaced := _replaced(item, old, new)) is None:
                    continue
                count += 1
                if field.is_repeated:
                    value[index] = replaced
                else:
                    setattr(message, field.name, replaced)
    return count
