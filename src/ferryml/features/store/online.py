"""Reading and writing Feast's online store without Feast's per-call overhead.

- **Reads**: a :class:`View` is resolved once from the registry (no registry access per
  request); :mod:`ferryml.features.store.row_reads` fetches the rows of every view of a request
  in one round trip, and :func:`decode_row` turns one into Python values
  (``benchmarks/feast_online.py`` compares with ``get_online_features``).
- **Writes** keep the latest row per entity (:func:`latest_per_entity`) and drop rows no
  newer than what the store holds (:func:`newer_than_stored`): Feast's SQLite store
  overwrites whatever comes last while its Redis store keeps the newest, and ferryml wants
  one rule on both. The caller hands the rest to ``write_to_online_store``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ferryml.errors import DataError, InvalidInputError
from ferryml.features.spec import FieldType
from ferryml.features.store.compile import DTYPE_TAG
from ferryml.features.store.feast_errors import calling_feast, did_you_mean
from ferryml.features.store.row_reads import RawRow, entity_key_encoder

if TYPE_CHECKING:
    import pyarrow as pa
    from feast import FeatureStore, FeatureView

_PROTO_FIELDS: dict[FieldType, str] = {
    "int": "int64_val",
    "float": "double_val",
    "string": "string_val",
    "timestamp": "int64_val",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_READ_CHUNK = 5_000


@dataclass(frozen=True)
class View:
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
    """Feast's own ``online_read`` (used before writes, to compare timestamps)."""
    key_proto: Any
    value_proto: Any
    encode_key: Callable[[str | None], bytes]
    """Feast's serialized entity key of one key (see :func:`entity_key_encoder`)."""

    def entity_key(self, key: str) -> Any:
        """Feast's ``EntityKey`` protobuf of one key of this view's entity."""
        return self.key_proto(
            join_keys=[self.join_key], entity_values=[self.value_proto(string_val=key)]
        )


def resolve_view(store: FeatureStore, name: str, project: str) -> View:
    """The batch view ``name`` of ``store``'s registry; a named error for a request view or
    an unknown name (``project`` is the ferryml project, for the message)."""
    with calling_feast(f"look up view {name!r}", DataError):
        batch = {fv.name: fv for fv in store.list_feature_views(allow_cache=True)}
        request = {v.name for v in store.list_on_demand_feature_views(allow_cache=True)}
    fv = batch.get(name)
    if fv is None:
        if name in request:
            raise InvalidInputError(
                f"{name!r} is a request view: ferryml computes it, Feast stores none of it"
            )
        raise InvalidInputError(
            f"no batch view {name!r} in the Feast registry of project {project!r}"
            + did_you_mean(name, [*batch, *request]),
            hint="apply the feature set first (`ferry features apply`)",
        )
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    dtypes: dict[str, FieldType] = {f.name: _ferry_dtype(f) for f in fv.features}
    assert fv.batch_source is not None  # every ferryml batch view has its Parquet source
    return View(
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
        encode_key=entity_key_encoder(
            fv.join_keys[0], store.config.entity_key_serialization_version
        ),
    )


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


def decode_row(view: View, raw: RawRow | None) -> dict[str, Any] | None:
    """The Python values of one online row (``None`` for a field the row lacks or holds as
    null); ``None`` when the store has no row."""
    if raw is None:
        return None
    parse = view.value_proto.FromString
    record: dict[str, Any] = {}
    for name, proto_field in view.fields:
        blob = raw.get(name)
        value = None if blob is None else parse(blob)
        if value is not None and value.WhichOneof("val") == proto_field:
            record[name] = getattr(value, proto_field)
        else:
            record[name] = None
    return record


def prepare_rows(table: pa.Table, view: View, view_name: str) -> pa.Table:
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


def latest_per_entity(rows: pa.Table, view: View) -> pa.Table:
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


def newer_than_stored(rows: pa.Table, view: View) -> pa.Table:
    """``rows`` without those no newer than what the online store already holds."""
    import pyarrow as pa

    keys = rows.column(view.join_key).to_pylist()
    stamps = rows.column(view.timestamp_field).to_pylist()
    keep: list[bool] = []
    for start in range(0, len(keys), _READ_CHUNK):
        chunk = keys[start : start + _READ_CHUNK]
        protos = [view.entity_key(key) for key in chunk]
        with calling_feast("read the online store before writing", DataError):
            # One feature is enough for the timestamp (stores that honour the list read
            # less); a new list each time: Feast's Redis store appends to it.
            stored = view.read(view.config, view.feature_view, protos, [view.fields[0][0]])
        for (held, _), stamp in zip(stored, stamps[start : start + _READ_CHUNK], strict=True):
            when = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            keep.append(held is None or held == _EPOCH or when > held)
    return rows.filter(pa.array(keep, pa.bool_())) if not all(keep) else rows
