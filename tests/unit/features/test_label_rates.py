"""Label-rate snapshots against a brute-force oracle: only labels known before a snapshot."""

from __future__ import annotations

import numpy as np
import pytest

from ferryml.features.label_rates import SNAPSHOT_COLUMN, label_rate_snapshots

DAY = 86_400_000_000.0


def _oracle(keys, times, labels, label_times, s, key, window, weight):  # type: ignore[no-untyped-def]
    in_window = (times >= s - window) & (times < s)
    known_positive = (labels == 1) & (label_times < s)
    events = in_window.sum()
    overall = (in_window & known_positive).sum() / events if events else 0.0
    mine = in_window & (keys == key)
    positives = (mine & known_positive).sum()
    return (positives + weight * overall) / (mine.sum() + weight)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snapshots_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    keys = rng.choice(np.array(["m1", "m2", "m3", "m4"], dtype=object), n)
    times = np.sort(rng.uniform(0, 40 * DAY, n)).round()
    labels = (rng.uniform(size=n) < 0.2).astype(float)
    delays = rng.uniform(0, 10 * DAY, n).round()
    label_times = np.where(rng.uniform(size=n) < 0.8, times + delays, np.nan)
    window = int(7 * DAY)
    table = label_rate_snapshots(
        "risk",
        keys,
        times,
        labels,
        label_times,
        window_us=window,
        prior_weight=5.0,
        key_column="merchant_id",
    )
    got = table.to_pydict()
    assert len(got["risk"]) > 0
    for key, s, rate in zip(got["merchant_id"], got[SNAPSHOT_COLUMN], got["risk"], strict=True):
        assert s % DAY == 0
        assert times[keys == key].min() < s  # a row only after the entity's first event
        expected = _oracle(keys, times, labels, label_times, s, key, window, 5.0)
        assert rate == pytest.approx(expected, abs=1e-12)


def test_a_label_arriving_after_the_snapshot_is_not_used() -> None:
    keys = np.array(["m"], dtype=object)
    table = label_rate_snapshots(
        "risk",
        keys,
        np.array([0.5 * DAY]),
        np.array([1.0]),
        np.array([2.5 * DAY]),
        window_us=int(30 * DAY),
        prior_weight=0.0,
        key_column="k",
        until_us=4 * DAY,
    )
    rates = dict(
        zip(
            table.column(SNAPSHOT_COLUMN).to_pylist(), table.column("risk").to_pylist(), strict=True
        )
    )
    assert rates[1 * DAY] == 0.0 and rates[2 * DAY] == 0.0  # fraud not known yet
    assert rates[3 * DAY] == 1.0 and rates[4 * DAY] == 1.0


def test_events_without_an_entity_key_count_for_no_entity() -> None:
    keys = np.array(["m", None], dtype=object)
    table = label_rate_snapshots(
        "risk",
        keys,
        np.array([0.5 * DAY, 0.6 * DAY]),
        np.array([0.0, 1.0]),
        np.array([np.nan, 0.7 * DAY]),
        window_us=int(30 * DAY),
        prior_weight=0.0,
        key_column="k",
    )
    assert table.column("k").to_pylist() == ["m"]
    assert table.column("risk").to_pylist() == [0.0]  # the keyless fraud is nobody's
