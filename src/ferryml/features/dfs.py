"""Discover features with Featuretools' Deep Feature Synthesis; export the ones ferryml computes.

``ferry features discover`` runs DFS on a sample of labelled events, ranks every candidate by
mutual information with the label and writes the best candidates that have an exact ferryml
equivalent as a fragment of the ``features`` section::

    options = DfsOptions(relationships=(("customer", "card"), ("card", "transactions"),
                                        ("merchant", "transactions")))
    tables = {"customer": customers, "card": cards, "merchant": merchants}
    result = discover(events, tables, config.features, config.schema_, options)
    write_discovery(result, Path("discovered.yaml"))

**The entity set.** The event table (index: the schema's ``id`` column, time index: its
``event_time`` column, plus the numeric ``feature`` columns) and one dataframe per entity of the
relationships holding its key and its links to parent entities only: no attributes and no time
index, so a parent contributes a static link (card → customer) and nothing that could leak.
Labels, label times and metadata never enter; aggregations read the event table only.

**Cutoff times.** Each sampled event is computed as of its own time ``t`` (``cutoff_time``), once
per window ``w`` (``training_window``). Featuretools then aggregates an entity's events with
``t - w < time <= t`` (``EntitySet._handle_time``: ``time <= cutoff`` and ``time > cutoff -
window``): nothing after ``t`` is read. Row-level features (the event's own columns and their
transforms) do not depend on the cutoff and are computed in one pass.

**The exact relation to ferryml windows.** ferryml windows cover ``t - w < time < t``: the event
itself and every event of the entity stamped exactly ``t`` are left out
(:mod:`ferryml.features.windows`). With ``T`` the entity's events stamped ``t`` (the current one
among them), ``n_T`` their number and ``s_T`` the sum of their non-missing values, exactly:

- ``COUNT_dfs = count + n_T``, so ``count = COUNT_dfs - n_T``;
- ``SUM_dfs = sum + s_T``, so ``sum = SUM_dfs - s_T``;
- ``MEAN_dfs = (sum + s_T) / (present + present_T)``, so ``mean = (SUM_dfs - s_T) / (COUNT_dfs -
  n_T)`` when the value is never missing (else the present counts are unknown);
- ``MAX_dfs = max(max, max_T)``: the window max is lost whenever an event stamped ``t`` holds the
  largest value, so MAX is never exported.

An exported window is the ferryml window (event excluded), and its candidate is ranked on the
values ferryml will compute: the DFS values with ``T`` taken out as above. A window reached
through a chain of links (customer via card) is exported only if every event's own key column
(``customer_id``) equals the key the chain gives. HOUR, WEEKDAY and IS_WEEKEND of a timestamp
column are ferryml's ``hour``, ``weekday`` and ``weekend`` (both in UTC); a numeric column is
``passthrough``. Every other candidate is listed as not exportable, with the reason.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import yaml

from ferryml._optional import require
from ferryml.config.schema import SchemaConfig
from ferryml.errors import InvalidInputError
from ferryml.features.definitions import FeaturesConfig
from ferryml.features.values import arrow_to_array, to_micros
from ferryml.features.windows import AGGREGATIONS, parse_window
from ferryml.storage.atomic import atomic_write_text

FloatArray = npt.NDArray[np.float64]

_DERIVED_KINDS = {"hour": "hour", "weekday": "weekday", "is_weekend": "weekend"}
_MAX_REASON = (
    "MAX over (t-w, t] is max(ferryml's window max, the values stamped t): the window max "
    "cannot be recovered from it"
)


@dataclass(frozen=True)
class DfsOptions:
    """What DFS explores. ``relationships`` are ``(parent entity, child)`` pairs, the child an
    entity or the event table (``schema.table``); None: every entity a parent of the events.
    ``values``: the numeric columns aggregated (None: every numeric ``feature`` column)."""

    relationships: tuple[tuple[str, str], ...] | None = None
    values: tuple[str, ...] | None = None
    windows: tuple[str, ...] = ("1h", "24h", "7d")
    trans_primitives: tuple[str, ...] = ("hour", "weekday", "is_weekend")
    agg_primitives: tuple[str, ...] = ("count", "sum", "mean", "max")
    max_depth: int = 3

    def __post_init__(self) -> None:
        _check_int("max_depth", self.max_depth, 1)
        if not self.windows:
            raise InvalidInputError("DFS needs at least one window", hint="e.g. windows=('24h',)")
        for window in self.windows:
            parse_window(window)


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
class Candidate:
    """A ranked DFS candidate: its score and its ferryml equivalent, or why it has none."""

    name: str
    score: float
    """Mutual information (nats) with the label on the sample: of the values it exports
    (ferryml's, for a window), else of the DFS values."""
    equivalent: str | None
    """The ferryml equivalent, in words: ``"window card sum of amount over 24h"``."""
    definition: Mapping[str, str] | None = None
    """The same as data: ``kind``/``input``, or ``entity``/``value``/``aggregation``/``window``."""
    reason: str = ""
    """Why the candidate is not exportable; empty when it is."""
    exported_as: str | None = None
    """Its output column when it is among the exported top_k."""

    @property
    def exportable(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class DiscoveryResult:
    """Ranked candidates (best first), the exported fragment and the sample behind them."""

    candidates: tuple[Candidate, ...]
    features: dict[str, dict[str, dict[str, Any]]]
    """``{"windows": {...}, "derived": {...}}``, to paste under ``features:``."""
    sample: pa.Table
    """Id, event time and label of each sampled event, every candidate's DFS value (named like
    the candidate) and every exported feature's ferryml value (named like its output)."""
    label: str
    seconds: float
    """Wall time of the discovery."""


@dataclass(frozen=True)
class _Export:
    equivalent: str
    derived: dict[str, str] | None = None
    window: tuple[str, str, str, str] | None = None  # entity, value, aggregation, window
    path: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class _Context:
    history: pd.DataFrame  # id, time, entity keys, values of the events read; indexed by id
    time: str
    keys: Mapping[str, str]  # entity -> key column
    links: Mapping[str, pd.Series]  # "<entity>.<parent key>" -> parent key by entity key


def discover(
    events: pa.Table,
    tables: Mapping[str, pa.Table],
    features: FeaturesConfig,
    schema: SchemaConfig,
    options: DfsOptions | None = None,
    *,
    sample_size: int = 300,
    until: datetime | None = None,
    top_k: int = 10,
    seed: int = 0,
    prefix: str = "dfs_",
) -> DiscoveryResult:
    """DFS on a class-balanced sample of labelled events (before ``until``): rank, export.

    ``tables`` maps entity names to their tables (needed for links between entities). Classes
    are sampled as evenly as they allow, so that a rare label still has signal: scores rank the
    candidates, they do not estimate the population's mutual information.

    Featuretools makes one pass per sampled event and window: on the reference dataset (209k
    events, 92 days), 100 events and 3 windows took 54 s, 0.18 s a pass (shared 2-core VM,
    2026-11-27); 300 events take about 3 minutes.
    """
    _check_int("sample_size", sample_size, 10)
    _check_int("top_k", top_k, 1)
    started = time.perf_counter()
    label, id_column = _label(schema), _id_column(schema)
    time_column = schema.columns_with_role("event_time")[0]
    rows, y = _labelled_sample(events, label, time_column, sample_size, until, seed)
    ids = [str(i) for i in events.column(id_column).take(rows).to_pylist()]
    synthesis, context = _synthesize(events, tables, features, schema, ids, options)
    columns = synthesis.columns
    raw = {c.name: synthesis.table.column(c.name).to_numpy() for c in columns}
    exports = {c.name: _export(c, features, schema, context) for c in columns}
    ranked = dict(raw)  # the values each candidate would export: ferryml's, for windows
    for c in columns:
        export = exports[c.name]
        if isinstance(export, _Export) and export.window is not None:
            values = _ferryml_values(c.name, export, exports, raw, context, ids)
            if isinstance(values, str):
                exports[c.name] = values
            else:
                ranked[c.name] = values
    matrix = np.column_stack([ranked[c.name] for c in columns])
    scores = _mutual_information(matrix, np.array([c.discrete for c in columns]), y, seed)
    order = [columns[j].name for j in sorted(range(len(columns)), key=lambda j: -scores[j])]
    score = dict(zip([c.name for c in columns], scores.tolist(), strict=True))
    chosen: dict[str, _Export] = {}
    for name in order:
        export = exports[name]
        taken = {e.equivalent for e in chosen.values()}
        if isinstance(export, _Export) and len(chosen) < top_k and export.equivalent not in taken:
            chosen[name] = export
    fragment, outputs = _fragment(chosen, prefix)
    sample = {
        id_column: pa.array(ids, pa.string()),
        time_column: events.column(time_column).take(rows),
        label: pa.array(y),
        **{name: pa.array(values) for name, values in raw.items()},
        **{out: pa.array(ranked[name]) for name, out in outputs.items()},
    }
    return DiscoveryResult(
        tuple(_candidate(name, score[name], exports[name], outputs.get(name)) for name in order),
        fragment,
        pa.table(sample),
        label,
        time.perf_counter() - started,
    )


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
    return _synthesize(events, tables, features, schema, list(instance_ids), options)[0]


def merge_discovered(features: FeaturesConfig, fragment: Mapping[str, Any]) -> FeaturesConfig:
    """``features`` plus the discovered ``windows`` and ``derived``; reusing a defined name is
    an error, never a silent replacement."""
    merged = features.model_dump(mode="json")
    taken = [
        f"{section}.{name}"
        for section in ("windows", "derived")
        for name in fragment.get(section, {})
        if name in merged[section]
    ]
    if taken:
        raise InvalidInputError(
            f"discovered features reuse defined names: {', '.join(taken)}",
            hint="discover again with another prefix",
        )
    for section in ("windows", "derived"):
        merged[section].update(fragment.get(section, {}))
    return FeaturesConfig.model_validate(merged)


def write_discovery(result: DiscoveryResult, path: Path) -> None:
    """Write the fragment as YAML, atomically, with the ranking as comments above it."""
    lines = [
        "# Found by featuretools Deep Feature Synthesis: add these windows and derived entries",
        "# to the `features:` section (merge_discovered does it in code, refusing reused names).",
        f"# {result.sample.num_rows} labelled events (class-balanced), ranked by mutual "
        f"information with {result.label} (nats).",
        "# Windows leave out the event itself and events stamped at its time, which DFS counts",
        "# in; their scores are of the ferryml values. See ferryml.features.dfs.",
    ]
    for rank, c in enumerate(result.candidates, 1):
        where = c.exported_as or ("(exportable, below top_k)" if c.exportable else c.reason)
        lines.append(f"# {rank:3d}. {c.score:.4f}  {c.name} -> {where}")
    body = {section: items for section, items in result.features.items() if items}
    text = "\n".join(lines) + "\n" + (yaml.safe_dump(body, sort_keys=False) if body else "")
    atomic_write_text(Path(path), text)


def _synthesize(
    events: pa.Table,
    tables: Mapping[str, pa.Table],
    features: FeaturesConfig,
    schema: SchemaConfig,
    ids: list[str],
    options: DfsOptions | None,
) -> tuple[Synthesis, _Context]:
    ft = _featuretools()
    options = options or DfsOptions()
    _check_primitives(ft, options)
    table, id_column = schema.table, _id_column(schema)
    rels = list(options.relationships or [(entity, table) for entity in features.entities])
    _check_relationships(rels, features, table)
    values = list(_numeric(schema) if options.values is None else options.values)
    if not set(values) <= set(_numeric(schema)):
        raise InvalidInputError(
            f"values {sorted(set(values) - set(_numeric(schema)))} are not numeric feature "
            "columns of the schema",
            hint=f"choose among {_numeric(schema)}",
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
) -> tuple[Any, _Context]:
    """The events a window of an instance can reach, and the entities of the relationships."""
    table, id_column = schema.table, _id_column(schema)
    time_column = schema.columns_with_role("event_time")[0]
    keys = {e: features.entities[e].key for pair in rels for e in pair if e != table}
    links = list(dict.fromkeys(keys[p] for p, c in rels if c == table))
    _require_columns(events, [id_column, time_column, *links, *values])
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
    return es, _Context(history, time_column, keys, link_maps)


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
        _require_columns(own, [key, *parents], what=f"the {entity} table")
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


def _export(
    column: DfsColumn, features: FeaturesConfig, schema: SchemaConfig, context: _Context
) -> _Export | str:
    """The ferryml definition equal to ``column`` (module docstring), or why there is none."""
    fb = _featuretools().feature_base
    feature = column.feature
    if feature.number_output_features != 1:
        return "a multi-output feature: ferryml has no such kind"
    spec = schema.columns.get(getattr(feature, "column_name", ""))
    if isinstance(feature, fb.IdentityFeature):
        if spec is None or spec.type not in ("float", "int"):
            return f"{feature.column_name!r} is not a numeric schema column"
        passthrough = {"kind": "passthrough", "input": feature.column_name}
        return _Export(f"passthrough({feature.column_name})", derived=passthrough)
    if isinstance(feature, fb.TransformFeature):
        name, base = feature.primitive.name, feature.base_features[0]
        spec = schema.columns.get(getattr(base, "column_name", ""))
        if name not in _DERIVED_KINDS or spec is None or spec.type not in ("timestamp", "date"):
            return f"no derived kind equals featuretools' {name.upper()} of this input"
        kind = _DERIVED_KINDS[name]
        derived = {"kind": kind, "input": base.column_name}
        return _Export(f"{kind}({base.column_name})", derived=derived)
    up: list[tuple[str, ...]] = []
    while isinstance(feature, fb.DirectFeature):
        up.extend(_edge(relationship) for _, relationship in feature.relationship_path)
        feature = feature.base_features[0]
    if not isinstance(feature, fb.AggregationFeature) or column.window is None:
        return "no ferryml kind equals this kind of featuretools feature"
    return _export_window(feature, fb, up, column.window, schema, features, context)


def _export_window(
    agg: Any,
    fb: Any,
    up: list[tuple[str, ...]],
    window: str,
    schema: SchemaConfig,
    features: FeaturesConfig,
    context: _Context,
) -> _Export | str:
    name, entity = agg.primitive.name, agg.parent_dataframe_name
    down = [_edge(relationship) for _, relationship in agg.relationship_path]
    if not up or agg.child_dataframe_name != schema.table or down[::-1] != up:
        return "aggregates other events than those of the event's own entity"
    if agg.where is not None or agg.use_previous is not None:
        return "where clauses and use_previous have no ferryml equivalent"
    if name == "max":
        return _MAX_REASON
    if name not in ("count", "sum", "mean"):
        return f"ferryml windows have no {name.upper()} aggregation"
    key = features.entities[entity].key
    if key not in context.history.columns:
        return f"ferryml windows group events by {key!r}, which the event table lacks"
    chained = context.history[up[0][3]]  # edges: (parent, child, parent column, child column)
    for edge in up[1:]:
        chained = chained.map(context.links[f"{edge[1]}.{edge[3]}"])
    own = context.history[key].astype("string").fillna("")
    mismatched = int((chained.astype("string").fillna("") != own).sum())
    if mismatched:
        return f"{mismatched} events have a {key} other than the one their links give"
    base = agg.base_features[0]
    if name == "count":
        value = next((n for n in _numeric(schema) if n in context.history.columns), None)
        if value is None:
            return "a ferryml window needs a numeric value column, even to count"
    elif isinstance(base, fb.IdentityFeature):
        value = base.column_name
    else:
        return "aggregates a computed feature; ferryml windows aggregate columns"
    what = "events" if name == "count" else value
    equivalent = f"window {entity} {name} of {what} over {window}"
    return _Export(equivalent, window=(entity, value, name, window), path=tuple(up))


def _ferryml_values(
    name: str,
    export: _Export,
    exports: Mapping[str, _Export | str],
    raw: Mapping[str, FloatArray],
    context: _Context,
    ids: list[str],
) -> FloatArray | str:
    """The ferryml window's values: the DFS values without the entity's events stamped ``t``."""
    assert export.window is not None
    entity, value, aggregation, window = export.window
    history = context.history
    groups = history.groupby([history[context.keys[entity]].astype(object), context.time])
    n_t: FloatArray = groups[context.time].transform("size").loc[ids].to_numpy(np.float64)
    s_t: FloatArray = groups[value].transform("sum").loc[ids].to_numpy(np.float64)
    if aggregation == "count":
        return np.asarray(raw[name] - n_t, np.float64)
    if aggregation == "sum":
        return np.asarray(raw[name] - s_t, np.float64)
    if history[value].isna().any():
        return f"{value!r} has missing values: the window's present count is not recoverable"
    peers: dict[str, str] = {}  # the COUNT and SUM of the same window
    for peer, e in exports.items():
        if not isinstance(e, _Export) or e.window is None or e.path != export.path:
            continue
        _, peer_value, peer_aggregation, peer_window = e.window
        if peer_window == window and (
            peer_aggregation == "count" or (peer_aggregation == "sum" and peer_value == value)
        ):
            peers[peer_aggregation] = peer
    if set(peers) != {"count", "sum"}:
        return "MEAN needs COUNT and SUM over the same window to take the event out"
    count = raw[peers["count"]] - n_t
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (raw[peers["sum"]] - s_t) / count, np.nan)


def _labelled_sample(
    events: pa.Table, label: str, time_column: str, size: int, until: datetime | None, seed: int
) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """Rows of labelled events (before ``until``), classes as even as they allow, and labels."""
    _require_columns(events, [label, time_column])
    y = arrow_to_array(events.column(label))
    if y.dtype == object:  # a string label: its classes as codes, missing as NaN
        codes = pd.factorize(y)[0]
        y = np.where(codes < 0, np.nan, codes.astype(np.float64))
    eligible = ~np.isnan(y)
    if until is not None:
        eligible &= arrow_to_array(events.column(time_column)) < to_micros(until)
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(eligible)
    classes, counts = np.unique(y[rows], return_counts=True)
    left, picked = min(size, len(rows)), [rows[:0]]
    for i, c in enumerate(np.argsort(counts, kind="stable")):  # the rarest class first
        members = rows[y[rows] == classes[c]]
        take = min(len(members), left // (len(classes) - i))
        picked.append(rng.choice(members, take, replace=False))
        left -= take
    chosen = np.sort(np.concatenate(picked))
    if len(np.unique(y[chosen])) < 2:
        raise InvalidInputError(
            f"the {len(chosen)} labelled events sampled have {len(np.unique(y[chosen]))} "
            f"class(es) of {label!r}; mutual information needs two",
            hint="pass a later `until` or use more data",
        )
    return pa.array(chosen), y[chosen].astype(np.int64)


def _candidate(name: str, score: float, export: _Export | str, output: str | None) -> Candidate:
    if isinstance(export, str):
        return Candidate(name, score, None, None, export)
    fields = ("entity", "value", "aggregation", "window")
    definition = export.derived or dict(zip(fields, export.window or (), strict=True))
    return Candidate(name, score, export.equivalent, definition, "", output)


def _fragment(
    chosen: Mapping[str, _Export], prefix: str
) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, str]]:
    """The ``windows``/``derived`` fragment, and each chosen candidate's output column.

    A window entry yields every (aggregation, window) pair of its lists, so windows of one
    entity and value go together when they share their aggregations and otherwise get entries
    of their own (``<name>_2``…): every output is a chosen candidate.
    """
    derived: dict[str, dict[str, Any]] = {}
    windows: dict[str, dict[str, Any]] = {}
    outputs: dict[str, str] = {}
    by_value: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for name, export in chosen.items():
        if export.derived is not None:
            kind, source = export.derived["kind"], export.derived["input"]
            title = _slug(prefix + source + ("" if kind == "passthrough" else f"_{kind}"))
            derived[title] = {**export.derived, "description": f"Found by DFS: {name}."}
            outputs[name] = title
        elif export.window is not None:
            entity, value, aggregation, window = export.window
            by_value.setdefault((entity, value), {}).setdefault(window, {})[aggregation] = name
    for (entity, value), per_window in by_value.items():
        groups: dict[tuple[str, ...], list[str]] = {}
        for window, names in per_window.items():
            groups.setdefault(tuple(a for a in AGGREGATIONS if a in names), []).append(window)
        base = _slug(f"{prefix}{entity}_{value}")
        for n, (aggregations, labels) in enumerate(groups.items(), 1):
            entry = base if n == 1 else f"{base}_{n}"
            labels.sort(key=lambda label: parse_window(label)[1])
            windows[entry] = {
                "entity": entity,
                "value": value,
                "aggregations": list(aggregations),
                "windows": labels,
                "description": f"Found by DFS over {entity}'s events; leaves out the event "
                "itself (and those stamped at its time), which DFS counts in.",
            }
            for label in labels:
                for aggregation in aggregations:
                    outputs[per_window[label][aggregation]] = f"{entry}_{aggregation}_{label}"
    return {"windows": windows, "derived": derived}, outputs


def _mutual_information(
    matrix: FloatArray, discrete: npt.NDArray[np.bool_], y: npt.NDArray[np.int64], seed: int
) -> FloatArray:
    """Mutual information with ``y`` per column, by scikit-learn (installed with featuretools,
    through woodwork): the plug-in estimate for discrete columns (biased up by about
    ``(levels - 1) / (2 n)`` nats on small samples), the kNN estimate of ``mutual_info_classif``
    for the others. A missing value (an empty window's mean) becomes one below the column's
    minimum, so that "no events" stays a value of its own."""
    metrics = require("sklearn.metrics", extra="core", purpose="ranking features")
    selection = require("sklearn.feature_selection", extra="core", purpose="ranking features")
    x = matrix.copy()
    for j in range(x.shape[1]):
        missing = np.isnan(x[:, j])
        if missing.any():
            x[missing, j] = 0.0 if missing.all() else np.nanmin(x[:, j]) - 1.0
    scores = np.zeros(x.shape[1])
    for k in np.flatnonzero(discrete):
        scores[k] = metrics.mutual_info_score(y, pd.factorize(x[:, k])[0])
    if not discrete.all():
        scores[~discrete] = selection.mutual_info_classif(
            x[:, ~discrete], y, discrete_features=False, n_neighbors=3, random_state=seed
        )
    return scores


def _aggregates(ft: Any, feature: Any) -> bool:
    return any(
        isinstance(f, ft.feature_base.AggregationFeature)
        for f in (feature, *feature.get_dependencies(deep=True))
    )


def _edge(relationship: Any) -> tuple[str, ...]:
    d = relationship.to_dictionary()
    names = ("parent_dataframe_name", "child_dataframe_name", "parent_column_name")
    return (*(d[n] for n in names), d["child_column_name"])


def _featuretools() -> Any:
    return require("featuretools", extra="core", purpose="feature discovery (DFS)")


def _check_primitives(ft: Any, options: DfsOptions) -> None:
    problems = []
    for kind, names, registry in (
        ("transform", options.trans_primitives, ft.primitives.get_transform_primitives()),
        ("aggregation", options.agg_primitives, ft.primitives.get_aggregation_primitives()),
    ):
        for name in names:
            if name not in registry:
                problems.append(f"unknown {kind} primitive {name!r}{_close(name, registry)}")
    if problems:
        raise InvalidInputError("; ".join(problems), hint="see featuretools.list_primitives()")


def _check_relationships(rels: list[tuple[str, str]], features: FeaturesConfig, table: str) -> None:
    entities = list(features.entities)
    problems = [f"entity {table!r} has the event table's name"] if table in entities else []
    for parent, child in rels:
        if parent not in entities:
            problems.append(
                f"({parent}, {child}): unknown entity {parent!r}{_close(parent, entities)}"
            )
        if child not in [*entities, table]:
            problems.append(
                f"({parent}, {child}): unknown child {child!r}{_close(child, [*entities, table])}"
            )
    if problems:
        raise InvalidInputError(
            "invalid relationships: " + "; ".join(problems),
            hint=f"parents are entities ({', '.join(entities)}); children are entities or "
            f"the event table {table!r}",
        )


def _close(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_int(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInputError(f"{name} must be an int >= {minimum}. Got {value!r}.")


def _numeric(schema: SchemaConfig) -> list[str]:
    return [
        n for n, c in schema.columns.items() if c.role == "feature" and c.type in ("float", "int")
    ]


def _label(schema: SchemaConfig) -> str:
    if not schema.columns_with_role("label"):
        raise InvalidInputError(
            "discovering features needs a label: no schema column has role 'label'",
            hint="give the label column role: label in the schema section",
        )
    return schema.columns_with_role("label")[0]


def _id_column(schema: SchemaConfig) -> str:
    if not schema.columns_with_role("id"):
        raise InvalidInputError(
            "DFS needs event ids: no schema column has role 'id'",
            hint="give the events' unique id column role: id",
        )
    return schema.columns_with_role("id")[0]


def _require_columns(table: pa.Table, names: Sequence[str], what: str = "the event table") -> None:
    missing = [n for n in dict.fromkeys(names) if n not in table.column_names]
    if missing:
        raise InvalidInputError(
            f"{what} has no column {', '.join(map(repr, missing))}",
            hint=f"its columns are {', '.join(table.column_names)}",
        )


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return slug if slug[:1].isalpha() else f"f_{slug}"


__all__ = [
    "Candidate",
    "DfsColumn",
    "DfsOptions",
    "DiscoveryResult",
    "Synthesis",
    "discover",
    "merge_discovered",
    "synthesize",
    "write_discovery",
]
