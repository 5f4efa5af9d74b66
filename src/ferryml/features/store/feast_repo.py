"""Feast as ferryml's feature store of record: a Feast repository that ferryml manages.

``FeastRepo`` keeps ``feature_store.yaml`` and ``registry.db`` in one directory of the workspace
(so ``feast feature-views list`` or ``feast ui`` work there too; ``feast apply`` does not:
there are no Python definitions in that directory, so it would delete ferryml's objects) and
compiles a :class:`~ferryml.features.spec.FeatureSetSpec` into Feast objects::

    repo = FeastRepo(root / "feature_repo", "fraud-eu", RedisOnlineStoreConfig(),
                     redis_url="redis://127.0.0.1:6379/0")
    repo.apply(spec)                                   # registry = spec, nothing more
    repo.write_online("customer_profile", table)       # latest row per customer
    repo.read_online("customer_profile", ["c1", "zz"]) # [{'n_tx': 3, ...}, None]
    repo.historical(events, ["customer_profile:n_tx"]) # point-in-time join

Choices, each measured or read in Feast 0.67's source, are told where they are made:

- ``import feast`` takes 7-13 s, so it happens inside methods, never when ferryml is imported.
- **Project names and Redis URLs**: :mod:`ferryml.features.store.names`.
- **Types and request views**: :mod:`ferryml.features.store.compile`.
- **Online reads and writes**: :mod:`ferryml.features.store.online`; writes go through
  ``write_to_online_store`` (faster than ``materialize``, which would also re-read the
  Parquet source).
- **Historical retrieval**: :mod:`ferryml.features.store.historical`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from ferryml._optional import require
from ferryml.errors import DataError, InvalidInputError
from ferryml.features.spec import FeatureSetSpec

# Re-exported for the names' old home. computed_by_ferryml must stay importable here: Feast
# registries written while it was defined in this module pickled it (with dill) by reference
# to ferryml.features.store.feast_repo.computed_by_ferryml, and load only if that resolves.
from ferryml.features.store.compile import (
    DTYPE_TAG,
    FEATURE_SET_VERSION_TAG,
    Compiled,
    check_spec,
    computed_by_ferryml,
)
from ferryml.features.store.config import (
    OfflineStoreConfig,
    RedisOnlineStoreConfig,
    SqliteOnlineStoreConfig,
)
from ferryml.features.store.feast_errors import calling_feast, did_you_mean
from ferryml.features.store.historical import point_in_time
from ferryml.features.store.names import feast_project_name, redis_connection_string
from ferryml.features.store.online import (
    View,
    decode_row,
    latest_per_entity,
    newer_than_stored,
    prepare_rows,
    resolve_view,
)
from ferryml.features.store.row_reads import (
    RedisRowReads,
    RowReads,
    SqliteRowReads,
    redis_errors,
)
from ferryml.features.windows.state.base import (
    Events,
    WindowStateStore,
    WindowUpdate,
)
from ferryml.names import validate_project_name
from ferryml.storage.keyspace import same_server

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from feast import FeatureStore

ENTITY_KEY_SERIALIZATION_VERSION = 3
"""Feast 0.67 writes v3 keys and deprecates anything lower."""


@dataclass(frozen=True)
class FeatureViewInfo:
    """One view in the registry, as ``ferry features list`` shows it."""

    name: str
    kind: Literal["batch", "request"]
    entities: tuple[str, ...]
    fields: tuple[str, ...]
    sources: tuple[str, ...]
    online: bool
    ttl: timedelta | None
    owner: str
    description: str
    feature_set_version: str | None


class FeastRepo:
    """The Feast repository of one project in ``repo_dir``; Feast is built on first use."""

    def __init__(
        self,
        repo_dir: Path,
        project: str,
        online_store: SqliteOnlineStoreConfig | RedisOnlineStoreConfig | None = None,
        offline_store: OfflineStoreConfig | None = None,
        *,
        redis_url: str | None = None,
        root: Path | None = None,
        request_timeout: float | None = None,
    ) -> None:
        """``redis_url`` (storage.redis_url) serves a Redis store without its own ``url``;
        relative paths in the store configs are relative to ``root`` (default: ``repo_dir``);
        ``request_timeout`` bounds each online read of a Redis store, without retries (a
        request path with a fallback), instead of the default timeout and retries."""
        self.repo_dir = Path(repo_dir).absolute()
        self.project = validate_project_name(project)
        self.feast_project = feast_project_name(project)
        self.online_store = online_store or SqliteOnlineStoreConfig()
        self.offline_store = offline_store or OfflineStoreConfig()
        self._redis_url = redis_url
        self._request_timeout = request_timeout
        self._root = Path(root).absolute() if root is not None else self.repo_dir
        self._fs: FeatureStore | None = None
        self._views: dict[str, View] = {}
        self._rows: RowReads | None = None

    @property
    def config_path(self) -> Path:
        return self.repo_dir / "feature_store.yaml"

    @property
    def registry_path(self) -> Path:
        return self.repo_dir / "registry.db"

    def feast_config(self) -> dict[str, Any]:
        """The content of ``feature_store.yaml``."""
        online: dict[str, Any]
        if isinstance(self.online_store, SqliteOnlineStoreConfig):
            path = self._root / self.online_store.path
            online = {"type": "sqlite", "path": str(path)}
        else:
            url = self.online_store.url or self._redis_url
            if url is None:
                raise InvalidInputError(
                    "the Redis online store has no URL",
                    hint="set features.online_store.url or storage.redis_url",
                )
            online = {"type": "redis", "connection_string": redis_connection_string(url)}
        return {
            "project": self.feast_project,
            "provider": "local",
            "registry": {"registry_type": "file", "path": self.registry_path.name},
            "online_store": online,
            "offline_store": {"type": self.offline_store.type},
            "entity_key_serialization_version": ENTITY_KEY_SERIALIZATION_VERSION,
        }

    def write_config(self) -> Path:
        """Write ``feature_store.yaml`` atomically (mode 0600: it may hold a Redis password)."""
        # Imported here: ferryml.storage pulls in SQLAlchemy and Alembic (~2 s).
        from ferryml.storage.atomic import atomic_write_text

        text = yaml.safe_dump(self.feast_config(), sort_keys=False)
        if not self.config_path.exists() or self.config_path.read_text() != text:
            atomic_write_text(self.config_path, text)
        return self.config_path

    def store(self) -> FeatureStore:
        """The ``feast.FeatureStore`` (built on first call: this imports Feast)."""
        if self._fs is None:
            self.write_config()
            if isinstance(self.online_store, SqliteOnlineStoreConfig):
                # Feast creates the file's directory without parents=True.
                (self._root / self.online_store.path).parent.mkdir(parents=True, exist_ok=True)
            if self.offline_store.type == "duckdb":
                require("ibis", extra="feast-duckdb", purpose="Feast's DuckDB offline store")
            feast = require("feast", extra="core", purpose="the feature store")
            with calling_feast(f"load {self.config_path}", InvalidInputError):
                self._fs = feast.FeatureStore(repo_path=str(self.repo_dir))
        return self._fs

    def apply(self, spec: FeatureSetSpec) -> None:
        """Make the registry hold exactly ``spec``: create and update its objects, delete the
        project's objects it no longer declares. Applying the same spec again changes nothing."""
        if spec.project != self.project:
            raise InvalidInputError(
                f"the feature set of project {spec.project!r} cannot be applied to the Feast "
                f"repository of project {self.project!r} in {self.repo_dir}"
            )
        check_spec(spec)
        store = self.store()
        with calling_feast("apply the feature set", InvalidInputError):
            compiled = Compiled.from_spec(spec)
            existing: list[Any] = [
                *store.list_entities(),
                *store.list_data_sources(),
                *store.list_feature_views(),
                *store.list_on_demand_feature_views(),
            ]
            wanted = compiled.keys()
            stale = [
                obj
                for obj in existing
                if (type(obj).__name__, obj.name) not in wanted and obj.name != "__dummy"
            ]
            if stale:  # first, so that a name moving between kinds never meets itself
                store.apply([], objects_to_delete=stale, partial=False)
            store.apply([*compiled.entities, *compiled.sources, *compiled.views])
            registry = store.registry
            for source in compiled.request_sources:
                registry.apply_data_source(source, project=self.feast_project, commit=False)
            for odfv in compiled.request_views:
                registry.apply_feature_view(odfv, project=self.feast_project, commit=False)
            # Feast leaves these two unannotated.
            registry.commit()  # type: ignore[no-untyped-call]
            store.refresh_registry()  # type: ignore[no-untyped-call]
        self._views.clear()

    def write_online(self, view_name: str, table: pa.Table) -> int:
        """Load the newest row per entity of ``table`` into the online store; return how many.

        A row replaces what the store holds only when it is newer (to the second on SQLite,
        which stores whole seconds): re-loading an older snapshot never rolls features back.
        """
        view = self._view(view_name)
        if not view.online:
            raise InvalidInputError(
                f"view {view_name!r} is offline-only, it has no online rows",
                hint=f"set online: true on {view_name!r} to serve it",
            )
        rows = latest_per_entity(prepare_rows(table, view, view_name), view)
        rows = newer_than_stored(rows, view)
        if rows.num_rows == 0:
            return 0
        frame = rows.to_pandas()
        with calling_feast(f"write view {view_name!r} to the online store", DataError):
            self.store().write_to_online_store(view_name, df=frame)
        return int(rows.num_rows)

    def read_online(
        self, view_name: str, entity_keys: Sequence[str]
    ) -> list[dict[str, Any] | None]:
        """The online features of each entity, ``None`` for an entity the store does not hold.

        Views are resolved once (no registry lookup per call): after an apply by another
        process, call :meth:`refresh`.
        """
        return self.read_online_rows([(view_name, key) for key in entity_keys])

    def read_online_rows(self, lookups: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """The online row of each ``(view name, entity key)``, in one round trip to the store
        (one SQL statement, or one Redis pipeline); ``None`` where the store holds none."""
        resolved = self._resolve(lookups)
        raws = self._row_reads().read(resolved)
        return [decode_row(view, raw) for (view, _), raw in zip(resolved, raws, strict=True)]

    def read_online_with_windows(
        self,
        lookups: Sequence[tuple[str, str]],
        windows: WindowStateStore,
        updates: Sequence[WindowUpdate],
    ) -> tuple[list[dict[str, Any] | None], list[Events]]:
        """:meth:`read_online_rows` and ``windows.read_and_append(updates)`` of one request:
        in one round trip when the online store and the window state are one Redis database
        (one script call: a request then waits on the network once, not twice), else one after
        the other."""
        from ferryml.features.windows.state.redis import RedisWindowStore

        resolved = self._resolve(lookups)
        rows = self._row_reads()
        if not (
            updates
            and isinstance(rows, RedisRowReads)
            and isinstance(windows, RedisWindowStore)
            and same_server(rows.client, windows.client)
        ):
            raws = rows.read(resolved)
            histories = windows.read_and_append(updates)
        else:
            hash_reads, parse = rows.hash_reads(resolved)
            with redis_errors():
                values, histories = windows.read_hashes_and_append(hash_reads, updates)
            raws = parse(values)
        decoded = [decode_row(view, raw) for (view, _), raw in zip(resolved, raws, strict=True)]
        return decoded, histories

    def _resolve(self, lookups: Sequence[tuple[str, str]]) -> list[tuple[View, str]]:
        resolved = []
        for view_name, key in lookups:
            view = self._views.get(view_name) or self._view(view_name)
            if not view.online:
                raise InvalidInputError(
                    f"view {view_name!r} is offline-only, it has no online rows",
                    hint=f"set online: true on {view_name!r} to serve it",
                )
            resolved.append((view, key))
        return resolved

    def _row_reads(self) -> RowReads:
        if self._rows is None:
            versioned = bool(self.store().config.registry.enable_online_feature_view_versioning)
            if isinstance(self.online_store, SqliteOnlineStoreConfig):
                self._rows = SqliteRowReads(
                    self._root / self.online_store.path,
                    self.feast_project,
                    versioned_tables=versioned,
                )
            else:
                from ferryml.storage.keyspace import connect_redis

                url = self.online_store.url or self._redis_url
                assert url is not None  # feast_config() refused a Redis store without one
                client = (
                    connect_redis(url)
                    if self._request_timeout is None
                    else connect_redis(url, timeout=self._request_timeout, retries=0)
                )
                self._rows = RedisRowReads(client, self.feast_project, versioned_names=versioned)
        return self._rows

    def close(self) -> None:
        """Close the connection of online reads (Feast's own connections stay with Feast)."""
        if self._rows is not None:
            self._rows.close()
            self._rows = None

    def refresh(self) -> None:
        """Forget the resolved views and reload the registry (after an apply elsewhere)."""
        self._views.clear()
        if self._fs is not None:
            with calling_feast("reload the registry", DataError):
                self._fs.refresh_registry()  # type: ignore[no-untyped-call]  # unannotated

    def historical(
        self,
        entity_df: pd.DataFrame,
        features: Sequence[str],
        *,
        full_feature_names: bool = False,
    ) -> pd.DataFrame:
        """``entity_df`` (entity keys and ``event_timestamp``) with one column per feature
        (``"view:field"``), each as of its row's event time: see
        :mod:`ferryml.features.store.historical` for the join's rules.

        Every input row is kept, in order; ``event_timestamp`` comes back in UTC (naive
        times are read as UTC); int features are pandas ``Int64`` (nullable).
        """
        refs = list(dict.fromkeys(features))
        views = self._views_of(refs)
        return point_in_time(
            self.store, views, refs, entity_df, full_feature_names=full_feature_names
        )

    def list_feature_views(self) -> list[FeatureViewInfo]:
        """Every batch and request view in the registry, by name."""
        store = self.store()
        with calling_feast("list the feature views", DataError):
            batch = store.list_feature_views(allow_cache=True)
            request = store.list_on_demand_feature_views(allow_cache=True)
        infos = [
            FeatureViewInfo(
                name=fv.name,
                kind="batch",
                entities=tuple(fv.entities),
                fields=tuple(f.name for f in fv.features),
                sources=(fv.batch_source.name,) if fv.batch_source is not None else (),
                online=fv.online,
                ttl=fv.ttl or None,
                owner=fv.owner,
                description=fv.description,
                feature_set_version=fv.tags.get(FEATURE_SET_VERSION_TAG),
            )
            for fv in batch
        ] + [
            FeatureViewInfo(
                name=odfv.name,
                kind="request",
                entities=(),
                fields=tuple(f.name for f in odfv.features),
                sources=(
                    *odfv.source_feature_view_projections,
                    *odfv.source_request_sources,
                ),
                online=True,
                ttl=None,
                owner=odfv.owner,
                description=odfv.description,
                feature_set_version=odfv.tags.get(FEATURE_SET_VERSION_TAG),
            )
            for odfv in request
        ]
        return sorted(infos, key=lambda info: info.name)

    def teardown(self) -> None:
        """Delete the project's online rows, its registry and ``feature_store.yaml``.

        On SQLite, Feast deletes the whole online store file.
        """
        self.close()
        if self.registry_path.exists():
            store = self.store()
            with calling_feast("tear down the feature store", DataError):
                store.teardown()  # type: ignore[no-untyped-call]  # unannotated in Feast
        self._fs = None
        self._views.clear()
        self.registry_path.unlink(missing_ok=True)
        self.config_path.unlink(missing_ok=True)

    def _view(self, name: str) -> View:
        view = resolve_view(self.store(), name, self.project)
        self._views[name] = view
        return view

    def _views_of(self, refs: Sequence[str]) -> dict[str, View]:
        views: dict[str, View] = {}
        for ref in refs:
            view_name, sep, field = ref.partition(":")
            if not sep or not view_name or not field:
                raise InvalidInputError(f"feature reference {ref!r} is not 'view:field'")
            view = views.get(view_name) or self._view(view_name)
            if field not in view.dtypes:
                raise InvalidInputError(
                    f"view {view_name!r} has no field {field!r}"
                    + did_you_mean(field, list(view.dtypes))
                )
            views[view_name] = view
        return views


__all__ = [
    "DTYPE_TAG",
    "FEATURE_SET_VERSION_TAG",
    "FeastRepo",
    "FeatureViewInfo",
    "computed_by_ferryml",
    "feast_project_name",
    "redis_connection_string",
]
