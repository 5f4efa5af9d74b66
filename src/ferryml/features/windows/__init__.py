"""Time-window aggregation features: the same numbers in batch (training) and online (serving).

Per entity (customer, card, merchant), ``count``/``sum``/``mean``/``max`` of one value over
trailing windows such as 1h, 24h, 7d, 30d. :func:`window_features` computes them for a whole
event table with numpy; :func:`aggregate_events` for one event from the entity's recent events,
which a :class:`WindowStateStore` (SQLite or Redis) reads and updates within the request.

Semantics, shared by both paths (and checked against each other and a brute-force oracle):

- Times are int64 microseconds since the epoch, UTC.
- Window ``w`` at event time ``t`` covers the entity's events ``e`` with ``t - w < e.t < t``:
  open at both ends, so the current event and every other event with the same timestamp are
  excluded, and so is an event exactly ``w`` earlier.
- ``count`` is the number of events in the window, NaN values included. ``sum``, ``mean`` and
  ``max`` ignore NaN values: ``sum`` is 0.0 when none is left, ``mean`` and ``max`` are NaN.
  ``count`` is int64, the others float64.
- Sums are correctly rounded (the double nearest to the exact sum), so batch and online agree
  bit for bit, whatever the order of summation; means divide that sum by the non-NaN count.
- Output columns are ``f"{prefix}_{aggregation}_{label}"``, e.g. ``customer_amount_mean_30d``,
  where the label is the window as written: a whole number and a unit among s, m, h, d.

    >>> spec = WindowAggregation.of("customer_amount", ["24h", "1h"], ["max", "count"])
    >>> spec.output_names()
    ('customer_amount_count_1h', 'customer_amount_max_1h', 'customer_amount_count_24h', \
'customer_amount_max_24h')
"""

from ferryml.features.windows.batch import window_features
from ferryml.features.windows.online import aggregate_events
from ferryml.features.windows.spec import (
    AGGREGATIONS,
    DEFAULT_WINDOWS,
    Aggregation,
    Window,
    WindowAggregation,
    parse_window,
)
from ferryml.features.windows.state import (
    STORE_TYPES,
    WindowStateStore,
    WindowUpdate,
    open_window_store,
)

__all__ = [
    "AGGREGATIONS",
    "DEFAULT_WINDOWS",
    "STORE_TYPES",
    "Aggregation",
    "Window",
    "WindowAggregation",
    "WindowStateStore",
    "WindowUpdate",
    "aggregate_events",
    "open_window_store",
    "parse_window",
    "window_features",
]
