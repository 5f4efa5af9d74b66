"""The entity set DFS runs on, and DFS values of chosen events, each as of its own time.

The event table holds the events a window of a chosen event can reach; each entity of the
relationships holds its key and its links to parent entities only (see
:mod:`ferryml.features.dfs` for what enters and for the cutoff times). Row-level features are
computed in one pass, aggregations in one pass per window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ferryml._optional import require
from ferryml.config.schema import SchemaConfig
from ferryml.errors import InvalidInputError
from ferryml.features.definitions import FeaturesConfig
from ferryml.features.dfs.options import (
    DfsOptions,
    check_primitives,
    check_relationships,
    event_id_column,
    numeric_columns,
    require_columns,
)
from ferryml.features.values import arrow_to_array
from ferryml.features.windows import parse_window


@dataclass(frozen=True)
class DfsColumn:
    """A column of a DFS feature matrix: a featuretools feature, over one window if it
    aggregates (its name is then ``"<featuretools name> [<window>]"``)."""

    name: str
    feature: Any
    window: str | None
    discrete: bool


@dataclass(frozen=True)
class Synthesis:
    """DFS values of chosen events as of their own times, in featuretools' semantics."""

    table: pa.Table
    """The id column, then one float64 column per :class:`DfsColumn`, in ``columns`` order."""
    columns: tuple[DfsColumn, ...]


@dataclass(frozen=True)
class Context:
    """What exporting reads of the entity set: the events, entity keys and links."""

    history: pd.DataFrame  # id, time, entity keys, values of the events read; indexed by id
    time: str
    keys: Mapping[str, str]  # entity -> key column
    links: Mapping[str, pd.Series]  # "<entity>.<parent key>" -> parent key by entity key


def synthesize(
    events: pa.Table,
    tables: Mapping[str, pa.Table],
    features: FeaturesConfig,
    schema: SchemaConfig,
    instance_ids: Sequence[str],
    options: DfsOptions | None = None,
) -> Synthesis:
    """DFS values of the events ``instance_ids``, each as of its own time, in featuretools'
    semantics (aggregates over ``(t - w, t]``: the event itself is in)."""
    return synthesize_with_context(events, tables, features, schema, list(instance_ids), options)[0]


def synthesize_with_context(
    events: pa.Table,
    tables: Mapping[str, pa.Table],
    features: FeaturesConfig,
    schema: SchemaConfig,
    ids: list[str],
    options: DfsOptions | None,
) -> tuple[Synthesis, Context]:
    ft = load_featuretools()
    options = options or DfsOptions()
    check_primitives(ft, options)
    table, id_column = schema.table, event_id_column(schema)
    rels = list(options.relationships or [(entity, table) for entity in features.entities])
    check_relationships(rels, features, table)
    values = list(numeric_columns(schema) if options.values is None else options.values)
    if not set(values) <= set(numeric_columns(schema)):
        raise InvalidInputError(
            f"values {sorted(set(values) - set(numeric_columns(schema)))} are not numeric feature "
            "columns of the schema",
            hint=f"choose among {numeric_columns(schema)}",
        )
    es, context = _entityset(ft, events, tables, features, schema, ids, rels, values, options)
    aggs = list(options.agg_primitives)
    found = ft.dfs(
        entityset=es,
        target_dataframe_name=table,
        features_only=True,
        max_depth=options.max_depth,
        trans_primitives=list(options.trans_primitives),
        agg_primitives=aggs,
        where_primitives=[],
        groupby_trans_primitives=[],
        primitive_options={tuple(aggs): {"include_dataframes": [table]}} if aggs else None,
    )
    aggregates = [f for f in found if _aggregates(ft, f)]
    row_level = [f for f in found if not _aggregates(ft, f)]
    times = context.history.loc[ids, context.time]
    columns: list[DfsColumn] = []
    out: dict[str, pa.Array] = {id_column: pa.array(ids, pa.string())}
    if row_level:  # they read the event's own row only: one pass, as of the latest event
        cutoff = pd.DataFrame({id_column: ids, "time": times.max()})
        matrix = ft.calculate_feature_matrix(row_level, entityset=es, cutoff_time=cutoff)
        _collect(row_level, None, matrix.reindex(ids), columns, out)
    cutoff = pd.DataFrame({id_column: ids, "time": times.to_numpy()})
    for window in options.windows if aggregates else ():
        matrix = ft.calculate_feature_matrix(
            aggregates,
            entityset=es,
            cutoff_time=cutoff,
            training_window=pd.Timedelta(microseconds=parse_window(window)[1]),
        )
        _collect(aggregates, window, matrix.reindex(ids), columns, out)
    return Synthesis(pa.table(out), tuple(columns)), context


def _entityset(
    ft: Any,
    events: pa.Table,
    tables: Mapping[str, pa.Table],
    features: FeaturesConfig,
    schema: SchemaConfig,
    ids: list[str],
    rels: list[tuple[str, str]],
    values: list[str],
    options: DfsOptions,
) -> tuple[Any, Context]:
    """The events a window of an instance can reach, and the entities of the relationships."""
    table, id_column = schema.table, event_id_column(schema)
    time_column = schema.columns_with_role("event_time")[0]
    keys = {e: features.entities[e].key for pair in rels for e in pair if e != table}
    links = list(dict.fromkeys(keys[p] for p, c in rels if c == table))
    require_columns(events, [id_column, time_column, *links, *values])
    micros = arrow_to_array(events.column(time_column))
    all_ids = pd.Index(events.column(id_column).cast(pa.string()).to_numpy(zero_copy_only=False))
    if not all_ids.is_unique:
        raise InvalidInputError(
            f"{int(all_ids.duplicated().sum())} ids occur twice in {id_column!r}; DFS needs "
            "unique event ids",
            hint="discover on an ingested dataset version (ingest quarantines duplicates)",
        )
    at = all_ids.get_indexer(pd.Index(ids))
    if (at < 0).any():
        missing = [i for i, p in zip(ids, at, strict=True) if p < 0][:5]
        raise InvalidInputError(f"events not found by {id_column!r}: {missing}")
    reach = max(parse_window(w)[1] for w in options.windows)
    keep = (micros > micros[at].min() - reach) & (micros <= micros[at].max())
    history = pd.DataFrame({id_column: all_ids[keep]})
    history[time_column] = pd.to_datetime(micros[keep].astype(np.int64), unit="us")
    for name in dict.fromkeys([*keys.values(), *values]):
        if name in events.column_names:
            history[name] = arrow_to_array(events.column(name).filter(pa.array(keep)))
    history = history.set_index(id_column, drop=False).rename_axis(None)
    es = ft.EntitySet(table)
    es.add_dataframe(
        dataframe_name=table,
        dataframe=history[[id_column, time_column, *links, *values]].astype(
            dict.fromkeys([id_column, *links], "string")
        ),
        index=id_column,
        time_index=time_column,
        logical_types={
            id_column: "Unknown",
            time_column: "Datetime",
            **dict.fromkeys(links, "Unknown"),
            **dict.fromkeys(values, "Double"),
        },
    )
    link_maps: dict[str, pd.Series] = {}
    for entity in keys:
        parents = [keys[p] for p, c in rels if c == entity]
        frame = _entity_frame(entity, keys, parents, rels, tables, history, table)
        for parent in parents:
            link_maps[f"{entity}.{parent}"] = frame.set_index(keys[entity])[parent]
        logical_types = dict.fromkeys(frame.columns, "Unknown")
        es.add_dataframe(
            dataframe_name=entity, dataframe=frame, index=keys[entity], logical_types=logical_types
        )
    for parent, child in rels:
        es.add_relationship(parent, keys[parent], child, keys[parent])
    es.add_last_time_indexes()  # training windows filter by them (else featuretools warns)
    return es, Context(history, time_column, keys, link_maps)


def _entity_frame(
    entity: str,
    keys: Mapping[str, str],
    parents: list[str],
    rels: list[tuple[str, str]],
    tables: Mapping[str, pa.Table],
    history: pd.DataFrame,
    table: str,
) -> pd.DataFrame:
    """An entity's keys (its table's and its children's links) and its links to parents."""
    key, own = keys[entity], tables.get(entity)
    if parents and own is None:
        raise InvalidInputError(
            f"entity {entity!r} links to {parents} but no table was given for it",
            hint=f"pass the {entity} table (columns {[key, *parents]})",
        )
    links = pd.DataFrame(columns=[key, *parents], dtype=object)
    if own is not None:
        require_columns(own, [key, *parents], what=f"the {entity} table")
        columns = [key, *parents]
        links = pd.DataFrame({c: arrow_to_array(own.column(c)) for c in columns}).drop_duplicates()
        if not links[key].is_unique:
            raise InvalidInputError(
                f"the {entity} table gives some {key} several {parents}: DFS needs one parent"
            )
    known = [links[key].to_numpy()]
    for parent, child in rels:
        if parent == entity and child == table:
            known.append(history[key].to_numpy())
        elif parent == entity and key in tables.get(child, pa.table({})).column_names:
            known.append(arrow_to_array(tables[child].column(key)))
    frame = pd.DataFrame({key: pd.unique(np.concatenate(known))}).dropna()
    return frame.merge(links, on=key, how="left").astype("string")


def _collect(
    found: list[Any],
    window: str | None,
    matrix: pd.DataFrame,
    columns: list[DfsColumn],
    out: dict[str, pa.Array],
) -> None:
    for feature in found:
        for name in feature.get_feature_names():
            label = name if window is None else f"{name} [{window}]"
            dtype = matrix[name].dtype  # category (HOUR, WEEKDAY) and boolean are discrete
            discrete = isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype)
            columns.append(DfsColumn(label, feature, window, discrete))
            values = matrix[name].to_numpy(dtype=np.float64, na_value=np.nan)
            out[label] = pa.array(values, pa.float64())


def _aggregates(ft: Any, feature: Any) -> bool:
    return any(
        isinstance(f, ft.feature_base.AggregationFeature)
        for f in (feature, *feature.get_dependencies(deep=True))
    )


def load_featuretools() -> Any:
    return require("featuretools", extra="core", purpose="feature discovery (DFS)")
