"""Derivatives: facts computed from one event's own times and numbers.

Times arrive as float microseconds since the epoch (UTC); NaN means unknown. The row and batch
forms of each class are the same arithmetic, once on floats and once on arrays.
"""

from __future__ import annotations

import math

import numpy as np

from ferryml.features.transforms.base import (
    MICROS_PER_DAY,
    MICROS_PER_HOUR,
    Array,
    Scalar,
    Transform,
)

MICROS_PER_YEAR = 365.2425 * MICROS_PER_DAY
"""The mean Gregorian year: whole years of age are exact except within a day of a birthday."""
_MONDAY_OFFSET = 3.0
"""1970-01-01 was a Thursday: (days since epoch + 3) mod 7 gives Monday = 0."""


class Hour(Transform):
    """Hour of the day, 0-23 (UTC)."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        (t,) = values
        return ((t // MICROS_PER_HOUR) % 24.0,)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        (t,) = columns
        return (np.floor_divide(t, MICROS_PER_HOUR) % 24.0,)


class Weekday(Transform):
    """Day of the week, Monday 0 … Sunday 6 (UTC)."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        (t,) = values
        return ((t // MICROS_PER_DAY + _MONDAY_OFFSET) % 7.0,)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        (t,) = columns
        return ((np.floor_divide(t, MICROS_PER_DAY) + _MONDAY_OFFSET) % 7.0,)


class Weekend(Transform):
    """1.0 on Saturday and Sunday (UTC), 0.0 otherwise, NaN when the time is unknown."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        (t,) = values
        if t != t:
            return (math.nan,)
        return (1.0 if (t // MICROS_PER_DAY + _MONDAY_OFFSET) % 7.0 >= 5.0 else 0.0,)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        (t,) = columns
        weekday = (np.floor_divide(t, MICROS_PER_DAY) + _MONDAY_OFFSET) % 7.0
        return (np.where(np.isnan(t), np.nan, (weekday >= 5.0).astype(np.float64)),)


class AgeYears(Transform):
    """Whole years from a birth date to the event."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        birth, at = values
        span = at - birth
        return (math.floor(span / MICROS_PER_YEAR) if span == span else math.nan,)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        birth, at = columns
        return (np.floor((at - birth) / MICROS_PER_YEAR),)


class DaysBetween(Transform):
    """Days from ``start`` to ``end`` (fractional; negative if ``end`` is earlier)."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        start, end = values
        return ((end - start) / MICROS_PER_DAY,)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        start, end = columns
        return ((end - start) / MICROS_PER_DAY,)


class Passthrough(Transform):
    """A numeric input as a float feature."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        (value,) = values
        return (float(value),)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        (value,) = columns
        return (value.astype(np.float64),)
