"""The generator's configuration: embedded in a project YAML as ``data.synth``.

Every field has a default, so ``SynthConfig()`` is a small, valid dataset::

    >>> from datetime import date
    >>> config = SynthConfig(seed=7, start=date(2025, 3, 1), days=14)
    >>> config.end.isoformat()
    '2025-03-14'
    >>> holiday = {"holiday_season": {"enabled": True}}
    >>> SynthConfig(days=14, scenarios=holiday).scenarios.holiday_season.window(config.start, 14)
    (datetime.date(2025, 3, 8), datetime.date(2025, 3, 14))

Scenario windows are inclusive dates; ``start: null`` means the middle of the period and
``end: null`` its last day, so a window always fits when ``days`` changes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, Self

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel
from ferryml.data.synth.catalog import CATEGORY_CODES


class LabelDelay(StrictModel):
    """How long a chargeback takes to confirm a fraud, in days after the transaction."""

    min: int = Field(default=1, ge=0, description="Shortest delay in days.")
    max: int = Field(default=90, ge=0, description="Longest delay in days.")
    distribution: Literal["uniform", "skewed"] = Field(
        default="skewed",
        description="`skewed`: most labels arrive early, a long tail late (beta(1.5, 4)).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(
                f"label_delay_days.min ({self.min}) must be <= label_delay_days.max "
                f"({self.max}); lower min or raise max"
            )
        return self


class CardTesting(StrictModel):
    """Bursts of tiny online payments on one stolen card, minutes apart."""

    weight: float = Field(default=0.25, ge=0, description="Relative share of fraud rows.")
    burst_min: int = Field(default=3, ge=1, description="Fewest payments in one burst.")
    burst_max: int = Field(default=8, ge=1, description="Most payments in one burst.")
    burst_minutes: float = Field(default=10.0, gt=0, le=120, description="Length of a burst.")
    max_amount: float = Field(default=5.0, gt=0, description="Largest test payment.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.burst_min > self.burst_max:
            raise ValueError(
                f"card_testing.burst_min ({self.burst_min}) must be <= burst_max ({self.burst_max})"
            )
        return self


class AccountTakeover(StrictModel):
    """A stolen account used at night from a new device abroad, for large amounts."""

    weight: float = Field(default=0.45, ge=0, description="Relative share of fraud rows.")
    amount_factor: float = Field(
        default=3.0, ge=1, description="How many times the usual amount of its category."
    )
    attacker_devices: int = Field(
        default=40, ge=1, description="Devices the attackers share across stolen accounts."
    )


class MerchantCompromise(StrictModel):
    """A breached merchant leaks the cards used there; they are defrauded days later."""

    weight: float = Field(default=0.30, ge=0, description="Relative share of fraud rows.")
    merchants: int = Field(default=3, ge=1, description="How many POS merchants are breached.")
    breach_days: int = Field(default=14, ge=1, description="How long each breach lasts.")
    lag_min_days: int = Field(default=2, ge=0, description="Shortest leak-to-fraud delay.")
    lag_max_days: int = Field(default=30, ge=0, description="Longest leak-to-fraud delay.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.lag_min_days > self.lag_max_days:
            raise ValueError(
                f"merchant_compromise.lag_min_days ({self.lag_min_days}) must be <= "
                f"lag_max_days ({self.lag_max_days})"
            )
        return self


class FraudPatterns(StrictModel):
    """The three baseline fraud patterns; weights split ``base_fraud_rate`` between them."""

    card_testing: CardTesting = Field(
        default_factory=CardTesting, description="Bursts of tiny online payments on one card."
    )
    account_takeover: AccountTakeover = Field(
        default_factory=AccountTakeover,
        description="Stolen accounts: night, new device, abroad, large.",
    )
    merchant_compromise: MerchantCompromise = Field(
        default_factory=MerchantCompromise,
        description="Breached merchants leak cards, defrauded later.",
    )

    @model_validator(mode="after")
    def _some_weight(self) -> Self:
        if sum(self.weights()) <= 0:
            raise ValueError("at least one fraud pattern weight must be > 0")
        return self

    def weights(self) -> tuple[float, float, float]:
        """Normalized weights: card testing, account takeover, merchant compromise."""
        raw = (
            self.card_testing.weight,
            self.account_takeover.weight,
            self.merchant_compromise.weight,
        )
        total = sum(raw)
        return (raw[0] / total, raw[1] / total, raw[2] / total) if total > 0 else raw


class Scenario(StrictModel):
    """A drift scenario active from ``start`` to ``end`` (inclusive dates)."""

    enabled: bool = Field(default=False, description="Switch the scenario on.")
    start: date | None = Field(default=None, description="First day; null: mid-period.")
    end: date | None = Field(default=None, description="Last day; null: the period's last day.")
    strength: float = Field(
        default=1.0, ge=0, le=1, description="0: no effect, 1: the effect as configured."
    )

    def in_effect(self, period_start: date, days: int) -> bool:
        """Enabled, with a strength above zero, and its window overlaps the period."""
        start, end = self.window(period_start, days)
        return self.enabled and self.strength > 0 and start <= end

    def window(self, period_start: date, days: int) -> tuple[date, date]:
        """The inclusive window, defaults resolved against the period and clipped to it.

        A window that does not overlap the period comes back with ``end < start``.
        """
        period_end = period_start + timedelta(days=days - 1)
        start = self.start or period_start + timedelta(days=days // 2)
        end = self.end or period_end
        return max(start, period_start), min(end, period_end)


class HolidaySeason(Scenario):
    """More transactions, and a surge of travel spending (airlines, hotels, agencies)."""

    volume_factor: float = Field(
        default=1.4, ge=1, le=10, description="Transaction volume multiplier in the window."
    )
    travel_factor: float = Field(
        default=3.0, ge=1, le=10, description="Travel categories' share multiplier in the window."
    )


class NewFraudPattern(Scenario):
    """Concept drift: fraud appears in a category that never had any (P(y|x) changes)."""

    merchant_category: str = Field(
        default="4121", description="Category that was safe before: it gets fraud in the window."
    )
    fraud_rate: float = Field(
        default=0.03, ge=0, le=1, description="Share of that category's rows that become fraud."
    )


class NewMerchantCategory(Scenario):
    """A category code never seen before appears on ``start`` and takes a share of traffic."""

    merchant_category: str = Field(
        default="6051", description="The new code (6051: quasi-cash, crypto exchanges)."
    )
    share: float = Field(default=0.05, ge=0, le=0.5, description="Its share of traffic.")
    merchants: int = Field(default=20, ge=1, description="Merchants onboarded with that code.")
    amount_median: float = Field(default=120.0, gt=0, description="Median amount in it.")


class MissingData(Scenario):
    """A feed stops filling a column for part of its rows."""

    column: Literal[
        "device_id", "ip_country", "merchant_country", "merchant_category", "currency", "channel"
    ] = Field(default="device_id", description="The column that goes missing.")
    null_rate: float = Field(default=0.4, ge=0, le=1, description="Share of rows left null.")


class NewCustomers(Scenario):
    """A wave of customers with no history signs up in the window."""

    customers: int = Field(default=500, ge=1, description="Size of the wave.")
    share: float = Field(
        default=0.15, ge=0, le=0.9, description="Share of traffic from the wave, from `start`."
    )


class BadData(Scenario):
    """Defects a validation stage must catch; counted in the manifest, not marked in the data."""

    defect_rate: float = Field(
        default=0.01, ge=0, le=0.1, description="Share of the window's rows hit by each defect."
    )
    amount_as_string: bool = Field(
        default=True, description="Write the window's partitions with `amount` as a string."
    )


class Scenarios(StrictModel):
    """Drift scenarios; each is off unless ``enabled``."""

    holiday_season: HolidaySeason = Field(
        default_factory=HolidaySeason, description="Volume peak and travel spending surge."
    )
    new_fraud_pattern: NewFraudPattern = Field(
        default_factory=NewFraudPattern,
        description="Fraud in a category that had none (P(y|x) drift).",
    )
    new_merchant_category: NewMerchantCategory = Field(
        default_factory=NewMerchantCategory,
        description="A category code never seen before appears.",
    )
    missing_data: MissingData = Field(
        default_factory=MissingData, description="A feed drops a column for a share of rows."
    )
    new_customers: NewCustomers = Field(
        default_factory=NewCustomers, description="A wave of customers without history."
    )
    bad_data: BadData = Field(
        default_factory=BadData, description="Defects a validation stage must catch."
    )

    def items(self) -> list[tuple[str, Scenario]]:
        """Every scenario with its name, in a fixed order."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]

    def active(self, period_start: date, days: int) -> list[tuple[str, Scenario]]:
        """The scenarios in effect in the period (enabled, with strength, overlapping it)."""
        return [(n, s) for n, s in self.items() if s.in_effect(period_start, days)]


class SynthConfig(StrictModel):
    """Synthetic card transactions: entities, traffic, fraud patterns and drift scenarios."""

    kind: Literal["fraud"] = Field(
        default="fraud", description="Selects this generator (the default when left out)."
    )
    seed: int = Field(default=42, ge=0, description="Same seed, same bytes.")
    start: date = Field(default=date(2025, 1, 1), description="First day generated (UTC).")
    days: int = Field(default=90, ge=1, le=3660, description="Number of days generated.")
    customers: int = Field(default=5000, ge=100, description="Customers before any wave.")
    merchants: int = Field(
        default=800, ge=len(CATEGORY_CODES), description="Merchants (every category gets one)."
    )
    transactions_per_day: float = Field(
        default=2000, gt=0, le=1e7, description="Mean legitimate transactions per day."
    )
    base_fraud_rate: float = Field(
        default=0.003, ge=0, le=0.5, description="Share of rows that are fraud (baseline)."
    )
    label_delay_days: LabelDelay = Field(
        default_factory=LabelDelay, description="Chargeback delay range, in days."
    )
    fraud_patterns: FraudPatterns = Field(
        default_factory=FraudPatterns, description="Baseline fraud patterns and their weights."
    )
    scenarios: Scenarios = Field(
        default_factory=Scenarios, description="Drift scenarios, each off unless enabled."
    )

    @property
    def end(self) -> date:
        """The last day generated (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @model_validator(mode="after")
    def _scenarios_fit(self) -> Self:
        problems: list[str] = []
        for name, scenario in self.scenarios.items():
            if not scenario.enabled:
                continue
            # A window outside the period is not an error: the scenario is simply not in effect
            # (the manifest lists the scenarios that were), so short test periods stay easy.
            if scenario.start and scenario.end and scenario.end < scenario.start:
                problems.append(
                    f"scenarios.{name}.end ({scenario.end}) must be on or after its start "
                    f"({scenario.start})"
                )
        new_fraud = self.scenarios.new_fraud_pattern
        if new_fraud.merchant_category not in CATEGORY_CODES:
            problems.append(
                f"scenarios.new_fraud_pattern.merchant_category must be a known code "
                f"({', '.join(CATEGORY_CODES)}); got {new_fraud.merchant_category!r}"
            )
        new_code = self.scenarios.new_merchant_category.merchant_category
        if new_code in CATEGORY_CODES:
            problems.append(
                f"scenarios.new_merchant_category.merchant_category must be a code the "
                f"generator never uses otherwise; {new_code!r} is already a baseline category"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self
