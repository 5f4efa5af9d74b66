"""Drift scenarios turned into one plan per day: what each day's traffic looks like.

A scenario's ``strength`` scales its effect linearly from none (0) to as configured (1); the
plan holds the effective values, and the manifest echoes them.

    >>> from datetime import date
    >>> from ferryml.data.synth.config import SynthConfig
    >>> config = SynthConfig(days=14, scenarios={"holiday_season": {
    ...     "enabled": True, "start": date(2025, 1, 5), "end": date(2025, 1, 6)}})
    >>> plans = day_plans(config)  # Sunday 5 January in the window, Sunday 12 outside
    >>> round(plans[4].volume_factor / plans[11].volume_factor, 2)
    1.4
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.data.synth import catalog
from ferryml.data.synth.config import Scenario, SynthConfig


@dataclass(frozen=True)
class DayPlan:
    """Effective parameters of one generated day."""

    index: int
    day: date
    volume_factor: float
    category_probs: npt.NDArray[np.float64]
    """Share of legitimate traffic per category; the last entry is the new category."""
    new_customer_share: float
    new_fraud_rate: float
    """Probability that a row in the new-fraud-pattern category is fraud (0 outside)."""
    null_rate: float
    defect_rate: float
    amount_as_string: bool


def _lerp(strength: float, factor: float) -> float:
    """The factor at ``strength``: 1 at strength 0, ``factor`` at strength 1."""
    return 1.0 + strength * (factor - 1.0)


def _inside(config: SynthConfig, scenario: Scenario, day: date) -> bool:
    if not scenario.in_effect(config.start, config.days):
        return False
    start, end = scenario.window(config.start, config.days)
    return start <= day <= end


def day_plans(config: SynthConfig) -> list[DayPlan]:
    """One plan per day of the period, in order."""
    s = config.scenarios
    base = np.append(catalog.category_shares(), 0.0)
    travel = np.append(catalog.travel_mask(), False)
    travel_share = float(base[travel].sum())
    plans = []
    for index in range(config.days):
        day = config.start + timedelta(days=index)
        volume = float(catalog.WEEKDAY_FACTORS[day.weekday()])
        probs = base.copy()
        if _inside(config, s.holiday_season, day):
            volume *= _lerp(s.holiday_season.strength, s.holiday_season.volume_factor)
            factor = _lerp(s.holiday_season.strength, s.holiday_season.travel_factor)
            # Scale travel by exactly `factor` and the rest down so the shares still sum to 1.
            probs[travel] *= factor
            probs[~travel] *= (1.0 - factor * travel_share) / (1.0 - travel_share)
        if _inside(config, s.new_merchant_category, day):
            share = s.new_merchant_category.share * s.new_merchant_category.strength
            probs *= 1.0 - share
            probs[-1] = share
        nfp = s.new_fraud_pattern
        md = s.missing_data
        bd = s.bad_data
        plans.append(
            DayPlan(
                index=index,
                day=day,
                volume_factor=volume,
                category_probs=probs / probs.sum(),
                new_customer_share=(
                    s.new_customers.share * s.new_customers.strength
                    if _active_since(config, s.new_customers, day)
                    else 0.0
                ),
                new_fraud_rate=nfp.fraud_rate * nfp.strength if _inside(config, nfp, day) else 0.0,
                null_rate=md.null_rate * md.strength if _inside(config, md, day) else 0.0,
                defect_rate=bd.defect_rate * bd.strength if _inside(config, bd, day) else 0.0,
                amount_as_string=_inside(config, bd, day) and bd.amount_as_string,
            )
        )
    return plans


def _active_since(config: SynthConfig, scenario: Scenario, day: date) -> bool:
    """New customers keep shopping after their signup window closes."""
    if not scenario.in_effect(config.start, config.days):
        return False
    return scenario.window(config.start, config.days)[0] <= day


def describe(config: SynthConfig) -> dict[str, dict[str, Any]]:
    """The active scenarios with their resolved windows and effective parameters."""
    out: dict[str, dict[str, Any]] = {}
    for name, scenario in config.scenarios.active(config.start, config.days):
        start, end = scenario.window(config.start, config.days)
        params = scenario.model_dump(mode="json", exclude={"enabled", "start", "end"})
        out[name] = {"start": start.isoformat(), "end": end.isoformat(), **params}
    return out
