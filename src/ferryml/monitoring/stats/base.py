"""What every drift statistic declares about itself, apart from how it is computed.

A spec says what the statistic is called, which kinds of data it applies to, its default
threshold and, explicitly, which direction means drift (Evidently leaves the direction
implicit; here it is data). A hypothesis test returns its statistic and p-value together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DataKind = Literal["numeric", "categorical", "binary"]
Direction = Literal["higher_is_drift", "lower_is_drift"]


@dataclass(frozen=True)
class StatSpec:
    """A drift statistic as data."""

    name: str
    kinds: tuple[DataKind, ...]
    default_threshold: float
    direction: Direction
    description: str

    def drifted(self, value: float, threshold: float | None = None) -> bool:
        """Whether ``value`` crosses the threshold (the default one unless given)."""
        limit = self.default_threshold if threshold is None else threshold
        return value >= limit if self.direction == "higher_is_drift" else value <= limit


@dataclass(frozen=True)
class TestResult:
    """A two-sample test: its statistic, its p-value, and a note when the p-value is a bound
    rather than a value (e.g. Anderson-Darling's table ends at 0.001)."""

    __test__ = False  # not a pytest class, whatever its name

    statistic: float
    p_value: float
    note: str = ""


__all__ = ["DataKind", "Direction", "StatSpec", "TestResult"]
