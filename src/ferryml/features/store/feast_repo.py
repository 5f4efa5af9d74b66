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

Choices, each measured or read in Feast 0.67's source:

- ``import feast`` takes 7-13 s, so it happens inside methods, never when ferryml is imported.
- **Project names.** Feast projects allow ``[A-Za-z0-9_]``; see :func:`feast_project_name`.
- **Types.** int -> ``Int64``, float -> ``Float64``, string -> ``String``; ``timestamp``
  (int64 microseconds in ferryml) -> ``Int64`` with the field tag ``ferryml_dtype=timestamp``,
  not ``UnixTimestamp``, which Feast stores in whole seconds (``unix_timestamp_val``) and
  would silently drop the microseconds.
- **Request views** are registered as ``OnDemandFeatureView`` whose UDF is
  :func:`computed_by_ferryml`: see there why, and why they bypass Feast's UDF inference.
- **Online reads** call the online store's ``online_read`` with a prebuilt ``EntityKey``
  and a cached ``FeatureView``: p50 a third of ``get_online_features``'s on SQLite, half on
  Redis (``benchmarks/feast_online.py``), through the same Feast store classes.
- **Online writes** use ``write_to_online_store`` (faster than ``materialize``, which would
  also re-read the Parquet source) with the latest row per entity, after dropping rows no
  newer than what the store holds: Feast's SQLite store overwrites whatever comes last
  while its Redis store keeps the newest, and ferryml wants one rule on both.
- **Historical retrieval** is Feast's point-in-time join: for each entity row, the feature
  row of the same key with the greatest timestamp ``t <= event_timestamp`` (inclusive), and,
  when the view has a TTL, ``t >= event_timestamp - ttl`` (inclusive too); no such row gives
  nulls; two rows of one key at the same time: Feast takes either. TTL plays no part online:
  ``read_online`` returns the last row written, however old. Feast's file store *drops* an
  entity row that one view has no match for (losing the other views' values too) and
  collapses duplicate (key, time) rows: ferryml asks Feast one view at a time for the
  distinct (key, time) pairs and keeps every input row, in order.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

import yaml

from ferryml._optional import require
from ferryml.errors import (
    DataError,
    FerryError,
    InvalidInputError,
    ServiceUnavailableError,
    StorageError,
)
from ferryml.features.spec import FeatureSetSpec, FieldSpec, FieldType
from ferryml.features.store.config import (
    OfflineStoreConfig,
    RedisOnlineStoreConfig,
    SqliteOnlineStoreConfig,
)
from ferryml.names import validate_project_name

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from feast import FeatureStore, FeatureView

FEATURE_SET_VERSION_TAG = "ferryml_feature_set_version"
DTYPE_TAG = "ferryml_dtype"
FEAST_PROJECT_PREFIX = "Ferryml_"
ENTITY_KEY_SERIALIZATION_VERSION = 3
"""Feast 0.67 writes v3 keys and deprecates anything lower."""
EVENT_TIMESTAMP = "event_timestamp"

_FEAST_TYPES: dict[FieldType, str] = {
    "int": "Int64",
    "float": "Float64",
    "string": "String",
    "timestamp": "Int64",
}
_PROTO_FIELDS: dict[FieldType, str] = {
    "int": "int64_val",
    "float": "double_val",
    "string": "string_val",
    "timestamp": "int64_val",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_READ_CHUNK = 5_000
_REDIS_TIMEOUT_S = 2


def feast_project_name(project: str) -> str:
    """The Feast project of a ferryml project: ``Ferryml_`` + the name with ``-`` as ``_``.

    Names holding ``_`` are escaped (``_`` -> ``_0``, ``-`` -> ``_1``, after a ``0``) so that no
    two ferryml projects share a Feast project. The uppercase prefix matters: Feast's Redis
    store deletes keys by the glob ``*{project}``, and no mapped name ends with another one.

    >>> feast_project_name("fraud-eu"), feast_project_name("fraud_eu")
    ('Ferryml_fraud_eu', 'Ferryml_0fraud_0eu')
    """
    name = validate_project_name(project)
    if "_" in name:
        return FEAST_PROJECT_PREFIX + "0" + name.replace("_", "_0").replace("-", "_1")
    return FEAST_PROJECT_PREFIX + name.replace("-", "_")


def computed_by_ferryml(inputs: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The UDF recorded for every ferryml request view; it refuses to run.

    ferryml computes request features itself (one code path for training, batch and serving);
    the Feast ``OnDemandFeatureView`` records their inputs, outputs and owner. Feast pickles a
    UDF with dill: a closure or a function made at run time is pickled *by value* (bytecode
    that only loads on the same Python version, plus whatever it captured). This one is a
    module-level function with no closure and no globals, so dill pickles it by reference
    (``ferryml.features.store.feast_repo.computed_by_ferryml``, 72 bytes): the registry loads
    wherever ferryml is installed. Since it computes nothing, Feast's apply-time inference (which
    runs the UDF on made-up inputs) cannot run: ferryml registers these views itself, with the
    schema from the spec.
    """
    raise InvalidInputError(
        f"ferryml request views are computed by ferryml, not by Feast (inputs: {sorted(inputs)})",
        hint="read request features through ferryml's online path or its offline builder",
    )


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
    ) -> None:
        """``redis_url`` (storage.redis_url) serves a Redis store without its own ``url``;
        relative paths in the store configs are relative to ``root`` (default: ``repo_dir``)."""
        self.repo_dir = Path(repo_dir).absolute()
        self.project = validate_project_name(project)
        self.feast_project = feast_project_name(project)
        self.online_store = online_store or SqliteOnlineStoreConfig()
        self.offline_store = offline_store or OfflineStoreConfig()
        self._redis_url = redis_url
        self._root = Path(root).absolute() if root is not None else self.repo_dir
        self._fs: FeatureStore | None = None
        self._views: dict[str, _View] = {}

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
            with _calling_feast(f"load {self.config_path}", InvalidInputError):
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
        _check_spec(spec)
        store = self.store()
        with _calling_feast("apply the feature set", InvalidInputError):
            compiled = _Compiled.from_spec(spec)
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
        rows = _latest_per_entity(_prepare_rows(table, view, view_name), view)
        rows = self._newer_than_stored(rows, view)
        if rows.num_rows == 0:
            return 0
        frame = rows.to_pandas()
        with _calling_feast(f"write view {view_name!r} to the online store", DataError):
            self.store().write_to_online_store(view_name, df=frame)
        return int(rows.num_rows)

    def read_online(
        self, view_name: str, entity_keys: Sequence[str]
    ) -> list[dict[str, Any] | None]:
        """The online features of each entity, ``None`` for an entity the store does not hold.

        Calls the Feast online store's ``online_read`` with the cached view: no registry
        lookup, no feature-reference parsing, no response protobuf per call. Views are
        resolved once: after an apply by another process, call :meth:`refresh`.
        """
        view = self._views.get(view_name) or self._view(view_name)
        if not view.online:
            raise InvalidInputError(f"view {view_name!r} is offline-only, it has no online rows")
        protos = [view.entity_key(key) for key in entity_keys]
        if not protos:
            return []
        try:
            rows = view.read(view.config, view.feature_view, protos, None)
        except Exception as exc:
            raise _wrapped(f"read view {view_name!r} online", exc, DataError) from exc
        out: list[dict[str, Any] | None] = []
        for timestamp, values in rows:
            if values is None:
                out.append(None)
                continue
            # Feast's Redis store answers the epoch and empty values for a key it lacks.
            found = timestamp is not None and timestamp != _EPOCH
            record: dict[str, Any] = {}
            for name, proto_field in view.fields:
                value = values.get(name)
                if value is not None and value.WhichOneof("val") == proto_field:
                    record[name] = getattr(value, proto_field)
                    found = True
                else:
                    record[name] = None
            out.append(record if found else None)
        return out

    def refresh(self) -> None:
        """Forget the resolved views and reload the registry (after an apply elsewhere)."""
        self._views.clear()
        if self._fs is not None:
            with _calling_feast("reload the registry", DataError):
                self._fs.refresh_registry()  # type: ignore[no-untyped-call]  # unannotated

    def historical(
        self,
        entity_df: pd.DataFrame,
        features: Sequence[str],
        *,
        full_feature_names: bool = False,
    ) -> pd.DataFrame:
        """``entity_df`` (entity keys and ``event_timestamp``) with one column per feature
        (``"view:field"``), each as of its row's event time; see the module docstring.

        Every input row is kept, in order; ``event_timestamp`` comes back in UTC (naive
        times are read as UTC); int features are pandas ``Int64`` (nullable).
        """
        import pandas as pd

        refs = list(dict.fromkeys(features))
        views = self._views_of(refs)
        columns = {
            ref: ref.replace(":", "__") if full_feature_names else ref.split(":", 1)[1]
            for ref in refs
        }
        clashes = sorted({c for c in columns.values() if list(columns.values()).count(c) > 1})
        if clashes:
            raise InvalidInputError(
                f"features {clashes} come from more than one view",
                hint="ask with full_feature_names=True to get 'view__field' columns",
            )
        keys = sorted({view.join_key for view in views.values()})
        missing = [col for col in [*keys, EVENT_TIMESTAMP] if col not in entity_df.columns]
        if missing:
            raise InvalidInputError(
                f"the entity frame lacks the columns {missing} needed for {refs}; "
                f"it has {list(entity_df.columns)}"
            )
        frame = entity_df.loc[:, [*keys, EVENT_TIMESTAMP]].reset_index(drop=True)
        frame[EVENT_TIMESTAMP] = pd.to_datetime(frame[EVENT_TIMESTAMP], utc=True)
        out = entity_df.copy()
        out[EVENT_TIMESTAMP] = frame[EVENT_TIMESTAMP].to_numpy()
        # One Feast query per view: Feast's file store joins views one after the other and
        # drops an entity row that one view has no row for, losing the other views' values.
        for view_name, view in views.items():
            view_refs = [ref for ref in refs if ref.split(":", 1)[0] == view_name]
            on = [view.join_key, EVENT_TIMESTAMP]
            with _calling_feast(f"retrieve historical features of {view_name!r}", DataError):
                result = (
                    self.store()
                    .get_historical_features(
                        entity_df=frame.loc[:, on].drop_duplicates(ignore_index=True),
                        features=view_refs,
                        full_feature_names=full_feature_names,
                    )
                    .to_df()
                )
            result[EVENT_TIMESTAMP] = pd.to_datetime(result[EVENT_TIMESTAMP], utc=True)
            wanted = [columns[ref] for ref in view_refs]
            merged = frame.loc[:, on].merge(
                result.loc[:, [*on, *wanted]], on=on, how="left", validate="many_to_one"
            )
            for ref in view_refs:
                values = merged[columns[ref]]
                if view.dtypes[ref.split(":", 1)[1]] in ("int", "timestamp"):
                    values = values.astype("Int64")
                out[columns[ref]] = values.array
        return out

    def list_feature_views(self) -> list[FeatureViewInfo]:
        """Every batch and request view in the registry, by name."""
        store = self.store()
        with _calling_feast("list the feature views", DataError):
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
        if self.registry_path.exists():
            store = self.store()
            with _calling_feast("tear down the feature store", DataError):
                store.teardown()  # type: ignore[no-untyped-call]  # unannotated in Feast
        self._fs = None
        self._views.clear()
        self.registry_path.unlink(missing_ok=True)
        self.config_path.unlink(missing_ok=True)

    def _view(self, name: str) -> _View:
        store = self.store()
        with _calling_feast(f"look up view {name!r}", DataError):
            batch = {fv.name: fv for fv in store.list_feature_views(allow_cache=True)}
            request = {v.name for v in store.list_on_demand_feature_views(allow_cache=True)}
        fv = batch.get(name)
        if fv is None:
            if name in request:
                raise InvalidInputError(
                    f"{name!r} is a request view: ferryml computes it, Feast stores none of it"
                )
            raise InvalidInputError(
                f"no batch view {name!r} in the Feast registry of project {self.project!r}"
                + _did_you_mean(name, [*batch, *request]),
                hint="apply the feature set first (`ferry features apply`)",
            )
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        dtypes: dict[str, FieldType] = {f.name: _ferry_dtype(f) for f in fv.features}
        assert fv.batch_source is not None  # every ferryml batch view has its Parquet source
        view = _View(
            feature_view=fv,
            join_key=fv.join_keys[0],
            timestamp_field=fv.batch_source.timestamp_field,
            fields=tuple((name, _PROTO_FIELDS[dtype]) for name, dtype in dtypes.items()),
            dtypes=dtypes,
            online=fv.online,
            config=store.config,
            read=store.provider.online_store.online_read,
            key_proto=EntityKey,
            value_proto=Value,
        )
        self._views[name] = view
        return view

    def _views_of(self, refs: Sequence[str]) -> dict[str, _View]:
        views: dict[str, _View] = {}
        for ref in refs:
            view_name, sep, field = ref.partition(":")
            if not sep or not view_name or not field:
                raise InvalidInputError(f"feature reference {ref!r} is not 'view:field'")
            view = views.get(view_name) or self._view(view_name)
            if field not in view.dtypes:
                raise InvalidInputError(
                    f"view {view_name!r} has no field {field!r}"
                    + _did_you_mean(field, list(view.dtypes))
                )
            views[view_name] = view
        return views

    def _newer_than_stored(self, rows: pa.Table, view: _View) -> pa.Table:
        """``rows`` without those no newer than what the online store already holds."""
        import pyarrow as pa

        keys = rows.column(view.join_key).to_pylist()
        stamps = rows.column(view.timestamp_field).to_pylist()
        keep: list[bool] = []
        for start in range(0, len(keys), _READ_CHUNK):
            chunk = keys[start : start + _READ_CHUNK]
            protos = [view.entity_key(key) for key in chunk]
            with _calling_feast("read the online store before writing", DataError):
                # One feature is enough for the timestamp (stores that honour the list read
                # less); a new list each time: Feast's Redis store appends to it.
                stored = view.read(view.config, view.feature_view, protos, [view.fields[0][0]])
            for (held, _), stamp in zip(stored, stamps[start : start + _READ_CHUNK], strict=True):
                when = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
                keep.append(held is None or held == _EPOCH or when > held)
        return rows.filter(pa.array(keep, pa.bool_())) if not all(keep) else rows


@dataclass(frozen=True)
class _View:
    """What an online read needs, resolved once per view: no registry access per request."""

    feature_view: FeatureView
    join_key: str
    timestamp_field: str
    fields: tuple[tuple[str, str], ...]
    """(feature name, ValueProto field) pairs."""
    dtypes: dict[str, FieldType]
    online: bool
    config: Any
    read: Callable[..., list[tuple[datetime | None, dict[str, Any] | None]]]
    key_proto: Any
    value_proto: Any

    def entity_key(self, key: str) -> Any:
        """Feast's ``EntityKey`` protobuf of one key of this view's entity."""
        return self.key_proto(
            join_keys=[self.join_key], entity_values=[self.value_proto(string_val=key)]
        )


@dataclass
class _Compiled:
    """A feature set as Feast objects."""

    entities: list[Any]
    sources: list[Any]
    views: list[Any]
    request_sources: list[Any]
    request_views: list[Any]

    @classmethod
    def from_spec(cls, spec: FeatureSetSpec) -> _Compiled:
        import feast
        from feast.on_demand_feature_view import OnDemandFeatureView

        version = {FEATURE_SET_VERSION_TAG: spec.version}
        entities = {
            e.name: feast.Entity(
                name=e.name,
                join_keys=[e.key],
                value_type=feast.ValueType.STRING,
                description=e.description,
                tags=version,
            )
            for e in spec.entities
        }
        compiled = cls(list(entities.values()), [], [], [], [])
        views: dict[str, Any] = {}
        for bv in spec.batch_views:
            entity = entities[bv.entity]
            source = feast.FileSource(
                name=f"{bv.name}__source",
                path=str(Path(bv.source).absolute()),
                timestamp_field=bv.timestamp_column,
                description=f"Parquet rows of batch view {bv.name}",
                tags=version,
                owner=bv.owner,
            )
            views[bv.name] = feast.FeatureView(
                name=bv.name,
                entities=[entity],
                source=source,
                schema=[
                    feast.Field(name=entity.join_key, dtype=feast.types.String),
                    *(_feast_field(f) for f in bv.fields),
                ],
                ttl=bv.ttl or timedelta(0),
                online=bv.online,
                description=bv.description,
                owner=bv.owner,
                tags={**bv.tags, **version},
            )
            compiled.sources.append(source)
        compiled.views.extend(views.values())
        for rv in spec.request_views:
            request = feast.RequestSource(
                name=f"{rv.name}__request",
                schema=[_feast_field(f) for f in rv.request_fields],
                description=f"request fields of request view {rv.name}",
                tags=version,
                owner=rv.owner,
            )
            compiled.request_sources.append(request)
            compiled.request_views.append(
                OnDemandFeatureView(
                    name=rv.name,
                    sources=[*(views[name] for name in rv.batch_views), request],
                    schema=[_feast_field(f) for f in rv.fields],
                    udf=computed_by_ferryml,  # type: ignore[arg-type]  # a FunctionType
                    udf_string=_UDF_TEXT,
                    mode="python",
                    description=rv.description,
                    owner=rv.owner,
                    tags={**rv.tags, **version},
                )
            )
        return compiled

    def keys(self) -> set[tuple[str, str]]:
        """(class name, object name) of every object, as the registry lists them."""
        every = [
            *self.entities,
            *self.sources,
            *self.views,
            *self.request_sources,
            *self.request_views,
        ]
        return {(type(obj).__name__, obj.name) for obj in every}


_UDF_TEXT = (
    "# computed by ferryml, not by Feast: "
    "ferryml.features.store.feast_repo.computed_by_ferryml raises if called\n"
)


def _feast_field(spec: FieldSpec) -> Any:
    import feast

    tags: dict[str, str] = {DTYPE_TAG: spec.dtype}
    if spec.owner:
        tags["owner"] = spec.owner
    dtype = getattr(feast.types, _FEAST_TYPES[spec.dtype])
    return feast.Field(name=spec.name, dtype=dtype, description=spec.description, tags=tags)


def _ferry_dtype(field: Any) -> FieldType:
    tagged = field.tags.get(DTYPE_TAG)
    for dtype in _PROTO_FIELDS:
        if dtype == tagged:
            return dtype
    by_feast: dict[str, FieldType] = {"INT64": "int", "DOUBLE": "float", "STRING": "string"}
    name = field.dtype.to_value_type().name
    if name not in by_feast:
        raise InvalidInputError(
            f"field {field.name!r} has Feast type {name}, which ferryml does not read",
            hint="declare it in the feature set (int, float, string or timestamp)",
        )
    return by_feast[name]


def _check_spec(spec: FeatureSetSpec) -> None:
    """Every rule Feast would break on, as one error listing every failure."""
    problems: list[str] = []
    entities = {e.name: e for e in spec.entities}
    if len(entities) != len(spec.entities):
        problems.append("two entities share a name")
    names = [v.name for v in spec.batch_views] + [v.name for v in spec.request_views]
    problems += [
        f"two views are named {n!r}" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    batch = {v.name: v for v in spec.batch_views}
    for bv in spec.batch_views:
        entity = entities.get(bv.entity)
        if entity is None:
            problems.append(
                f"batch view {bv.name!r}: unknown entity {bv.entity!r}"
                + _did_you_mean(bv.entity, list(entities))
            )
        if not bv.fields:
            problems.append(f"batch view {bv.name!r} has no fields")
        reserved = {bv.timestamp_column, entity.key if entity else ""}
        problems += _field_problems(f"batch view {bv.name!r}", bv.fields, reserved)
    for rv in spec.request_views:
        where = f"request view {rv.name!r}"
        problems += [
            f"{where}: unknown batch view {name!r}" + _did_you_mean(name, list(batch))
            for name in rv.batch_views
            if name not in batch
        ]
        problems += _field_problems(where, (*rv.request_fields, *rv.fields), set())
    if problems:
        raise InvalidInputError(
            f"feature set {spec.project!r} {spec.version!r} cannot be applied:\n  - "
            + "\n  - ".join(problems)
        )


def _field_problems(where: str, fields: Sequence[FieldSpec], reserved: set[str]) -> list[str]:
    names = [f.name for f in fields]
    problems = [
        f"{where}: two fields are named {n!r}" for n in sorted(set(names)) if names.count(n) > 1
    ]
    return problems + [
        f"{where}: field {n!r} is its key or timestamp column" for n in names if n in reserved
    ]


def _prepare_rows(table: pa.Table, view: _View, view_name: str) -> pa.Table:
    """The key, timestamp and field columns of ``table``, checked; timestamp fields as int64
    microseconds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = [view.join_key, view.timestamp_field, *view.dtypes]
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise InvalidInputError(
            f"rows for view {view_name!r} lack the columns {missing}; "
            f"they have {table.column_names}"
        )
    rows = table.select(wanted)
    problems = []
    if not pa.types.is_string(rows.schema.field(view.join_key).type):
        problems.append(f"key {view.join_key!r} must be a string column")
    if not pa.types.is_timestamp(rows.schema.field(view.timestamp_field).type):
        problems.append(f"{view.timestamp_field!r} must be a timestamp column")
    problems += [
        f"{null_count} rows have no {col!r}"
        for col in (view.join_key, view.timestamp_field)
        if (null_count := rows.column(col).null_count)
    ]
    if problems:
        raise InvalidInputError(f"rows for view {view_name!r}: " + "; ".join(problems))
    for name, dtype in view.dtypes.items():
        column = rows.column(name)
        if dtype == "timestamp" and pa.types.is_timestamp(column.type):
            micros = pc.cast(pc.cast(column, pa.timestamp("us", column.type.tz)), pa.int64())
            rows = rows.set_column(rows.schema.get_field_index(name), name, micros)
    return rows


def _latest_per_entity(rows: pa.Table, view: _View) -> pa.Table:
    """One row per key: the newest; between rows of the same time, the last one in ``rows``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if rows.num_rows < 2:
        return rows
    order = "__ferryml_row"
    ranked = rows.append_column(order, pa.array(np.arange(rows.num_rows)))
    ranked = ranked.sort_by(
        [(view.join_key, "ascending"), (view.timestamp_field, "descending"), (order, "descending")]
    )
    keys = ranked.column(view.join_key).combine_chunks()
    first = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1))
    mask = pa.concat_arrays([pa.array([True]), first])
    return ranked.filter(mask).drop_columns([order])


def redis_connection_string(url: str) -> str:
    """Feast's Redis ``connection_string`` for a ``redis://`` or ``rediss://`` URL.

    >>> redis_connection_string("redis://:s3cret@cache:6380/2")
    'cache:6380,db=2,password=s3cret,socket_connect_timeout=2,socket_timeout=2'
    """
    parts = urlsplit(url)
    db = parts.path.lstrip("/") or "0"
    try:
        port = parts.port or 6379
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("redis", "rediss")
        or not parts.hostname
        or port < 0
        or not db.isdigit()
    ):
        raise InvalidInputError(
            f"invalid Redis URL {_masked(url)!r}",
            hint="use redis://host:6379/0 (or rediss:// for TLS)",
        )
    items = [f"{parts.hostname}:{port}", f"db={db}"]
    if parts.username:
        items.append(f"username={unquote(parts.username)}")
    if parts.password:
        items.append(f"password={unquote(parts.password)}")
    if parts.scheme == "rediss":
        items.append("ssl=true")
    items += [f"socket_connect_timeout={_REDIS_TIMEOUT_S}", f"socket_timeout={_REDIS_TIMEOUT_S}"]
    if any("," in item for item in items):
        raise InvalidInputError(
            f"Redis URL {_masked(url)!r} holds a ',', which Feast's connection string cannot carry"
        )
    return ",".join(items)


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@contextlib.contextmanager
def _calling_feast(action: str, error: type[InvalidInputError] | type[DataError]) -> Iterator[None]:
    """ferryml's own errors pass through; everything Feast or a store raises is wrapped."""
    try:
        yield
    except FerryError:
        raise
    except Exception as exc:
        raise _wrapped(action, exc, error) from exc


def _wrapped(
    action: str, exc: Exception, error: type[InvalidInputError] | type[DataError]
) -> FerryError:
    import sqlite3

    import redis

    if isinstance(exc, FerryError):
        return exc
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return ServiceUnavailableError(
            f"Redis does not answer (trying to {action}): {exc}",
            hint="is Redis running? check features.online_store.url and storage.redis_url",
        )
    if isinstance(exc, redis.RedisError | sqlite3.Error):
        return StorageError(f"the online store refused to {action}: {exc}")
    return error(f"Feast could not {action}: {type(exc).__name__}: {exc}")


__all__ = [
    "DTYPE_TAG",
    "FEATURE_SET_VERSION_TAG",
    "FeastRepo",
    "FeatureViewInfo",
    "computed_by_ferryml",
    "feast_project_name",
    "redis_connection_string",
]
