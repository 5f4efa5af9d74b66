"""Delayed labels and time splits: no label from after the cutoff, no period overlapping another."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryml.errors import InvalidInputError
from ferryml.training.labels import MICROS_PER_DAY, label_completeness, labels_known_at
from ferryml.training.splits import TimeSplit, plan_split

DAY = MICROS_PER_DAY


def test_a_label_arriving_after_the_cutoff_is_not_used() -> None:
    labels = np.array([1, 1, 1, 0, 0])
    label_times = np.array([9 * DAY, 10 * DAY, 11 * DAY, np.nan, 12 * DAY])
    known = labels_known_at(labels, label_times, cutoff_us=10 * DAY)
    assert known.tolist() == [1, 1, 0, 0, 0]  # the chargeback of day 11 is in the future


def test_a_positive_without_a_label_time_counts_as_known() -> None:
    assert labels_known_at(np.array([1]), np.array([np.nan]), 0.0).tolist() == [1]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 60), st.booleans(), st.one_of(st.none(), st.floats(0, 120))),
        min_size=1,
        max_size=60,
    ),
    st.floats(0, 120),
)
def test_completeness_counts_every_event_and_positive_once(
    rows: list[tuple[float, bool, float | None]], cutoff_days: float
) -> None:
    times = np.array([t * DAY for t, _, _ in rows])
    labels = np.array([int(p) for _, p, _ in rows])
    label_times = np.array([np.nan if lt is None else lt * DAY for _, _, lt in rows])
    periods = label_completeness(times, labels, label_times, cutoff_days * DAY)
    assert sum(p.events for p in periods) == len(rows)
    known = labels_known_at(labels, label_times, cutoff_days * DAY)
    assert sum(p.known_positives for p in periods) == int(known.sum())
    assert sum(p.later_positives for p in periods) == int(labels.sum() - known.sum())
    for period in periods:
        share = period.completeness
        assert share is None or 0.0 <= share <= 1.0


def hundred_days() -> TimeSplit:
    """100 days: 30 of maturity, 10 of test, 10 of validation, 50 of training."""
    return plan_split(
        first_us=0.0,
        cutoff_us=100 * DAY,
        maturity_days=30,
        validation_days=10,
        test_days=10,
        min_train_days=14,
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 100 * DAY), min_size=1, max_size=200))
def test_periods_are_disjoint_and_ordered_in_time(times: list[float]) -> None:
    plan = hundred_days()
    t = np.array(times)
    train, validation, test = plan.masks(t)
    assert not (train & validation).any() and not (validation & test).any()
    assert not (train & test).any()
    if train.any() and validation.any():
        assert t[train].max() < t[validation].min()
    if validation.any() and test.any():
        assert t[validation].max() < t[test].min()
    young = ~(train | validation | test)
    assert (t[young] >= 70 * DAY).all()  # only events younger than the maturity window are out


def test_a_history_too_short_for_the_split_is_refused_with_the_arithmetic() -> None:
    with pytest.raises(InvalidInputError, match=r"spans 50\.0 days.*need 64") as caught:
        plan_split(
            first_us=0.0,
            cutoff_us=50 * DAY,
            maturity_days=30,
            validation_days=10,
            test_days=10,
            min_train_days=14,
        )
    assert "label_maturity_days" in (caught.value.hint or "")


def test_describe_gives_iso_boundaries() -> None:
    plan = hundred_days()
    assert plan.describe() == {
        "train_from": "1970-01-01T00:00:00+00:00",
        "validation_from": "1970-02-20T00:00:00+00:00",
        "test_from": "1970-03-02T00:00:00+00:00",
        "test_until": "1970-03-12T00:00:00+00:00",
        "label_cutoff": "1970-04-11T00:00:00+00:00",
    }
