"""Online features: the full feature vector of one event, inside the request.

The path for one event (a dict of raw fields):

1. batch views (profiles, label-rate snapshots) read from the online store by entity key, all
   in one round trip; an entity the store does not know gets missing values (NaN / None) and
   is flagged;
2. derived features that windows aggregate (e.g. the amount in the base currency);
3. every window group read *and* updated in one call to the window state store: the
   aggregates cover ``(t - w, t)``, then the event joins the state. When both stores are one
   Redis, steps 1 and 3 share one round trip (:meth:`FeastRepo.read_online_with_windows`);
   step 2 runs first unless it needs a batch view's field;
4. the remaining derived features (combinations of windows, rates, request fields).

Steps 2 and 4 call the same transform classes as the offline builder, in their row form:
Python scalars, no pandas, no numpy per request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Protocol

from ferryml.features.graph import FeatureSet, WindowNode
from ferryml.features.transforms.base import Transform
from ferryml.features.values import row_value
from ferryml.features.windows import WindowUpdate, aggregate_events
from ferryml.features.windows.state import Events, WindowStateStore


class BatchFeatureReader(Protocol):
    """Where online batch-view rows come from (the Feast online store)."""

    def read_online_rows(self, lookups: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """The latest row of each ``(view, entity key)``, None where the store has none."""
        ...

    def read_online_with_windows(
        self,
        lookups: Sequence[tuple[str, str]],
        windows: WindowStateStore,
        updates: Sequence[WindowUpdate],
    ) -> tuple[list[dict[str, Any] | None], list[Events]]:
        """The rows of ``lookups`` and ``windows.read_and_append(updates)``, in one round
        trip where the stores allow it."""
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
        self._transforms = [*before, *after]
        self._before = _steps(before)
        self._after = _steps(after)
        view_fields = {name for _, _, columns in self._views for name, _ in columns}
        needed_first = [name for t in before for name in t.inputs]
        needed_first += [node.value for node in self._windows]
        self._views_first = not view_fields.isdisjoint(needed_first)

    def warm_up(self) -> None:
        """Load what the first event's request-time transforms would otherwise wait for."""
        for transform in self._transforms:
            transform.warm_up()

    def vector(self, event: Mapping[str, Any]) -> FeatureVector:
        """The features of ``event`` (raw fields by schema name; times as datetime, ISO text or
        float µs). Records the event in the window state."""
        row = {name: row_value(event.get(name), kind) for name, kind in self._input_types.items()}
        lookups = [(view, row[key_column]) for view, key_column, _ in self._views]
        event_id = str(event.get(self._id_column))
        if self._views_first:  # windows aggregate something a batch view provides
            found = self.reader.read_online_rows(lookups)
            unknown = self._assign(row, found)
            _run(self._before, row)
            histories = self.window_store.read_and_append(self._updates(row, event_id))
        else:
            _run(self._before, row)
            found, histories = self.reader.read_online_with_windows(
                lookups, self.window_store, self._updates(row, event_id)
            )
            unknown = self._assign(row, found)
        for node, events in zip(self._windows, histories, strict=True):
            row.update(aggregate_events(node.aggregation, events, int(row[node.time_column])))
        _run(self._after, row)
        return FeatureVector(
            {name: row[name] for name in self.feature_set.output_names}, tuple(unknown)
        )

    def _assign(self, row: dict[str, Any], found: list[dict[str, Any] | None]) -> list[str]:
        """Put the batch views' fields in ``row``; return the views that had no row."""
        unknown = []
        for (view, _, columns), record in zip(self._views, found, strict=True):
            if record is None:
                unknown.append(view)
            for name, kind in columns:
                value = None if record is None else record.get(name)
                row[name] = _missing(kind) if value is None else value
        return unknown

    def _updates(self, row: dict[str, Any], event_id: str) -> list[WindowUpdate]:
        return [
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


_Step = tuple[
    Callable[..., tuple[Any, ...]], Callable[[dict[str, Any]], Any], bool, tuple[str, ...]
]
"""A transform's row function, a getter of its inputs (C code), whether it has a single input
(the getter then returns the value, not a tuple), and its output names."""


def _steps(transforms: Sequence[Transform]) -> list[_Step]:
    """The per-request loop then does no attribute lookup nor generator per transform."""
    return [
        (t.row, itemgetter(*t.inputs), len(t.inputs) == 1, tuple(o.name for o in t.outputs))
        for t in transforms
    ]


def _run(steps: Sequence[_Step], row: dict[str, Any]) -> None:
    for function, get, single, names in steps:
        values = function(get(row)) if single else function(*get(row))
        row.update(zip(names, values, strict=True))


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
