"""SynthConfig: defaults valid, every range checked with a message that says what to fix."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from ferryml.data.synth import SynthConfig


def _undocumented(model: type[BaseModel], prefix: str) -> list[str]:
    missing = []
    for name, field in model.model_fields.items():
        if not field.description:
            missing.append(prefix + name)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            missing += _undocumented(field.annotation, f"{prefix}{name}.")
    return missing


def test_defaults_are_valid_and_every_field_documented() -> None:
    config = SynthConfig()
    assert config.end == date(2025, 3, 31)
    assert 0.002 <= config.base_fraud_rate <= 0.005
    assert _undocumented(SynthConfig, "") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"label_delay_days": {"min": 10, "max": 2}}, "label_delay_days.min (10) must be <="),
        ({"base_fraud_rate": 1.5}, "less than or equal to 0.5"),
        ({"days": 0}, "greater than or equal to 1"),
        ({"typo": 1}, "Extra inputs are not permitted"),
        ({"scenarios": {"holiday_season": {"strength": 2}}}, "less than or equal to 1"),
        ({"scenarios": {"missing_data": {"null_rate": -0.1}}}, "greater than or equal to 0"),
        (
            {"fraud_patterns": {"card_testing": {"burst_min": 9, "burst_max": 3}}},
            "burst_min (9) must be <= burst_max (3)",
        ),
        (
            {
                "days": 10,
                "scenarios": {
                    "bad_data": {"enabled": True, "start": "2025-01-05", "end": "2025-01-03"}
                },
            },
            "scenarios.bad_data.end (2025-01-03) must be on or after its start (2025-01-05)",
        ),
        (
            {"scenarios": {"new_merchant_category": {"merchant_category": "5411"}}},
            "'5411' is already a baseline category",
        ),
        (
            {"scenarios": {"new_fraud_pattern": {"enabled": True, "merchant_category": "0000"}}},
            "must be a known code",
        ),
        (
            {
                "fraud_patterns": {
                    name: {"weight": 0}
                    for name in ("card_testing", "account_takeover", "merchant_compromise")
                }
            },
            "at least one fraud pattern weight must be > 0",
        ),
    ],
)
def test_invalid_values_say_what_to_fix(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SynthConfig.model_validate(data)


def test_disabled_scenarios_need_no_valid_window() -> None:
    config = SynthConfig(days=5, scenarios={"holiday_season": {"start": date(2030, 1, 1)}})
    assert not config.scenarios.active(config.start, config.days)


def test_null_windows_resolve_against_the_period() -> None:
    config = SynthConfig(days=10, scenarios={"missing_data": {"enabled": True}})
    window = config.scenarios.missing_data.window(config.start, config.days)
    assert window == (date(2025, 1, 6), date(2025, 1, 10))


def test_frozen() -> None:
    with pytest.raises(ValidationError):
        SynthConfig().days = 3  # type: ignore[misc]


def test_a_window_reaching_outside_the_period_is_clipped_to_it() -> None:
    config = SynthConfig.model_validate(
        {
            "days": 10,
            "scenarios": {
                "holiday_season": {"enabled": True, "start": "2024-12-01", "end": "2025-03-01"}
            },
        }
    )
    window = config.scenarios.holiday_season.window(config.start, config.days)
    assert window == (config.start, config.end)


def test_an_unknown_category_is_refused_even_when_its_scenario_is_off() -> None:
    scenarios = {"new_fraud_pattern": {"enabled": False, "merchant_category": "9999"}}
    with pytest.raises(ValidationError, match="must be a known code"):
        SynthConfig.model_validate({"scenarios": scenarios})


def test_a_window_outside_the_period_is_simply_not_in_effect() -> None:
    config = SynthConfig.model_validate(
        {"days": 10, "scenarios": {"holiday_season": {"enabled": True, "start": "2025-02-01"}}}
    )
    assert not config.scenarios.holiday_season.in_effect(config.start, config.days)
    assert config.scenarios.active(config.start, config.days) == []
