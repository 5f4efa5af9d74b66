"""Window aggregations for one event at request time, from the entity's recent events.

This is the serving hot path: plain Python on lists (no numpy or pandas per call), a binary
search per window and :func:`math.fsum`, whose correctly rounded sums equal the batch path's bit
for bit::

    >>> from ferryml.features.windows.spec import WindowAggregation
    >>> spec = WindowAggregation.of("amount", ["1h"], ["count", "mean", "max"])
    >>> hour = 3_600_000_000
    >>> aggregate_events(spec, [(0, 1.0), (hour // 2, 2.0), (hour // 2, float("nan"))], hour)
    {'amount_count_1h': 2, 'amount_mean_1h': 2.0, 'amount_max_1h': 2.0}
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from math import fsum
from operator import itemgetter

from ferryml.features.windows.spec import WindowAggregation

_NAN = float("nan")
_first = itemgetter(0)
_second = itemgetter(1)


def aggregate_events(
    spec: WindowAggregation, events: Sequence[tuple[int, float]], t_us: int
) -> dict[str, float | int]:
    """The spec's outputs at time ``t_us`` from the entity's ``(time_us, value)`` events.

    ``events`` must be sorted by time (a :class:`WindowStateStore` returns them so); events at
    or after ``t_us`` and at or before ``t_us - window`` are outside every window, so passing
    more than the store's ``(t - horizon, t)`` is harmless.
    """
    times = list(map(_first, events))
    values = list(map(_second, events))
    end = bisect_left(times, t_us)
    # NaN is the only value not equal to itself and any NaN makes the sum NaN: one C loop tells
    # whether the (usual) case without NaN can share the lists instead of filtering them.
    checksum = sum(values)
    if checksum == checksum:
        kept_times, kept, kept_end = times, values, end
    else:
        present = [(t, v) for t, v in zip(times[:end], values[:end], strict=True) if v == v]
        kept_times = list(map(_first, present))
        kept = list(map(_second, present))
        kept_end = len(kept)

    out: dict[str, float | int] = {}
    for window, columns in spec.columns_by_window:
        start = t_us - window.micros
        inside = kept[bisect_right(kept_times, start, 0, kept_end) : kept_end]
        total = _NAN
        for aggregation, name in columns:
            if aggregation == "count":
                out[name] = end - bisect_right(times, start, 0, end)
            elif aggregation == "max":
                out[name] = max(inside) if inside else _NAN
            else:
                if total != total:  # not yet computed; a sum of values without NaN is never NaN
                    total = fsum(inside)
                if aggregation == "sum":
                    out[name] = total
                else:
                    out[name] = total / len(inside) if inside else _NAN
    return out


__all__ = ["aggregate_events"]
