"""Label rates as of daily snapshots: an entity's smoothed positive rate (e.g. merchant risk).

The snapshot at midnight ``s`` (UTC) counts, per entity, the events with ``s - window <= t < s``
and, among them, the positives whose label arrived before ``s`` (``label_time < s``): labels
arrive late, and a snapshot may only use what was known when it was taken. The rate is smoothed
towards the snapshot's overall rate: ``(positives + w * overall) / (events + w)``.

An event at time ``t`` reads the latest snapshot at or before ``t`` (its own day's midnight), so
neither its own label nor any label known after ``t`` reaches it. Computed with per-entity
difference arrays over days: no loop over events or days in Python.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from ferryml.features.transforms.base import MICROS_PER_DAY

SNAPSHOT_COLUMN = "snapshot_time"


def label_rate_snapshots(
    name: str,
    keys: npt.NDArray[np.object_],
    times_us: npt.NDArray[np.float64],
    labels: npt.NDArray[np.float64],
    label_times_us: npt.NDArray[np.float64],
    *,
    window_us: int,
    prior_weight: float,
    key_column: str,
    until_us: float | None = None,
) -> pa.Table:
    """Snapshots ``(key_column, snapshot_time, name)`` for every day after each entity's first
    event, up to the day after the last event (or ``until_us``'s midnight).

    ``labels`` are 1 for positive, 0 or NaN otherwise; ``label_times_us`` NaN when no label.
    """
    if len(keys) == 0:
        return _table(key_column, name, [], np.empty(0), np.empty(0))
    codes, uniques = pd.factorize(keys)
    known = codes >= 0  # a null key (code -1) belongs to no entity: it would index the last one
    if not known.all():
        codes, times_us, labels, label_times_us = (
            codes[known],
            times_us[known],
            labels[known],
            label_times_us[known],
        )
    if len(codes) == 0:
        return _table(key_column, name, [], np.empty(0), np.empty(0))
    day = np.floor_divide(times_us, MICROS_PER_DAY).astype(np.int64)
    first_day = int(day.min()) + 1
    last_day = int(day.max()) + 1 if until_us is None else int(until_us // MICROS_PER_DAY)
    n_days = max(last_day - first_day + 1, 0)
    # an event counts in snapshots (in days) [day(t) + 1, floor((t + window) / D)]
    start = day + 1
    end = np.floor_divide(times_us + window_us, MICROS_PER_DAY).astype(np.int64)
    events = _spread(codes, start, end, first_day, n_days, len(uniques))
    positive = np.nan_to_num(labels, nan=0.0) == 1.0
    known = ~np.isnan(label_times_us)
    label_day = np.floor_divide(np.where(known, label_times_us, 0.0), MICROS_PER_DAY)
    mask = positive & known
    pos_start = np.maximum(start, label_day.astype(np.int64) + 1)
    positives = _spread(codes[mask], pos_start[mask], end[mask], first_day, n_days, len(uniques))
    totals = events.sum(axis=0)
    overall = np.divide(positives.sum(axis=0), totals, out=np.zeros(n_days), where=totals > 0)
    denominator = events + prior_weight
    rate = np.divide(
        positives + prior_weight * overall,
        denominator,
        out=np.full(events.shape, np.nan),
        where=denominator > 0,
    )
    # rows exist from the day after an entity's first event
    entity_first = np.full(len(uniques), np.iinfo(np.int64).max)
    np.minimum.at(entity_first, codes, start)
    day_index = np.arange(n_days) + first_day
    seen = day_index[None, :] >= entity_first[:, None]
    entity_idx, day_idx = np.nonzero(seen)
    snapshot_us = (day_index[day_idx] * MICROS_PER_DAY).astype(np.float64)
    return _table(
        key_column,
        name,
        np.asarray(uniques, dtype=object)[entity_idx],
        snapshot_us,
        rate[entity_idx, day_idx],
    )


def _spread(
    codes: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    first_day: int,
    n_days: int,
    n_entities: int,
) -> npt.NDArray[np.float64]:
    """Counts per (entity, day) of intervals [start, end] (days), by a difference array."""
    diff = np.zeros((n_entities, n_days + 1))
    lo = np.clip(start - first_day, 0, n_days)
    hi = np.clip(end - first_day + 1, 0, n_days)
    valid = hi > lo
    np.add.at(diff, (codes[valid], lo[valid]), 1.0)
    np.add.at(diff, (codes[valid], hi[valid]), -1.0)
    return np.cumsum(diff, axis=1)[:, :n_days]


def _table(key_column: str, name: str, keys: object, snapshot_us: object, rate: object) -> pa.Table:
    return pa.table(
        {
            key_column: pa.array(keys, type=pa.string()),
            SNAPSHOT_COLUMN: pa.array(snapshot_us, type=pa.float64()),
            name: pa.array(rate, type=pa.float64()),
        }
    )
