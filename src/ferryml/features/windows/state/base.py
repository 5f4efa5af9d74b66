"""The interface of a window state store, and the input checks every backend shares.

A store keeps, per (project, view, entity), the recent events ``(time, event id, value)`` that
online window aggregations need, and serves them within the request that adds the next one::

    >>> from ferryml.features.windows.state import open_window_store
    >>> import tempfile
    >>> store = open_window_store("sqlite", project="fraud", path=f"{tempfile.mkdtemp()}/w.db")
    >>> hour = 3_600_000_000
    >>> store.read_and_append([WindowUpdate("amount", "c1", hour, "e1", 10.0, hour)])
    [[]]
    >>> store.read_and_append([WindowUpdate("amount", "c1", 2 * hour - 1, "e2", 5.0, hour)])
    [[(3600000000, 10.0)]]
    >>> store.close()

An event is identified by ``(view, entity_key, t_us, event_id)``: a retried request carries the
event's own time, and recording it again changes nothing (the first value stays). All updates
of one view must use one ``horizon_us`` (the longest window over that view): each update trims
the entity's events at or before ``t_us - horizon_us``.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.errors import InvalidInputError
from ferryml.features.windows.spec import MAX_WINDOW_US

MAX_ABS_TIME_US = 2**53 - 1
"""Times must be exact as doubles (Redis sorted-set scores): about ±285 years around 1970."""

VIEW_NAME_PATTERN = r"[A-Za-z0-9_.-]{1,128}"
"""View names go into Redis keys and SCAN patterns, so they hold no ``:`` nor glob characters."""

_VIEW_NAME = re.compile(VIEW_NAME_PATTERN)
_checked_views: set[str] = set()


@dataclass(frozen=True, slots=True)
class WindowUpdate:
    """One event to record for ``(view, entity_key)``, and the request to read its window.

    ``value`` may be NaN (missing); ``horizon_us`` is the view's longest window.
    """

    view: str
    entity_key: str
    t_us: int
    event_id: str
    value: float
    horizon_us: int


Events = list[tuple[int, float]]
"""``(time_us, value)`` pairs sorted by time, then event id."""


class WindowStateStore(ABC):
    """Recent events per (view, entity) of one project, read and appended within a request.

    Backends implement the four methods; drivers' errors leave as ferryml errors
    (:class:`~ferryml.errors.ServiceUnavailableError` when the service does not answer,
    :class:`~ferryml.errors.StorageError` when it refuses).
    """

    type_name: ClassVar[str]
    """The short name in the registry and in configs, e.g. ``"redis"``."""

    project: str

    @abstractmethod
    def read_and_append(self, updates: Sequence[WindowUpdate]) -> list[Events]:
        """For each update in order: the entity's stored events with ``t - horizon < e.t < t``,
        then record the update's event and trim events at or before ``t - horizon``.

        All updates go in one round trip (Redis) or one transaction (SQLite).
        """

    @abstractmethod
    def bulk_load(
        self,
        view: str,
        entity_keys: npt.ArrayLike,
        times_us: npt.ArrayLike,
        event_ids: npt.ArrayLike,
        values: npt.ArrayLike,
        horizon_us: int,
    ) -> int:
        """Record many events of one view at once (e.g. rebuilding state from the offline table).

        Per entity, only events within ``horizon_us`` of its latest event are kept: older ones
        could never be read again. Returns how many events that leaves; events already stored
        (loading the same table twice) are recorded once.
        """

    @abstractmethod
    def clear(self, view: str | None = None) -> None:
        """Forget every event of this project (of one ``view`` if given); other projects keep
        theirs."""

    @abstractmethod
    def close(self) -> None:
        """Release connections this store opened."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def check_updates(updates: Sequence[WindowUpdate]) -> None:
    """Raise :class:`InvalidInputError` naming every bad field; cheap when all are good."""
    for u in updates:
        t, horizon, value = u.t_us, u.horizon_us, u.value
        if not (
            type(t) is int
            and -MAX_ABS_TIME_US <= t <= MAX_ABS_TIME_US
            and type(horizon) is int
            and 0 < horizon <= MAX_WINDOW_US
            and isinstance(value, float | int)
            and (value - value == 0 or value != value)  # finite or NaN; inf - inf is NaN
            and type(u.entity_key) is str
            and u.entity_key
            and type(u.event_id) is str
            and u.event_id
            and "\x00" not in u.event_id
            and u.view in _checked_views
        ):
            _raise_for(u)


def _raise_for(update: WindowUpdate) -> None:
    problems = []
    t, horizon, value = update.t_us, update.horizon_us, update.value
    if not (type(t) is int and -MAX_ABS_TIME_US <= t <= MAX_ABS_TIME_US):
        problems.append(
            f"t_us must be a Python int of microseconds within ±{MAX_ABS_TIME_US}, got {t!r}"
        )
    if not (type(horizon) is int and 0 < horizon <= MAX_WINDOW_US):
        problems.append(
            f"horizon_us must be a Python int in 1..{MAX_WINDOW_US} (the view's longest window "
            f"in µs), got {horizon!r}"
        )
    if isinstance(value, bool) or not isinstance(value, float | int) or math.isinf(value):
        problems.append(f"value must be a finite float or NaN, got {value!r}")
    if not (type(update.entity_key) is str and update.entity_key):
        problems.append(f"entity_key must be a non-empty str, got {update.entity_key!r}")
    if not (type(update.event_id) is str and update.event_id and "\x00" not in update.event_id):
        problems.append(f"event_id must be a non-empty str without NUL, got {update.event_id!r}")
    try:
        check_view(update.view)
    except InvalidInputError as exc:
        problems.append(exc.message)
    if problems:
        raise InvalidInputError(
            "invalid window update: " + "; ".join(problems),
            hint="build updates as WindowUpdate(view, entity_key, t_us, event_id, value, "
            "horizon_us) with int microseconds; use float('nan') for a missing value",
        )


def check_view(view: object) -> str:
    """``view`` if it is a valid view name; :class:`InvalidInputError` otherwise."""
    if isinstance(view, str) and view in _checked_views:
        return view
    if not isinstance(view, str) or _VIEW_NAME.fullmatch(view) is None:
        raise InvalidInputError(
            f"invalid view name {view!r}: a view name must be 1-128 letters, digits, "
            "'_', '.' or '-'",
            hint="name views like 'customer_amount'",
        )
    if len(_checked_views) < 10_000:  # bounded: names come from specs, a handful per project
        _checked_views.add(view)
    return view


@dataclass(frozen=True)
class BulkEvents:
    """Checked events of one view for :meth:`WindowStateStore.bulk_load`, sorted by entity and
    time, without duplicates and without events beyond the horizon of their entity's latest."""

    entity_keys: list[str]
    times_us: list[int]
    event_ids: list[str]
    values: list[float]
    starts: list[int]
    """Index of each entity's first event, then ``len(times_us)``."""


def prepare_bulk(
    view: str,
    entity_keys: npt.ArrayLike,
    times_us: npt.ArrayLike,
    event_ids: npt.ArrayLike,
    values: npt.ArrayLike,
    horizon_us: int,
) -> BulkEvents:
    """Check and prune a bulk load; :class:`InvalidInputError` lists every problem."""
    check_view(view)
    arrays = {
        "entity_keys": np.asarray(entity_keys),
        "times_us": np.asarray(times_us),
        "event_ids": np.asarray(event_ids),
        "values": np.asarray(values),
    }
    shapes = {name: array.shape for name, array in arrays.items()}
    if len(set(shapes.values())) != 1 or len(shapes["times_us"]) != 1:
        raise InvalidInputError(
            f"cannot bulk-load view {view!r}: keys, times, ids and values must be 1-D arrays of "
            f"one length, got shapes {shapes}",
        )
    problems = [
        f"{name} hold missing values (None/NaN)"
        for name in ("entity_keys", "event_ids")
        if pd.isna(arrays[name].astype(object)).any()
    ]
    frame = pd.DataFrame(
        {
            "key": _strings(arrays["entity_keys"]),
            "t": arrays["times_us"],
            "id": _strings(arrays["event_ids"]),
            "value": arrays["values"],
        }
    )
    if not (type(horizon_us) is int and 0 < horizon_us <= MAX_WINDOW_US):
        problems.append(f"horizon_us must be an int in 1..{MAX_WINDOW_US}, got {horizon_us!r}")
    if not pd.api.types.is_integer_dtype(frame["t"]):
        problems.append(f"times_us must be integers (µs since the epoch), got {frame['t'].dtype}")
    elif len(frame) and int(frame["t"].abs().max()) > MAX_ABS_TIME_US:
        problems.append(f"times_us must lie within ±{MAX_ABS_TIME_US}")
    if not pd.api.types.is_numeric_dtype(frame["value"]) or pd.api.types.is_bool_dtype(
        frame["value"]
    ):
        problems.append(f"values must be numbers, got {frame['value'].dtype}")
    elif np.isinf(frame["value"].to_numpy(np.float64)).any():
        problems.append("values must be finite or NaN; found infinities")
    if (frame["key"] == "").any() or (frame["id"] == "").any():
        problems.append("entity keys and event ids must be non-empty")
    if frame["id"].str.contains("\x00", regex=False).any():
        problems.append("event ids must not contain NUL")
    if problems:
        raise InvalidInputError(
            f"cannot bulk-load view {view!r}: " + "; ".join(problems),
            hint="pass 1-D arrays of equal length: keys, int64 µs times, ids, float values",
        )
    frame = frame.drop_duplicates(["key", "t", "id"])
    latest = frame.groupby("key", sort=False)["t"].transform("max")
    frame = frame[frame["t"] > latest - horizon_us].sort_values(["key", "t", "id"])
    keys = frame["key"].tolist()
    sorted_keys = frame["key"].to_numpy()
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])[: len(keys)]
    return BulkEvents(
        entity_keys=keys,
        times_us=frame["t"].astype(np.int64).tolist(),
        event_ids=frame["id"].tolist(),
        values=frame["value"].astype(np.float64).tolist(),
        starts=[*starts.tolist(), len(keys)],
    )


def _strings(array: npt.ArrayLike) -> npt.NDArray[Any]:
    """Keys and ids as Python strings: online requests name entities by ``str``."""
    items = np.asarray(array)
    if items.dtype == object:
        return np.array([str(x) for x in items], dtype=object)
    return items.astype(str).astype(object)


__all__ = [
    "MAX_ABS_TIME_US",
    "VIEW_NAME_PATTERN",
    "BulkEvents",
    "Events",
    "WindowStateStore",
    "WindowUpdate",
    "check_updates",
    "check_view",
    "prepare_bulk",
]
