"""Combinations: features made of other features (amount x risk, amount / its usual level)."""

from __future__ import annotations

import math

import numpy as np

from ferryml.features.transforms.base import Array, Scalar, Transform


class Product(Transform):
    """``left x right``; NaN when either is NaN."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        left, right = values
        return (float(left) * float(right),)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        left, right = columns
        return (left.astype(np.float64) * right.astype(np.float64),)


class Ratio(Transform):
    """``numerator / denominator``; NaN when the denominator is 0 or NaN (no infinities)."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        numerator, denominator = float(values[0]), float(values[1])
        if denominator == 0.0 or denominator != denominator:
            return (math.nan,)
        return (numerator / denominator,)

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        numerator = columns[0].astype(np.float64)
        denominator = columns[1].astype(np.float64)
        safe = np.where(denominator == 0.0, np.nan, denominator)
        return (numerator / safe,)
