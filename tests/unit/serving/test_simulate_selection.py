"""Which events ``ferry simulate`` replays: a time range of a dataset version, or the period of
one of the generator's drift scenarios as the generator resolved it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from ferryml.data.synth.config import SynthConfig
from ferryml.errors import InvalidInputError
from ferryml.serving.simulate import scenario_period, select_period

START = datetime(2025, 12, 1, tzinfo=UTC)


def events(hours: list[int]) -> pa.Table:
    times = [START + timedelta(hours=h) for h in hours]
    return pa.table(
        {"id": [f"e{h}" for h in hours], "t": pa.array(times, pa.timestamp("us", tz="UTC"))}
    )


def test_a_period_is_half_open_sorted_and_limited() -> None:
    table = events([30, 0, 24, 23, 48, 47])  # out of order, as files may hold them
    day_two = select_period(table, "t", start=START + timedelta(days=1), end=START + timedelta(2))
    assert day_two.column("id").to_pylist() == ["e24", "e30", "e47"]  # 48 is the next day's
    assert select_period(table, "t").column("id").to_pylist() == [
        "e0", "e23", "e24", "e30", "e47", "e48"
    ]  # fmt: skip
    assert select_period(table, "t", end=START + timedelta(days=1), limit=1).num_rows == 1
    assert select_period(table, "t", start=START + timedelta(days=9)).num_rows == 0


def test_a_scenario_period_is_the_window_the_generator_used() -> None:
    synth = SynthConfig.model_validate(
        {
            "start": date(2025, 11, 1),
            "days": 61,
            "scenarios": {
                "holiday_season": {"enabled": True, "start": date(2025, 12, 1), "end": None},
                "new_fraud_pattern": {"enabled": True, "start": None, "end": date(2025, 12, 10)},
            },
        }
    )
    assert scenario_period(synth, "holiday_season") == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),  # null end: the period's last day, inclusive
    )
    # null start: mid-period, as the generator resolved it
    first, end = scenario_period(synth, "new_fraud_pattern")
    assert (first, end) == (datetime(2025, 12, 1, tzinfo=UTC), datetime(2025, 12, 11, tzinfo=UTC))


@pytest.mark.parametrize("name", ["missing_data", "no_such_scenario"])
def test_a_scenario_not_in_effect_is_refused_with_the_ones_that_are(name: str) -> None:
    synth = SynthConfig.model_validate(
        {"start": date(2025, 11, 1), "days": 30, "scenarios": {"bad_data": {"enabled": True}}}
    )
    with pytest.raises(InvalidInputError) as raised:
        scenario_period(synth, name)
    assert "bad_data" in raised.value.message and "enabled=true" in (raised.value.hint or "")
