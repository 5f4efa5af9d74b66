"""Change points: a sudden shift is found once, located within hours of where it began; a
week-long ramp is found as one gradual change; a stream without change yields none; two
opposite changes are two; missing values are skipped; the monitoring report carries the
change points of its streams."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from ferryml.monitoring.changes import change_points, weekly_ranks

DAY = 86_400 * 1_000_000
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1_000_000


def stream(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    times = T0 + np.sort(rng.random(30 * 2000)) * 30 * DAY
    return times, rng.normal(0, 1, len(times))


def hours_from(iso: str, at_us: float) -> float:
    moment = np.datetime64(iso.rstrip("Z"), "us").astype(np.int64)
    return float(abs(moment - at_us) / 3.6e9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sudden_shift_is_one_change_located_where_it_began(seed: int) -> None:
    times, noise = stream(seed)
    start = T0 + 10 * DAY
    (change,) = change_points(times, noise + 0.3 * (times > start), "x")
    assert change.kind == "sudden" and change.detections == 1
    assert hours_from(change.began, start) < 36
    assert change.after > change.before


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_week_long_ramp_is_one_gradual_change(seed: int) -> None:
    times, noise = stream(seed)
    ramp = np.clip((times - (T0 + 10 * DAY)) / (7 * DAY), 0, 1)
    (change,) = change_points(times, noise + 0.3 * ramp, "x")
    assert change.kind == "gradual" and change.detections >= 2
    assert hours_from(change.settled, T0 + 10 * DAY) > 3 * 24


def test_no_change_two_changes_and_missing_values() -> None:
    times, noise = stream(5)
    assert change_points(times, noise, "x") == []
    up_then_down = noise + 0.3 * (times > T0 + 8 * DAY) - 0.6 * (times > T0 + 20 * DAY)
    with_gaps = np.where(np.arange(len(times)) % 10 == 0, np.nan, up_then_down)
    first, second = change_points(times, with_gaps, "x")
    assert first.after > first.before and second.after < second.before
    assert hours_from(second.began, T0 + 20 * DAY) < 36


def weekdays(times: np.ndarray) -> np.ndarray:
    return (np.floor(times / DAY).astype(np.int64) + 3) % 7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_weekly_cycle_is_no_change_on_weekly_ranks_but_a_lasting_one_is(seed: int) -> None:
    rng = np.random.default_rng(seed)

    def amounts(days: int, start: float) -> tuple[np.ndarray, np.ndarray]:
        times = start + np.sort(rng.random(days * 400)) * days * DAY
        weekend = weekdays(times) >= 5
        return times, rng.lognormal(3.0 + 0.8 * weekend, 0.5 + 0.3 * weekend)  # level, spread

    reference_times, reference = amounts(28, T0 - 28 * DAY)
    times, values = amounts(28, T0)
    assert len(change_points(times, values, "raw")) > 2  # every weekend, without ranks
    ranked = weekly_ranks(weekdays(times), values, weekdays(reference_times), reference)
    assert change_points(times, ranked, "amount") == []
    start = T0 + 15 * DAY
    raised = values * np.where(times > start, 1.4, 1.0)
    ranked = weekly_ranks(weekdays(times), raised, weekdays(reference_times), reference)
    first, *after = change_points(times, ranked, "amount")
    assert hours_from(first.began, start) < 36 and first.after > first.before
    # a change of another size on each weekday can be caught again later; never earlier
    assert all(change.detected > first.detected for change in after)


def test_weekly_ranks_are_the_reference_weekdays_distribution_function() -> None:
    reference_days = np.array([0, 0, 0, 0, 1, 1])
    reference = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 20.0])
    days = np.array([0, 0, 0, 1, 1, 2])
    values = np.array([0.0, 2.0, 9.0, 15.0, np.nan, 3.0])
    ranks = weekly_ranks(days, values, reference_days, reference)
    # weekday 0 against 1..4 (2.0 ties: half counts), weekday 1 against 10, 20; weekday 2 has
    # no reference of its own: against all six
    expected = [0.0, (1 + 2) / 8, 1.0, 0.5, np.nan, (2 + 3) / 12]
    assert np.allclose(ranks, expected, equal_nan=True)
