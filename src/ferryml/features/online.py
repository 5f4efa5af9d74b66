"""Online features: the full feature vector of one event, inside the request.

The path for one event (a dict of raw fields):

1. batch views (profiles, label-rate snapshots) read from the online store by entity key;
   an entity the store does not know gets missing values (NaN / None) and is flagged;
2. derived features that windows aggregate (e.g. the amount in the base currency);
3. every window group read *and* updated in one call to the window state store: the
   aggregates cover ``(t - w, t)``, then the event joins the state;
4. the remaining derived features (combinations of windows, rates, request fields).

Steps 2 and 4 call the same transform classes as the offline builder, in their row form:
Python scalars, no pandas, no numpy per request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ferryml.features.graph import FeatureSet, WindowNode
from ferryml.features.transforms.base import Transform
from ferryml.features.values import row_value
from ferryml.features.windows import WindowUpdate, aggregate_events
from ferryml.features.windows.state import WindowStateStore


class BatchFeatureReader(Protocol):
    """Where online batch-view rows come from (the Feast online store)."""

    def read_online(self, view_name: str, entity_keys: list[str]) -> list[dict[str, Any] | None]:
        """The latest row of each entity, None for an entity the store does not know."""
        ...


@dataclass(frozen=True)
class FeatureVector:
    """One event's features, and which batch views had no row for its entities."""

    values: dict[str, Any]
    unknown: tuple[str, ...]

    @property
    def degraded(self) -> bool:
        """True when some features fell back to their missing-value defaults."""
        return bool(self.unknown)


class OnlineFeatures:
    """Computes feature vectors one event at a time for a fitted feature set."""

    def __init__(
        self, feature_set: FeatureSet, reader: BatchFeatureReader, windows: WindowStateStore
    ) -> None:
        self.feature_set = feature_set
        self.reader = reader
        self.window_store = windows
        schema = feature_set.schema
        self._input_types = {name: schema.columns[name].type for name in feature_set.event_columns}
        self._id_column = schema.columns_with_role("id")[0]
        self._views = [
            (node.name, node.key_column, _view_columns(feature_set, node.name))
            for node in feature_set.joined_views
        ]
        before, self._windows, after = _phases(feature_set)
        self._before: Sequence[Transform] = before
        self._after: Sequence[Transform] = after

    def vector(self, event: Mapping[str, Any]) -> FeatureVector:
        """The features of ``event`` (raw fields by schema name; times as datetime, ISO text or
        float µs). Records the event in the window state."""
        row = {name: row_value(event.get(name), kind) for name, kind in self._input_types.items()}
        unknown = []
        for view, key_column, columns in self._views:
            (found,) = self.reader.read_online(view, [row[key_column]])
            if found is None:
                unknown.append(view)
            for name, kind in columns:
                value = None if found is None else found.get(name)
                row[name] = _missing(kind) if value is None else value
        _run(self._before, row)
        if self._windows:
            self._update_windows(row, str(event.get(self._id_column)))
        _run(self._after, row)
        return FeatureVector(
            {name: row[name] for name in self.feature_set.output_names}, tuple(unknown)
        )

    def _update_windows(self, row: dict[str, Any], event_id: str) -> None:
        updates = [
            WindowUpdate(
                view=node.name,
                entity_key=str(row[node.key_column]),
                t_us=int(row[node.time_column]),
                event_id=event_id,
                value=float(row[node.value]),
                horizon_us=node.aggregation.horizon_us,
            )
            for node in self._windows
        ]
        histories = self.window_store.read_and_append(updates)
        for node, update, events in zip(self._windows, updates, histories, strict=True):
            row.update(aggregate_events(node.aggregation, events, update.t_us))


def _run(transforms: Sequence[Transform], row: dict[str, Any]) -> None:
    for transform in transforms:
        values = transform.row(*(row[name] for name in transform.inputs))
        for spec, value in zip(transform.outputs, values, strict=True):
            row[spec.name] = value


def _missing(kind: str) -> Any:
    return None if kind == "string" else math.nan


def _view_columns(feature_set: FeatureSet, view: str) -> list[tuple[str, str]]:
    for profile in feature_set.profiles:
        if profile.name == view:
            return list(profile.field_types.items())
    return [(view, "float")]


def _phases(
    feature_set: FeatureSet,
) -> tuple[list[Transform], list[WindowNode], list[Transform]]:
    """Transforms windows depend on, the windows, then the other transforms (order kept)."""
    producer: dict[str, Transform | WindowNode] = {}
    for node in feature_set.order:
        outputs = node.outputs
        for spec in outputs:
            producer[spec.name] = node
    needed: set[int] = set()
    stack = [producer[node.value] for node in feature_set.windows if node.value in producer]
    while stack:
        node = stack.pop()
        if id(node) in needed or isinstance(node, WindowNode):
            continue
        needed.add(id(node))
        stack.extend(producer[name] for name in node.inputs if name in producer)
    transforms = feature_set.transforms
    before = [t for t in transforms if id(t) in needed]
    after = [t for t in transforms if id(t) not in needed]
    return before, list(feature_set.windows), after
