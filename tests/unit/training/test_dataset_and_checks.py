"""Preparing periods from a training set: label rules, weights, costs and the refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from ferryml.errors import InvalidInputError
from ferryml.training import Columns, TrainingConfig, prepare
from ferryml.training.checks import leaking_features

START = datetime(2025, 1, 1, tzinfo=UTC)
Make = Callable[..., pa.Table]
COLUMNS = Columns("event_time", "is_fraud", "label_time", ["amount", "hour"])


def config(**overrides: object) -> TrainingConfig:
    base: dict[str, object] = {
        "label_maturity_days": 10,
        "split": {"validation_days": 10, "test_days": 10, "min_train_days": 10},
    }
    return TrainingConfig.model_validate({**base, **overrides})


def test_periods_follow_the_split_and_young_events_are_left_out(labeled_events: Make) -> None:
    table = labeled_events
    day_60 = (START + timedelta(days=60)).timestamp() * 1e6
    prepared = prepare(table(), COLUMNS, config(), cutoff_us=day_60)
    summary = prepared.summary()
    # 60 days: the last 10 are too young, then 10 of test, 10 of validation, 30 of training
    assert summary["test_rows"] == summary["validation_rows"] == 400
    assert summary["train_rows"] == 1200
    assert prepared.excluded_young == 400
    # without --as-of the cutoff is the last event (day 59.975): every boundary moves with it
    assert prepare(table(), COLUMNS, config()).summary()["train_rows"] == 1199
    assert prepared.features == ["amount", "hour"]


def test_labels_arriving_after_the_cutoff_count_as_negatives(labeled_events: Make) -> None:
    table = labeled_events
    cutoff = START + timedelta(days=45)
    prepared = prepare(table(), COLUMNS, config(), cutoff_us=cutoff.timestamp() * 1e6)
    # the test period (days 25-35) has every chargeback by day 40; none is lost
    assert prepared.test.positives == 50
    late = prepare(
        table(),
        COLUMNS,
        config(label_maturity_days=3),
        cutoff_us=cutoff.timestamp() * 1e6,
    )
    # now test covers days 32-42: frauds after day 40 are not known by day 45
    known_by_cutoff = late.test.positives
    assert known_by_cutoff < 50
    assert sum(p.later_positives for p in late.completeness) > 0


def test_positives_are_weighted_up_to_the_negatives(labeled_events: Make) -> None:
    table = labeled_events
    prepared = prepare(table(), COLUMNS, config())
    y, w = prepared.train.y, prepared.weights
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum())
    unweighted = prepare(table(), COLUMNS, config(balance_classes=False))
    assert (unweighted.weights == 1.0).all()


def test_false_negative_costs_come_from_the_column(labeled_events: Make) -> None:
    table = labeled_events
    costs = {"false_negative_column": "amount", "false_negative_factor": 2.0}
    prepared = prepare(table(), COLUMNS, config(costs=costs))
    assert prepared.test.fn_costs == pytest.approx(2.0 * prepared.test.x["amount"].to_numpy())
    bad = table().append_column("extra_cost", pa.array([None] * 2400, pa.float64()))
    with pytest.raises(InvalidInputError, match="2400 missing"):
        prepare(bad, COLUMNS, config(costs={"false_negative_column": "extra_cost"}))


def test_one_class_all_null_and_unknown_exclusions_are_refused(labeled_events: Make) -> None:
    table = labeled_events
    no_fraud = table().set_column(1, "is_fraud", pa.array(np.zeros(2400, np.int64)))
    with pytest.raises(InvalidInputError, match="all negatives"):
        prepare(no_fraud, COLUMNS, config())
    empty_hour = table().set_column(4, "hour", pa.array([None] * 2400, pa.float64()))
    with pytest.raises(InvalidInputError, match=r"null in every training row: \['hour'\]"):
        prepare(empty_hour, COLUMNS, config())
    with pytest.raises(InvalidInputError, match="does not have"):
        prepare(table(), COLUMNS, config(exclude_features=["hours"]))
    texts = table().append_column("country", pa.array(["FR"] * 2400))
    with pytest.raises(InvalidInputError, match="holds text"):
        prepare(texts, Columns("event_time", "is_fraud", "label_time", ["country"]), config())


def test_a_feature_that_leaks_the_label_is_flagged_and_others_are_not(labeled_events: Make) -> None:
    table = labeled_events
    data = table()
    labels = data.column("is_fraud").to_numpy()
    data = data.append_column("leak", pa.array(labels * 3.0 + 1.0))
    columns = Columns("event_time", "is_fraud", "label_time", ["amount", "hour", "leak"])
    prepared = prepare(data, columns, config())
    assert len(prepared.warnings) == 1 and "'leak'" in prepared.warnings[0]
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.2).astype(np.int8)
    import pandas as pd

    sparse = np.where(rng.random(1000) < 0.1, y + rng.random(1000), np.nan)  # mostly missing
    frame = pd.DataFrame(
        {
            "noise": rng.random(1000),
            "inverse_leak": -y + rng.random(1000) * 0.01,
            "sparse": sparse,  # perfect where present, but missing says nothing: not a leak
        }
    )
    assert set(leaking_features(frame, y, seed=0)) == {"inverse_leak"}
