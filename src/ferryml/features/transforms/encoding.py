"""Encodings: categories as numbers, with unseen categories handled explicitly.

- one-hot over *declared* categories plus an ``other`` column (unseen and missing values);
- ordinal: rank by training-window frequency (0 = most frequent), ties by value; unseen → -1;
- frequency: share of the training window's rows; unseen → 0.0.

Ordinal and frequency learn their tables on the training window only (:meth:`fit`); the tables
are JSON, saved with the training set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from ferryml.errors import InvalidInputError
from ferryml.features.spec import FieldSpec
from ferryml.features.transforms.base import Array, Scalar, Transform, map_distinct

UNSEEN_RANK = -1


class OneHot(Transform):
    """One 0/1 column per declared category, then ``other``."""

    def __init__(
        self,
        name: str,
        inputs: tuple[str, ...],
        outputs: tuple[FieldSpec, ...],
        categories: list[str],
    ):
        super().__init__(name, inputs, outputs)
        self.categories = list(categories)
        self._positions = {category: i for i, category in enumerate(self.categories)}
        self._width = len(self.categories) + 1

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        (value,) = values
        hot = self._positions.get(value, self._width - 1)
        return tuple(1 if i == hot else 0 for i in range(self._width))

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        return map_distinct(self.row, columns, (np.int64,) * self._width)


class _Fitted(Transform):
    fitted = True

    def __init__(self, name: str, inputs: tuple[str, ...], outputs: tuple[FieldSpec, ...]):
        super().__init__(name, inputs, outputs)
        self._table: dict[str, Any] | None = None

    def fit(self, *columns: Array) -> None:
        (column,) = columns
        counts = Counter(value for value in column.tolist() if value is not None)
        self._table = self._learn(counts, len(column))

    def state(self) -> dict[str, Any]:
        return {"table": dict(self._require())}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._table = dict(state["table"])

    def batch(self, *columns: Array) -> tuple[Array, ...]:
        return map_distinct(self.row, columns, (self._dtype,))

    def _require(self) -> dict[str, Any]:
        if self._table is None:
            raise InvalidInputError(
                f"feature {self.name!r} is used before it was fitted",
                hint="build a training set first (ferry features build); it fits the encodings",
            )
        return self._table

    _dtype: type = np.float64

    def _learn(self, counts: Counter[str], rows: int) -> dict[str, Any]:
        raise NotImplementedError


class Ordinal(_Fitted):
    """Category → rank by training frequency; unseen or missing → -1."""

    _dtype = np.int64

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        (value,) = values
        return (self._require().get(value, UNSEEN_RANK),)

    def _learn(self, counts: Counter[str], rows: int) -> dict[str, Any]:
        ranked = sorted(counts, key=lambda value: (-counts[value], value))
        return {value: rank for rank, value in enumerate(ranked)}


class Frequency(_Fitted):
    """Category → share of training rows; unseen or missing → 0.0."""

    def row(self, *values: Scalar) -> tuple[Scalar, ...]:
        (value,) = values
        return (self._require().get(value, 0.0),)

    def _learn(self, counts: Counter[str], rows: int) -> dict[str, Any]:
        return {value: count / rows for value, count in counts.items()} if rows else {}
