"""Batch window features: a brute-force oracle, no look-ahead, spec and input validation.

The oracle sums with exact fractions and rounds once, so sums must be *equal*, not close: the
batch path promises the correctly rounded sum (see ``batch._exact_window_sums``).
"""

from __future__ import annotations

import bisect
import importlib
import math
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryml.errors import InvalidInputError
from ferryml.features.windows import (
    AGGREGATIONS,
    Window,
    WindowAggregation,
    parse_window,
    window_features,
)

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SPEC = WindowAggregation.of("amount", ["90s", "15m", "1h", "24h"])


def oracle(
    spec: WindowAggregation,
    keys: npt.NDArray[Any],
    times: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    *,
    exact: bool = True,
) -> dict[str, list[float | int]]:
    """Row by row, event by event, straight from the definition."""
    out: dict[str, list[float | int]] = {name: [] for name in spec.output_names()}
    rows = list(zip(keys.tolist(), times.tolist(), values.tolist(), strict=True))
    for key, t, _ in rows:
        for window in spec.windows:
            inside = [v for k, u, v in rows if k == key and t - window.micros < u < t]
            present = [v for v in inside if not math.isnan(v)]
            total = float(sum(map(Fraction, present), Fraction(0))) if exact else math.fsum(present)
            results = {
                "count": len(inside),
                "sum": total,
                "mean": total / len(present) if present else math.nan,
                "max": max(present) if present else math.nan,
            }
            for aggregation in spec.aggregations:
                out[f"{spec.prefix}_{aggregation}_{window.label}"].append(results[aggregation])
    return out


def random_events(
    seed: int, n: int, *, int_keys: bool = False
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Unsorted events of a few entities over two days on a 30 s grid: many equal times and
    events exactly one window apart; amounts in cents up to 50k, refunds, NaNs."""
    rng = np.random.default_rng(seed)
    entity = rng.integers(0, 4, n)
    keys = entity if int_keys else np.array([f"c{k}" for k in entity], dtype=object)
    times = 1_700_000_000 * SECOND + rng.integers(0, 2 * DAY // (30 * SECOND), n) * 30 * SECOND
    values = np.minimum(np.round(rng.lognormal(4, 2, n), 2), 50_000.0)
    values[rng.random(n) < 0.1] *= -1
    values[rng.random(n) < 0.1] = np.nan
    return keys, times.astype(np.int64), values


def assert_same(actual: dict[str, npt.NDArray[Any]], expected: dict[str, list[Any]]) -> None:
    assert list(actual) == list(expected)
    for name, column in actual.items():
        kind = name.split("_")[-2]
        assert column.dtype == (np.int64 if kind == "count" else np.float64), name
        np.testing.assert_array_equal(column, np.array(expected[name]), err_msg=name)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("int_keys", [False, True])
def test_batch_equals_the_oracle(seed: int, int_keys: bool) -> None:
    keys, times, values = random_events(seed, 300, int_keys=int_keys)
    assert_same(window_features(SPEC, keys, times, values), oracle(SPEC, keys, times, values))


def test_sums_are_correctly_rounded_over_many_large_amounts() -> None:
    """3,000 events of one entity, amounts up to 50k: float prefix sums would be off by ~1e-8."""
    rng = np.random.default_rng(7)
    n = 3_000
    times = np.sort(rng.integers(0, 30 * DAY, n)).astype(np.int64)
    values = np.round(rng.uniform(0, 50_000, n), 2)
    keys = np.zeros(n, np.int64)
    spec = WindowAggregation.of("amount", ["7d", "30d"], ["sum", "mean"])
    out = window_features(spec, keys, times, values)
    listed = times.tolist()
    for window in spec.windows:  # one sorted entity: slices, and fsum, correctly rounded too
        for i, t in enumerate(listed):
            inside = values[
                bisect.bisect_right(listed, t - window.micros) : bisect.bisect_left(listed, t)
            ]
            total = math.fsum(inside)
            assert out[f"amount_sum_{window.label}"][i] == total
            expected_mean = total / len(inside) if len(inside) else math.nan
            np.testing.assert_equal(out[f"amount_mean_{window.label}"][i], expected_mean)
    spot = rng.choice(n, 5, replace=False)  # and fsum agrees with exact fractions
    exact = {i: float(sum(map(Fraction, values[times < times[i]]), Fraction(0))) for i in spot}
    assert all(out["amount_sum_30d"][i] == exact[i] for i in spot)


def test_sums_of_wildly_different_magnitudes_are_exact() -> None:
    """Values from 1e-300 to 1e15 need many limbs; the sum is still the nearest double."""
    rng = np.random.default_rng(3)
    n = 200
    values = np.ldexp(rng.uniform(0.5, 1, n), rng.integers(-1000, 50, n))
    values *= rng.choice([-1.0, 1.0], n)
    keys = rng.integers(0, 2, n)
    times = rng.integers(0, 10, n).astype(np.int64) * HOUR
    spec = WindowAggregation.of("x", ["3h", "1d"], ["sum", "max"])
    assert_same(window_features(spec, keys, times, values), oracle(spec, keys, times, values))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 40),
            st.floats(-1e12, 1e12, allow_nan=False) | st.just(math.nan) | st.floats(-1e-9, 1e-9),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_batch_equals_the_oracle_on_generated_events(
    events: list[tuple[int, int, float]],
) -> None:
    keys = np.array([k for k, _, _ in events])
    times = np.array([t * 10 * MINUTE for _, t, _ in events], np.int64)
    values = np.array([v for _, _, v in events])
    assert_same(window_features(SPEC, keys, times, values), oracle(SPEC, keys, times, values))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_no_output_uses_an_event_at_or_after_its_own_time(data: st.DataObject) -> None:
    """Changing or adding events at or after time T changes no output of a row at or before T."""
    n = data.draw(st.integers(1, 40), label="n")
    keys = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    steps = data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    times = np.array(steps, np.int64) * 5 * MINUTE
    values = np.array(data.draw(st.lists(st.floats(-1e4, 1e4), min_size=n, max_size=n)))
    cut = data.draw(st.sampled_from(sorted(set(times.tolist()))), label="cut")
    later = times >= cut
    changed = values.copy()
    changed[later] = data.draw(
        st.lists(
            st.floats(-1e6, 1e6) | st.just(math.nan),
            min_size=int(later.sum()),
            max_size=int(later.sum()),
        )
    )
    extra = data.draw(st.integers(0, 5), label="extra")
    keys2 = np.concatenate([keys, np.arange(extra) % 3])
    times2 = np.concatenate([times, cut + np.arange(extra, dtype=np.int64) * MINUTE])
    values2 = np.concatenate([changed, np.full(extra, 123.0)])

    before = window_features(SPEC, keys, times, values)
    after = window_features(SPEC, keys2, times2, values2)
    rows = np.flatnonzero(times <= cut)
    for name, column in before.items():
        np.testing.assert_array_equal(after[name][rows], column[rows], err_msg=name)


def test_rows_keep_their_order_and_columns_follow_the_spec() -> None:
    keys = np.array(["b", "a", "b", "a"], dtype=object)
    times = np.array([3, 1, 1, 2], np.int64) * MINUTE
    values = np.array([10.0, 1.0, 20.0, np.nan])
    spec = WindowAggregation.of("v", ["1h", "90s"], ["max", "count", "mean"])
    out = window_features(spec, keys, times, values)
    assert list(out) == [
        "v_count_90s",
        "v_mean_90s",
        "v_max_90s",
        "v_count_1h",
        "v_mean_1h",
        "v_max_1h",
    ]
    assert out["v_count_1h"].tolist() == [1, 0, 0, 1]
    np.testing.assert_array_equal(out["v_mean_1h"], [20.0, np.nan, np.nan, 1.0])
    assert out["v_count_90s"].tolist() == [0, 0, 0, 1]  # 1 min before: inside; 2 min: outside


def test_empty_input_gives_empty_typed_columns() -> None:
    out = window_features(SPEC, np.array([], dtype=object), np.array([], np.int64), np.array([]))
    assert set(out) == set(SPEC.output_names())
    assert all(len(c) == 0 for c in out.values())
    assert out["amount_count_1h"].dtype == np.int64
    assert out["amount_max_1h"].dtype == np.float64


@pytest.mark.parametrize(
    ("keys", "times", "values", "message"),
    [
        (["a", "b"], [1], [1.0], "one length"),
        (["a"], [1.5], [1.0], "times_us must be integer"),
        (["a"], [1], ["x"], "values must be numbers"),
        (["a"], [1], [math.inf], "infinite"),
        ([None], [1], [1.0], "missing key"),
        ([["a"]], [[1]], [[1.0]], "one-dimensional"),
        (["a"], [np.iinfo(np.int64).min + 1], [1.0], "too far in the past"),
    ],
)
def test_bad_inputs_are_named(keys: Any, times: Any, values: Any, message: str) -> None:
    keys_array = np.array(keys, dtype=object)
    with pytest.raises(InvalidInputError, match=message):
        window_features(SPEC, keys_array, np.array(times), np.array(values))


@pytest.mark.parametrize(
    ("text", "micros"),
    [("90s", 90 * SECOND), ("15m", 15 * MINUTE), ("1h", HOUR), ("24h", DAY), ("7d", 7 * DAY)],
)
def test_parse_window(text: str, micros: int) -> None:
    assert parse_window(text) == (text, micros)


@pytest.mark.parametrize(
    "text", ["", "1", "h", "0h", "01h", "1w", "1.5h", " 1h", "1h ", "1H", "-1h", "1y", 60, None]
)
def test_parse_window_rejects_and_names_the_text(text: object) -> None:
    with pytest.raises(InvalidInputError, match=r"invalid window " + repr(repr(text))[1:-1]):
        parse_window(text)


def test_parse_window_rejects_absurd_lengths() -> None:
    with pytest.raises(InvalidInputError, match="at most"):
        parse_window("999999999d")


def test_spec_orders_and_names() -> None:
    spec = WindowAggregation.of("customer_amount", ["30d", "1h"], ["max", "mean"])
    assert spec.aggregations == ("mean", "max")
    assert [w.label for w in spec.windows] == ["1h", "30d"]
    assert spec.horizon_us == 30 * DAY
    assert "customer_amount_mean_30d" in spec.output_names()
    assert WindowAggregation.of("x").aggregations == AGGREGATIONS


@pytest.mark.parametrize(
    ("windows", "aggregations", "message"),
    [
        (["1h", "60m"], ["count"], "given twice"),
        (["1h"], ["count", "count"], "given twice"),
        (["1h"], ["median"], "unknown aggregations"),
        (["1h", "1w"], ["count"], "invalid window '1w'"),
    ],
)
def test_spec_of_rejects(windows: list[str], aggregations: list[str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        WindowAggregation.of("x", windows, aggregations)


def test_spec_constructor_lists_every_problem() -> None:
    with pytest.raises(InvalidInputError) as caught:
        WindowAggregation(
            "1bad", (Window("1d", 86_400 * SECOND), Window("1h", 99)), ("max", "count")
        )
    text = str(caught.value)
    assert "prefix '1bad'" in text
    assert "in that order" in text
    assert "does not match its label" in text
    assert "shortest to longest" in text


@pytest.mark.parametrize("name", ["ferryml.features.windows", "ferryml.features.windows.state"])
def test_all_names_import(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__
    for attribute in module.__all__:
        assert getattr(module, attribute) is not None, f"{name}.{attribute}"
