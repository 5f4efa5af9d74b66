"""Legitimate traffic of one day, in index space: who pays whom, when, how much.

A :class:`Batch` holds one column per field as numpy arrays of indices into the entity
vocabularies (``-1`` is null); :mod:`ferryml.data.synth.writer` turns it into strings once.
Volume follows the weekday, time of day follows :data:`~catalog.HOUR_WEIGHTS`, amounts are
lognormal by category.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.data.synth import catalog
from ferryml.data.synth.entities import Entities
from ferryml.data.synth.scenarios import DayPlan

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
_ATM = catalog.CATEGORY_CODES.index(catalog.ATM_CODE)
_TRANSFER = catalog.CATEGORY_CODES.index(catalog.TRANSFER_CODE)


@dataclass(frozen=True)
class Batch:
    """Rows of one day in index space; every array has the same length."""

    time_us: IntArray
    customer: IntArray
    card: IntArray
    merchant: IntArray
    category: IntArray
    channel: IntArray
    merchant_country: IntArray
    transaction_type: IntArray
    beneficiary: IntArray
    amount: FloatArray
    device: IntArray
    ip_country: IntArray
    pattern: npt.NDArray[np.int8]
    """0 legitimate, else 1 + index into :data:`catalog.FRAUD_PATTERNS`."""

    def __len__(self) -> int:
        return len(self.time_us)

    def take(self, index: IntArray) -> Batch:
        """The rows at ``index``, in that order."""
        return Batch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def with_(self, **columns: Any) -> Batch:
        """A copy with some columns replaced."""
        return replace(self, **columns)

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        """All rows of ``batches``, one after the other."""
        return Batch(
            **{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(Batch)}
        )


def rows(
    entities: Entities,
    *,
    time_us: IntArray,
    card: IntArray,
    merchant: IntArray,
    device: IntArray,
    ip_country: IntArray,
    amount: FloatArray,
    beneficiary: IntArray,
    pattern: int,
) -> Batch:
    """A batch whose merchant-derived columns come from the merchant table."""
    category = entities.merchant_category[merchant]
    transaction_type = np.full(len(merchant), catalog.PURCHASE, dtype=np.int64)
    transaction_type[category == _ATM] = catalog.WITHDRAWAL
    transaction_type[category == _TRANSFER] = catalog.TRANSFER
    return Batch(
        time_us=time_us,
        customer=entities.card_customer[card],
        card=card,
        merchant=merchant,
        category=category,
        channel=entities.merchant_channel[merchant],
        merchant_country=entities.merchant_country[merchant],
        transaction_type=transaction_type,
        beneficiary=np.where(transaction_type == catalog.TRANSFER, beneficiary, -1),
        amount=amount,
        device=device,
        ip_country=ip_country,
        pattern=np.full(len(merchant), pattern, dtype=np.int8),
    )


def amounts(
    rng: np.random.Generator, entities: Entities, category: IntArray, median_factor: float = 1.0
) -> FloatArray:
    """Lognormal amounts by category, rounded to cents; ATM withdrawals are multiples of 10."""
    mu = entities.amount_mu[category] + np.log(median_factor)
    value = rng.lognormal(mu, entities.amount_sigma[category])
    atm = category == _ATM
    value[atm] = np.maximum(np.round(value[atm] / 10.0) * 10.0, 20.0)
    return np.maximum(np.round(value, 2), 0.5)


def times(rng: np.random.Generator, day_start_us: int, n: int) -> IntArray:
    """``n`` times in the day following the hourly cycle (quiet nights)."""
    hour = rng.choice(24, size=n, p=catalog.HOUR_WEIGHTS)
    return day_start_us + hour * HOUR_US + rng.integers(0, HOUR_US, size=n)


def pick_merchants(
    rng: np.random.Generator, entities: Entities, category: IntArray, plan: DayPlan
) -> IntArray:
    """One merchant per row, by popularity within the row's category (onboarded by now)."""
    merchant = np.empty(len(category), dtype=np.int64)
    for code in np.unique(category):
        rows_of = np.flatnonzero(category == code)
        pool = np.flatnonzero(
            (entities.merchant_category == code) & (entities.merchant_onboarded <= plan.index)
        )
        cdf = np.cumsum(entities.merchant_popularity[pool])
        pick = np.searchsorted(cdf, rng.random(len(rows_of)) * cdf[-1], side="right")
        merchant[rows_of] = pool[np.minimum(pick, len(pool) - 1)]
    return merchant


def legit_day(rng: np.random.Generator, entities: Entities, plan: DayPlan, n: int) -> Batch:
    """``n`` legitimate transactions of the day ``plan`` describes."""
    customer = _customers(rng, entities, plan, n)
    card = entities.card_offset[customer] + (rng.random(n) * entities.card_count[customer]).astype(
        np.int64
    )
    device = entities.device_offset[customer] + (
        rng.random(n) * entities.device_count[customer]
    ).astype(np.int64)
    category = rng.choice(len(plan.category_probs), size=n, p=plan.category_probs)
    merchant = pick_merchants(rng, entities, category, plan)
    channel = entities.merchant_channel[merchant]
    home = entities.customer_home[customer]
    abroad = rng.random(n) < 0.04
    ip = np.where(abroad, rng.integers(0, len(catalog.HOME_COUNTRIES), size=n), home)
    day_start = (entities.period_start_day + plan.index) * DAY_US
    return rows(
        entities,
        time_us=times(rng, day_start, n),
        card=card,
        merchant=merchant,
        device=device,
        ip_country=np.where(channel == catalog.ONLINE, ip, -1),
        amount=amounts(rng, entities, category),
        beneficiary=rng.integers(0, entities.legit_beneficiaries, size=n),
        pattern=catalog.LEGIT,
    )


def _customers(rng: np.random.Generator, entities: Entities, plan: DayPlan, n: int) -> IntArray:
    """Base customers by activity; a share from the new wave already signed up by today."""
    customer = np.searchsorted(entities.base_activity_cdf, rng.random(n), side="right")
    customer = np.minimum(customer, entities.base_customers - 1).astype(np.int64)
    wave_signup = entities.customer_signup[entities.base_customers :]
    signed_up = int(np.searchsorted(wave_signup, plan.index, side="right"))
    if plan.new_customer_share > 0 and signed_up > 0:
        new = rng.random(n) < plan.new_customer_share
        customer[new] = entities.base_customers + rng.integers(0, signed_up, size=int(new.sum()))
    return customer
