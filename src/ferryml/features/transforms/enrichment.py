"""Enrichment: facts from outside the event (public holidays, geography, exchange rates).

Each lookup is a scalar function of a few categories, so ``batch`` evaluates the row form once
per distinct input (:func:`~ferryml.features.transforms.base.map_distinct`): one code path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from ferryml.features.spec import FieldSpec
from ferryml.features.transforms.base import (
    MICROS_PER_DAY,
    Array,
    Scalar,
    Transform,
    map_distinct,
)
from ferryml.features.transforms.countries import CAPITALS

_EARTH_RADIUS_KM = 6371.0088
_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=256)
def _holiday_calendar(country: str) -> Any:
    import holidays

    try:
        return holidays.country_holidays(country)
    except NotImplementedError:  # a code the package does not know: no holidays
        return None


@lru_cache(maxsize=65_536)
def is_public_holiday(country: str, day_number: int) -> bool:
    """Whether day ``day_number`` (days since 1970-01-01) is a public holiday in ``country``."""
    calendar = _holiday_calendar(country)
    return calendar is not None and (_EPOCH + timedelta(days=day_number)) in calendar


class Holiday(Transform):
    """1 when the event's UTC date is a public holiday in the country, else 0.

    Unknown or missing countries count as no holiday (0): the flag is about known calendars.
    """

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        t, country = values
        if country is None or t != t:
            return (0,)
        return (int(is_public_holiday(country, int(t // MICROS_PER_DAY))),)

    def warm_up(self) -> None:
        """Import ``holidays`` and build this year's calendar of every known country: the
        first event of a country otherwise waits for both (measured: 0.9 s for the first
        event of a fresh process, tens of ms for each new country)."""
        today = (date.today() - _EPOCH).days
        for country in CAPITALS:
            is_public_holiday(country, today)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        t, country = columns
        days = np.floor_divide(t, MICROS_PER_DAY)  # distinct (day, country) pairs, not rows
        return map_distinct(
            lambda day, code: self.row(day * MICROS_PER_DAY, code), (days, country), (np.int64,)
        )


def haversine_km(origin: str | None, destination: str | None) -> float:
    """Great-circle distance between two countries' capitals; NaN if either is unknown."""
    a = CAPITALS.get(origin or "")
    b = CAPITALS.get(destination or "")
    if a is None or b is None:
        return math.nan
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(h))


class CountryDistance(Transform):
    """Distance in km between two countries (e.g. the customer's home and the merchant's)."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        origin, destination = values
        return (_distance(origin, destination),)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        return map_distinct(self.row, columns, (np.float64,))


@lru_cache(maxsize=4096)
def _distance(origin: str | None, destination: str | None) -> float:
    return haversine_km(origin, destination)


class Exchange(Transform):
    """An amount in the base currency: ``amount x rates[currency]``; NaN for an unknown currency."""

    def __init__(
        self,
        name: str,
        inputs: tuple[str, ...],
        outputs: tuple[FieldSpec, ...],
        rates: Mapping[str, float],
    ):
        super().__init__(name, inputs, outputs)
        self.rates = dict(rates)

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        amount, currency = values
        return (float(amount) * self.rates.get(currency, math.nan),)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        amount, currency = columns
        (rate,) = map_distinct(
            lambda code: (self.rates.get(code, math.nan),), (currency,), (np.float64,)
        )
        return (amount.astype(np.float64) * rate,)
