"""From DFS features to ferryml definitions: each candidate's exact equivalent (or why it has
none), the values a ferryml window takes where DFS counts the event's own time in, and the
``features`` fragment of the chosen candidates. The relations are derived in the docstring of
:mod:`ferryml.features.dfs`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.config.schema import SchemaConfig
from ferryml.features.definitions import FeaturesConfig
from ferryml.features.dfs.entityset import Context, DfsColumn, load_featuretools
from ferryml.features.dfs.options import numeric_columns
from ferryml.features.windows import AGGREGATIONS, parse_window

FloatArray = npt.NDArray[np.float64]

_DERIVED_KINDS = {"hour": "hour", "weekday": "weekday", "is_weekend": "weekend"}
_MAX_REASON = (
    "MAX over (t-w, t] is max(ferryml's window max, the values stamped t): the window max "
    "cannot be recovered from it"
)


@dataclass(frozen=True)
class Export:
    """A candidate's ferryml equivalent: a derived entry or a window, with the chain of links
    (edges ``(parent, child, parent column, child column)``) from the event to the entity."""

    equivalent: str
    derived: dict[str, str] | None = None
    window: tuple[str, str, str, str] | None = None  # entity, value, aggregation, window
    path: tuple[tuple[str, ...], ...] = ()


def ferryml_equivalent(
    column: DfsColumn, features: FeaturesConfig, schema: SchemaConfig, context: Context
) -> Export | str:
    """The ferryml definition equal to ``column`` (package docstring), or why there is none."""
    fb = load_featuretools().feature_base
    feature = column.feature
    if feature.number_output_features != 1:
        return "a multi-output feature: ferryml has no such kind"
    spec = schema.columns.get(getattr(feature, "column_name", ""))
    if isinstance(feature, fb.IdentityFeature):
        if spec is None or spec.type not in ("float", "int"):
            return f"{feature.column_name!r} is not a numeric schema column"
        passthrough = {"kind": "passthrough", "input": feature.column_name}
        return Export(f"passthrough({feature.column_name})", derived=passthrough)
    if isinstance(feature, fb.TransformFeature):
        name, base = feature.primitive.name, feature.base_features[0]
        spec = schema.columns.get(getattr(base, "column_name", ""))
        if name not in _DERIVED_KINDS or spec is None or spec.type not in ("timestamp", "date"):
            return f"no derived kind equals featuretools' {name.upper()} of this input"
        kind = _DERIVED_KINDS[name]
        derived = {"kind": kind, "input": base.column_name}
        return Export(f"{kind}({base.column_name})", derived=derived)
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
    context: Context,
) -> Export | str:
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
        value = next((n for n in numeric_columns(schema) if n in context.history.columns), None)
        if value is None:
            return "a ferryml window needs a numeric value column, even to count"
    elif isinstance(base, fb.IdentityFeature):
        value = base.column_name
    else:
        return "aggregates a computed feature; ferryml windows aggregate columns"
    what = "events" if name == "count" else value
    equivalent = f"window {entity} {name} of {what} over {window}"
    return Export(equivalent, window=(entity, value, name, window), path=tuple(up))


def ferryml_window_values(
    name: str,
    export: Export,
    exports: Mapping[str, Export | str],
    raw: Mapping[str, FloatArray],
    context: Context,
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
        if not isinstance(e, Export) or e.window is None or e.path != export.path:
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


def build_fragment(
    chosen: Mapping[str, Export], prefix: str
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


def _edge(relationship: Any) -> tuple[str, ...]:
    d = relationship.to_dictionary()
    names = ("parent_dataframe_name", "child_dataframe_name", "parent_column_name")
    return (*(d[n] for n in names), d["child_column_name"])


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return slug if slug[:1].isalpha() else f"f_{slug}"
