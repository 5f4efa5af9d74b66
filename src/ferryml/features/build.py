"""``ferry features build``: from a dataset version to a training set and a loaded feature store.

One build, written atomically under ``<offline>/<feature set version>/<dataset version>/``:

- ``training.parquet``: every event with its point-in-time features (and label, label time);
- ``views/<view>.parquet``: the batch views (profiles, label-rate snapshots) — the sources of
  the Feast feature views and what ``ferry features materialize`` loads online;
- ``fitted.json``: the encodings learned on the training window;
- ``manifest.json``: lineage (dataset version, feature set version, fit window, row counts,
  features with owners).

A build of the same feature set on the same dataset version is the same directory: building
twice replaces it as a whole, readers never see a mix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ferryml.data.versioning import DatasetVersion
from ferryml.errors import DataError
from ferryml.features.graph import FeatureSet
from ferryml.features.offline import BatchViews, TrainingSet, build_training_set
from ferryml.features.values import arrow_to_columns
from ferryml.storage.atomic import atomic_directory

MANIFEST = "manifest.json"
TRAINING_FILE = "training.parquet"
FITTED_FILE = "fitted.json"
VIEWS_DIR = "views"


@dataclass(frozen=True)
class FeatureBuild:
    """Where a build went and what it holds."""

    path: Path
    feature_set_version: str
    dataset_ref: str
    rows: int
    fit_until: datetime
    views: Mapping[str, int]
    """Rows per batch view."""
    time_columns: Mapping[str, str]
    """Each batch view's time column."""

    @classmethod
    def from_manifest(cls, path: Path, manifest: Mapping[str, Any]) -> FeatureBuild:
        """The build in ``path`` described by its ``manifest.json``."""
        return cls(
            path,
            manifest["feature_set_version"],
            manifest["dataset"],
            manifest["rows"],
            datetime.fromisoformat(manifest["fit_until"]),
            manifest["views"],
            manifest["view_time_columns"],
        )

    @property
    def training_path(self) -> Path:
        return self.path / TRAINING_FILE

    def view_path(self, view: str) -> Path:
        return self.path / VIEWS_DIR / f"{view}.parquet"


def build_features(
    feature_set: FeatureSet,
    dataset: DatasetVersion,
    *,
    root: Path,
    offline_dir: Path,
    fit_until: datetime | None = None,
    fit_fraction: float = 0.7,
) -> FeatureBuild:
    """Build the training set and batch views of ``dataset`` into ``offline_dir``.

    Fitted encodings learn from the events before ``fit_until`` (default: the first
    ``fit_fraction`` of the dataset's time span, cut at a midnight).
    """
    events = read_events(feature_set, dataset.path)
    profiles = read_profiles(feature_set, root)
    times = arrow_to_columns(events, [feature_set.event_time_column])[feature_set.event_time_column]
    if fit_until is None:
        fit_until = _default_cut(times, fit_fraction)
    offline_dir.mkdir(parents=True, exist_ok=True)
    fit_until_us = (fit_until - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6
    training = build_training_set(
        feature_set, events, profiles, fit_until_us=fit_until_us, spill_dir=offline_dir
    )
    views = training.views
    target = offline_dir / feature_set.version / dataset.version
    offline_dir.mkdir(parents=True, exist_ok=True)
    with atomic_directory(target) as tmp:
        pq.write_table(training.table, tmp / TRAINING_FILE)
        (tmp / VIEWS_DIR).mkdir()
        for name, table in views.tables.items():
            pq.write_table(
                feast_ready(table, views.time_columns[name]), tmp / VIEWS_DIR / f"{name}.parquet"
            )
        (tmp / FITTED_FILE).write_text(json.dumps(training.fitted, indent=2, sort_keys=True))
        manifest = _manifest(feature_set, dataset, training, views, fit_until)
        manifest["profiles"] = profile_lineage(feature_set, root)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return FeatureBuild.from_manifest(target, manifest)


def read_events(feature_set: FeatureSet, path: Path) -> pa.Table:
    """The columns of a dataset version the features and the training set need."""
    schema = feature_set.schema
    wanted = {
        *feature_set.event_columns,
        *schema.columns_with_role("id"),
        *schema.columns_with_role("entity"),
        *schema.columns_with_role("label"),
        *schema.columns_with_role("label_time"),
    }
    columns = [name for name in schema.columns if name in wanted]
    try:
        files = sorted(str(p) for p in Path(path).glob("*.parquet"))
        table = ds.dataset(files, format="parquet").to_table(columns=columns)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(
            f"cannot read the dataset at {path}: {exc}",
            hint="check that the dataset version is intact: ferry data show",
        ) from exc
    return table.sort_by([(feature_set.event_time_column, "ascending")])


def read_profiles(feature_set: FeatureSet, root: Path) -> dict[str, pa.Table]:
    """Each profile's table, read from its path (relative to the workspace root)."""
    tables = {}
    for profile in feature_set.profiles:
        path = root / profile.definition.path
        if not path.exists():
            raise DataError(
                f"profile {profile.name!r}: no table at {path}",
                hint=f"generate or copy it there, or fix features.profiles.{profile.name}.path",
            )
        tables[profile.name] = pq.read_table(path)
    return tables


def feast_ready(table: pa.Table, time_column: str) -> pa.Table:
    """A batch view with its time column as a UTC timestamp, as Feast sources want."""
    micros = pa.array(table.column(time_column).to_numpy().astype(np.int64))
    stamps = micros.cast(pa.timestamp("us", tz="UTC"))
    index = table.column_names.index(time_column)
    return table.set_column(index, time_column, stamps)


def load_views(build: FeatureBuild) -> BatchViews:
    """A build's batch views as the offline computations join them (time columns as float
    µs: the inverse of :func:`feast_ready`)."""
    tables = {}
    for name, time_column in build.time_columns.items():
        table = pq.read_table(build.view_path(name))
        index = table.column_names.index(time_column)
        micros = arrow_to_columns(table, [time_column])[time_column]
        tables[name] = table.set_column(index, time_column, pa.array(micros, pa.float64()))
    return BatchViews(tables, dict(build.time_columns))


def load_build(path: Path) -> dict[str, Any]:
    """The manifest of a build directory."""
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise DataError(f"no feature build at {path}", hint="run `ferry features build` first")
    loaded: dict[str, Any] = json.loads(manifest.read_text())
    return loaded


def profile_lineage(feature_set: FeatureSet, root: Path) -> dict[str, dict[str, str]]:
    """Each profile table's path and sha256, so a build says exactly which file it joined."""
    lineage = {}
    for profile in feature_set.profiles:
        path = root / profile.definition.path
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        lineage[profile.name] = {"path": str(profile.definition.path), "sha256": digest.hexdigest()}
    return lineage


def _default_cut(times_us: np.ndarray[Any, Any], fraction: float) -> datetime:
    start, end = float(np.nanmin(times_us)), float(np.nanmax(times_us))
    cut = start + (end - start) * fraction
    day = datetime.fromtimestamp(cut / 1e6, tz=UTC)
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def _manifest(
    feature_set: FeatureSet,
    dataset: DatasetVersion,
    training: TrainingSet,
    views: BatchViews,
    fit_until: datetime,
) -> dict[str, Any]:
    return {
        "feature_set_version": feature_set.version,
        "project": feature_set.project,
        "dataset": dataset.ref,
        "dataset_content_hash": dataset.content_hash,
        "rows": training.table.num_rows,
        "fit_until": fit_until.isoformat(),
        "views": {name: table.num_rows for name, table in views.tables.items()},
        "view_time_columns": dict(views.time_columns),
        "features": [
            {"name": s.name, "dtype": s.dtype, "owner": s.owner, "description": s.description}
            for s in feature_set.outputs
        ],
        # what the build was compiled from: a model on it can be served after the config's
        # definitions move on (a challenger on another feature-set version than the champion)
        "definitions": feature_set.config.model_dump(mode="json", exclude={"store"}),
    }
