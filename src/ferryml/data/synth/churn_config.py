"""Settings of the churn generator: ``data.synth`` with ``kind: churn``.

Subscription customers send one usage summary a week (sessions, minutes, support tickets,
payment failures, their plan and its price); a customer who cancels stops sending them. An
event is labelled 1 when its customer cancels within ``horizon_days`` after it, and the label
is known on the day of the cancellation. Every field has a default::

    >>> config = ChurnSynthConfig(kind="churn", days=28, customers=300)
    >>> config.end.isoformat(), round(config.weekly_churn(), 4)
    ('2025-01-28', 0.0071)

Scenario windows work as the fraud generator's (inclusive dates; ``start: null`` is the
middle of the period, ``end: null`` its last day).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, Self

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel
from ferryml.data.synth.config import Scenario

Plan = Literal["basic", "standard", "premium"]
PLANS: tuple[Plan, ...] = ("basic", "standard", "premium")
CONTRACTS = ("monthly", "annual")
ACQUISITION_CHANNELS = ("web", "store", "partner", "referral")
CHURN_REASONS = ("disengaged", "support", "payment", "price", "competitor")
"""Ground truth of why a customer left (the largest push on its hazard); never a model input."""


class PriceIncrease(Scenario):
    """List prices of some plans rise on ``start``; their customers leave more often."""

    plans: list[Plan] = Field(
        default_factory=lambda: list[Plan](["standard", "premium"]),
        description="Plans whose price rises.",
    )
    increase: float = Field(default=0.2, gt=0, le=2, description="Relative price rise.")
    churn_factor: float = Field(
        default=2.0, ge=1, le=20, description="Weekly churn multiplier of their customers."
    )


class CompetitorLaunch(Scenario):
    """A competitor launches in some countries: usage falls there and customers leave."""

    countries: list[str] = Field(
        default_factory=lambda: ["FR"], min_length=1, description="Where it launches."
    )
    usage_factor: float = Field(
        default=0.8, gt=0, le=1, description="Usage multiplier of the customers there."
    )
    churn_factor: float = Field(
        default=2.5, ge=1, le=20, description="Weekly churn multiplier of the customers there."
    )


class ChurnScenarios(StrictModel):
    """Drift scenarios of the churn generator; each is off unless ``enabled``."""

    price_increase: PriceIncrease = Field(
        default_factory=PriceIncrease, description="A price rise (data and label drift)."
    )
    competitor_launch: CompetitorLaunch = Field(
        default_factory=CompetitorLaunch,
        description="A competitor in some countries (concept and label drift).",
    )

    def items(self) -> list[tuple[str, Scenario]]:
        """Every scenario with its name, in a fixed order."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]


class ChurnSynthConfig(StrictModel):
    """Synthetic subscription customers, their weekly usage and their cancellations."""

    kind: Literal["churn"] = Field(description="Selects this generator.")
    seed: int = Field(default=42, ge=0, description="Same seed, same bytes.")
    start: date = Field(default=date(2025, 1, 1), description="First day generated (UTC).")
    days: int = Field(default=180, ge=7, le=3660, description="Number of days generated.")
    customers: int = Field(default=3000, ge=100, description="Subscribers on the first day.")
    signups_per_day: float = Field(
        default=5.0, ge=0, le=1e5, description="Mean new subscribers per day."
    )
    monthly_churn_rate: float = Field(
        default=0.03, gt=0, lt=1, description="Baseline share of customers cancelling a month."
    )
    horizon_days: int = Field(
        default=28,
        ge=7,
        le=365,
        description="An event is positive when its customer cancels within this many days.",
    )
    countries: list[str] = Field(
        default_factory=lambda: ["FR", "DE", "ES", "IT", "NL", "BE"],
        min_length=1,
        description="Where customers live (the first is the most common).",
    )
    scenarios: ChurnScenarios = Field(
        default_factory=ChurnScenarios, description="Drift scenarios, each off unless enabled."
    )

    @property
    def end(self) -> date:
        """The last day generated (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def weekly_churn(self) -> float:
        """The baseline probability of cancelling in one week."""
        return float(1.0 - (1.0 - self.monthly_churn_rate) ** (7.0 / 30.0))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        for name, scenario in self.scenarios.items():
            start, end = scenario.start, scenario.end
            if scenario.enabled and start and end and end < start:
                problems.append(
                    f"scenarios.{name}.end ({scenario.end}) must be on or after its start "
                    f"({scenario.start})"
                )
        unknown = sorted(set(self.scenarios.competitor_launch.countries) - set(self.countries))
        if unknown:
            problems.append(
                f"scenarios.competitor_launch.countries must be among countries "
                f"({', '.join(self.countries)}); got {', '.join(unknown)}"
            )
        if len(set(self.countries)) != len(self.countries):
            problems.append("countries must not repeat a country")
        if problems:
            raise ValueError("; ".join(problems))
        return self
