"""A project's feature store: its compiled feature set, builds, Feast repository and online path.

    store = ProjectFeatureStore.from_config(loaded_config)
    build = store.build(dataset_version)          # training set + views, Feast apply, online load
    online = store.online(build)                  # OnlineFeatures for serving
    online.vector({"transaction_id": ..., "event_time": ..., ...})

``materialize`` reloads the online store and the window state from the latest build (needed
after a Redis restart: the local Redis keeps nothing on disk).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ferryml.config.loader import LoadedConfig
from ferryml.data.versioning import DatasetVersion
from ferryml.errors import DataError
from ferryml.features.build import (
    FITTED_FILE,
    MANIFEST,
    FeatureBuild,
    build_features,
    load_build,
)
from ferryml.features.catalog import feature_set_spec
from ferryml.features.graph import FeatureSet, compile_features
from ferryml.features.offline import load_fitted
from ferryml.features.online import OnlineFeatures
from ferryml.features.store import FeastRepo, RedisOnlineStoreConfig
from ferryml.features.values import arrow_to_array, to_micros
from ferryml.features.windows import WindowStateStore, open_window_store


@dataclass(frozen=True)
class Materialized:
    """What ``materialize`` loaded: rows per online view and events per window group."""

    views: Mapping[str, int]
    windows: Mapping[str, int]
    as_of: datetime


class ProjectFeatureStore:
    """The feature store of one project, rooted in its workspace."""

    def __init__(
        self, loaded: LoadedConfig, root: Path, *, request_timeout: float | None = None
    ) -> None:
        """``request_timeout``: seconds each online read of a Redis store may take, without
        retries (serving sets it; batch work keeps the patient default)."""
        self.loaded = loaded
        self.root = root
        self.request_timeout = request_timeout
        config = loaded.config
        self.settings = config.features.store
        self.offline_dir = root / self.settings.offline

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> ProjectFeatureStore:
        from ferryml.workspace import Workspace

        return cls(loaded, Workspace.from_config(loaded).root)

    @cached_property
    def feature_set(self) -> FeatureSet:
        """The compiled feature set (a :class:`ConfigError` names every bad definition)."""
        config = self.loaded.config
        return compile_features(
            config.project.name, config.features, config.schema_, source=self.loaded.source
        )

    @cached_property
    def repo(self) -> FeastRepo:
        """The project's Feast repository (Feast itself loads on first use)."""
        config = self.loaded.config
        return FeastRepo(
            self.root / self.settings.repo,
            config.project.name,
            self.settings.online_store,
            self.settings.offline_store,
            redis_url=config.storage.redis_url,
            root=self.root,
            request_timeout=self.request_timeout,
        )

    def build(self, dataset: DatasetVersion, *, fit_until: datetime | None = None) -> FeatureBuild:
        """Training set and batch views of ``dataset``; registers them in Feast and loads the
        online store and window state as of the end of the data."""
        build = build_features(
            self.feature_set,
            dataset,
            root=self.root,
            offline_dir=self.offline_dir,
            fit_until=fit_until,
            fit_fraction=self.settings.fit_fraction,
        )
        self.repo.apply(feature_set_spec(self.feature_set, build))
        return build

    def builds(self) -> list[FeatureBuild]:
        """Every build of every feature set version, newest first."""
        found = []
        for manifest in self.offline_dir.glob(f"*/*/{MANIFEST}"):
            found.append(FeatureBuild.from_manifest(manifest.parent, load_build(manifest.parent)))
        return sorted(found, key=lambda b: b.path.stat().st_mtime, reverse=True)

    def latest_build(self) -> FeatureBuild:
        """The newest build of the current feature set version."""
        for build in self.builds():
            if build.feature_set_version == self.feature_set.version:
                return build
        raise DataError(
            f"no feature build of feature set {self.feature_set.version}",
            hint="run `ferry features build` (the definitions changed since the last build, or "
            "none was made)",
        )

    def materialize(
        self, build: FeatureBuild | None = None, *, as_of: datetime | None = None
    ) -> Materialized:
        """Load the online store (latest row per entity at or before ``as_of``) and the window
        state (events within each window group's horizon before ``as_of``) from ``build``.

        ``as_of`` defaults to the end of the build's data: the day after its last event.
        """
        build = build or self.latest_build()
        training = pq.read_table(build.training_path)
        times = arrow_to_array(training.column(self.feature_set.event_time_column))
        if as_of is None:
            last_day = float(np.nanmax(times)) // 86_400e6 + 1
            as_of = datetime.fromtimestamp(last_day * 86_400, tz=UTC)
        cutoff = to_micros(as_of)
        views = {}
        for name, time_column in build.time_columns.items():
            table = pq.read_table(build.view_path(name))
            known = rows_until(table, time_column, cutoff)
            self.repo.write_online(name, known)  # keeps the newest row of each entity
            views[name] = pc.count_distinct(known.column(self._key_of(name))).as_py()
        windows = {}
        with self.window_store() as store:
            for node in self.feature_set.windows:
                store.clear(node.name)
                keep = (times < cutoff) & (times > cutoff - node.aggregation.horizon_us)
                subset = training.filter(pa.array(keep))
                windows[node.name] = store.bulk_load(
                    node.name,
                    arrow_to_array(subset.column(node.key_column)),
                    arrow_to_array(subset.column(node.time_column)).astype(np.int64),
                    arrow_to_array(subset.column(self._id_column)),
                    arrow_to_array(subset.column(node.value)),
                    node.aggregation.horizon_us,
                )
        return Materialized(views, windows, as_of)

    def online(self, build: FeatureBuild | None = None) -> OnlineFeatures:
        """The online feature path with the encodings fitted in ``build`` (default: latest)."""
        build = build or self.latest_build()
        fitted = json.loads((build.path / FITTED_FILE).read_text())
        load_fitted(self.feature_set, fitted)
        return OnlineFeatures(self.feature_set, self.repo, self.window_store())

    def window_store(self) -> WindowStateStore:
        """The window state beside the online store: Redis with Redis, else a SQLite file."""
        project = self.loaded.config.project.name
        online = self.settings.online_store
        if isinstance(online, RedisOnlineStoreConfig):
            url = online.url or self.loaded.config.storage.redis_url
            if self.request_timeout is None:
                return open_window_store("redis", project=project, url=url)
            timeout = self.request_timeout
            return open_window_store("redis", project=project, url=url, timeout=timeout, retries=0)
        path = self.root / self.settings.window_state
        path.parent.mkdir(parents=True, exist_ok=True)
        return open_window_store("sqlite", project=project, path=path)

    @property
    def _id_column(self) -> str:
        return self.feature_set.schema.columns_with_role("id")[0]

    def _key_of(self, view: str) -> str:
        for node in self.feature_set.joined_views:
            if node.name == view:
                return node.key_column
        raise DataError(f"the build has a view {view!r} the feature set does not declare")


def rows_until(table: pa.Table, time_column: str, cutoff_us: float) -> pa.Table:
    """The rows of a batch view stamped at or before ``cutoff_us``."""
    stamps = pc.cast(pc.cast(table.column(time_column), pa.timestamp("us", tz="UTC")), pa.int64())
    return table.filter(pc.less_equal(stamps, int(cutoff_us)))
