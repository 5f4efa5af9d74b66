"""Online window aggregation, replayed event by event, equals the batch computation exactly."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryml.features.windows import WindowAggregation, aggregate_events, window_features

MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SPEC = WindowAggregation.of("amount", ["90s", "15m", "1h", "24h"])


def replay(
    spec: WindowAggregation,
    keys: npt.NDArray[Any],
    times: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> dict[str, list[float | int]]:
    """Each event in time order: aggregate the entity's remembered events, then remember it.

    Like a state store, the history handed over holds only events in ``(t - horizon, t]``;
    events with the event's own time are included on purpose (the store excludes them, and
    ``aggregate_events`` must too).
    """
    history: dict[Any, list[tuple[int, float]]] = defaultdict(list)
    rows: list[dict[str, float | int]] = [{} for _ in range(len(times))]
    for i in np.argsort(times, kind="stable").tolist():
        t = int(times[i])
        events = history[keys[i]]
        start = bisect.bisect_right(events, (t - spec.horizon_us, math.inf))
        rows[i] = aggregate_events(spec, events[start:], t)
        events.append((t, float(values[i])))
    return {name: [row[name] for row in rows] for name in spec.output_names()}


def assert_equal_to_batch(
    spec: WindowAggregation,
    keys: npt.NDArray[Any],
    times: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> None:
    online = replay(spec, keys, times, values)
    for name, column in window_features(spec, keys, times, values).items():
        kind = name.split("_")[-2]
        assert all(type(x) is (int if kind == "count" else float) for x in online[name]), name
        np.testing.assert_array_equal(np.array(online[name]), column, err_msg=name)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_replay_equals_batch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 1_500
    keys = np.array([f"c{k}" for k in rng.integers(0, 5, n)], dtype=object)
    times = (rng.integers(0, 2 * DAY // (30 * 1_000_000), n) * 30_000_000).astype(np.int64)
    values = np.minimum(np.round(rng.lognormal(4, 2, n), 2), 50_000.0)
    values[rng.random(n) < 0.1] = np.nan
    assert_equal_to_batch(SPEC, keys, times, values)


def test_replay_equals_batch_bit_for_bit_with_large_sums() -> None:
    """Thousands of amounts up to 50k per window: sums near 1e8, where an ulp is 1.5e-8."""
    rng = np.random.default_rng(11)
    n = 3_000
    keys = np.zeros(n, np.int64)
    times = np.sort(rng.integers(0, 30 * DAY, n)).astype(np.int64)
    values = np.round(rng.uniform(0, 50_000, n), 2)
    assert_equal_to_batch(WindowAggregation.of("amount", ["7d", "30d"]), keys, times, values)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 60),
            st.floats(-5e4, 5e4) | st.just(math.nan) | st.floats(-1e-6, 1e-6),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_replay_equals_batch_on_generated_events(events: list[tuple[int, int, float]]) -> None:
    keys = np.array([k for k, _, _ in events])
    times = np.array([t * 45_000_000 for _, t, _ in events], np.int64)
    values = np.array([v for _, _, v in events])
    assert_equal_to_batch(SPEC, keys, times, values)


def test_no_events() -> None:
    spec = WindowAggregation.of("v", ["1h"])
    assert_nan_equal(
        aggregate_events(spec, [], HOUR),
        {"v_count_1h": 0, "v_sum_1h": 0.0, "v_mean_1h": math.nan, "v_max_1h": math.nan},
    )


def test_nan_values_count_but_are_not_summed() -> None:
    spec = WindowAggregation.of("v", ["1h"])
    events = [(10, math.nan), (20, 3.0), (30, math.nan)]
    assert_nan_equal(
        aggregate_events(spec, events, HOUR),
        {"v_count_1h": 3, "v_sum_1h": 3.0, "v_mean_1h": 3.0, "v_max_1h": 3.0},
    )
    assert_nan_equal(
        aggregate_events(spec, [(10, math.nan)], HOUR),
        {"v_count_1h": 1, "v_sum_1h": 0.0, "v_mean_1h": math.nan, "v_max_1h": math.nan},
    )


def test_bounds_are_open_at_both_ends() -> None:
    spec = WindowAggregation.of("v", ["1h"], ["count", "sum"])
    t = 10 * HOUR
    events = [(t - HOUR, 1.0), (t - HOUR + 1, 2.0), (t - 1, 4.0), (t, 8.0), (t + 1, 16.0)]
    assert aggregate_events(spec, events, t) == {"v_count_1h": 2, "v_sum_1h": 6.0}


def assert_nan_equal(actual: dict[str, float | int], expected: dict[str, float | int]) -> None:
    assert list(actual) == list(expected)
    for name, value in expected.items():
        assert type(actual[name]) is type(value), name
        assert actual[name] == value or (math.isnan(value) and math.isnan(actual[name])), name
