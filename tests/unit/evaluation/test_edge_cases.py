"""The edge-case suite is derived from the schema: every nullable, numeric, text and entity
input gets its case, plus holiday and daylight-saving timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from ferryml.config.schema import SchemaConfig
from ferryml.errors import InvalidInputError
from ferryml.evaluation.config import EdgeCaseGate, Expectation
from ferryml.evaluation.edge_cases import (
    NEW_ENTITY,
    UNSEEN,
    dst_transitions,
    expectation_ladder,
    generate_cases,
)

SCHEMA = SchemaConfig.model_validate(
    {
        "table": "events",
        "columns": {
            "event_id": {"type": "string", "role": "id"},
            "at": {"type": "timestamp", "role": "event_time"},
            "account": {"type": "string", "role": "entity"},
            "value": {"type": "float"},
            "kind": {"type": "string", "nullable": True},
            "flag": {"type": "int"},
        },
    }
)
BASE = {
    "event_id": "e1",
    "at": datetime(2025, 6, 1, 9, tzinfo=UTC),
    "account": "a1",
    "value": 12.5,
    "kind": "k",
    "flag": 1,
}


def test_each_input_gets_the_cases_its_type_calls_for() -> None:
    cases = generate_cases(
        [BASE],
        SCHEMA,
        ["at", "account", "value", "kind", "flag"],
        {"value": 100.0, "flag": 1.0},
        EdgeCaseGate(holiday_countries=["US"], timezones=["Europe/Paris"]),
    )
    by_name = {case.name: case for case in cases}
    assert by_name["kind missing"].event["kind"] is None
    assert by_name["unseen kind"].event["kind"] == UNSEEN
    assert by_name["new account"].event["account"] == f"{NEW_ENTITY}0"
    assert by_name["value = 0"].event["value"] == 0
    assert by_name["value = 10000"].event["value"] == pytest.approx(10_000.0)
    assert by_name["flag = 100"].event["flag"] == 100
    assert "event_id missing" not in by_name  # ids, times and labels are not mutated
    holidays = [c for c in cases if c.kind == "holiday"]
    assert len(holidays) == 3 and all(c.event["at"].hour == 12 for c in holidays)
    dst = [c for c in cases if c.kind == "dst"]
    assert len(dst) == 6  # two transitions, three instants around each
    assert {c.event["at"] for c in dst} >= {datetime(2025, 3, 30, 1, tzinfo=UTC)}
    for case in cases:  # everything else is the base event's
        changed = {k for k in BASE if case.event[k] != BASE[k]}
        assert len(changed) <= 1, case.name


def test_dst_transitions_match_the_calendar() -> None:
    assert dst_transitions("America/New_York", 2025) == [
        datetime(2025, 3, 9, 7, tzinfo=UTC),
        datetime(2025, 11, 2, 6, tzinfo=UTC),
    ]
    assert dst_transitions("UTC", 2025) == []


def test_unknown_places_are_named() -> None:
    with pytest.raises(InvalidInputError, match="Mars/Olympus"):
        generate_cases([BASE], SCHEMA, ["at"], {}, EdgeCaseGate(timezones=["Mars/Olympus"]))
    with pytest.raises(InvalidInputError, match="'XX'"):
        generate_cases([BASE], SCHEMA, ["at"], {}, EdgeCaseGate(holiday_countries=["XX"]))


def test_the_expectation_ladder_spans_the_observed_values_in_order() -> None:
    observed = np.arange(1, 1001, dtype=np.float64)
    values, events = expectation_ladder(
        BASE, Expectation(field="value", direction="increasing", steps=5), observed
    )
    assert np.all(np.diff(values) > 0)
    assert values[0] == pytest.approx(np.percentile(observed, 1))
    assert [e["value"] for e in events] == values.tolist()
    with pytest.raises(InvalidInputError, match="no observed value"):
        expectation_ladder(BASE, Expectation(field="value", direction="increasing"), np.array([]))
