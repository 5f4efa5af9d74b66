"""Two samples as shares over common bins: numbers over the reference's quantile bins,
categories over every category either sample has (unseen ones included, not dropped).

The binned divergences (KL, Jensen-Shannon) and chi-squared compare these; PSI has its own
reference bins (:class:`~ferryml.monitoring.stats.psi.ReferenceBins`) with the same edges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.errors import InvalidInputError
from ferryml.monitoring.stats.sample import Floats, SortedSample

EPSILON = 1e-4
"""Share given to an empty bin where a logarithm would otherwise be infinite (as PSI)."""


@dataclass(frozen=True)
class BinnedReference:
    """A numeric reference's quantile bins and its counts in them, made once."""

    edges: Floats
    counts: npt.NDArray[np.int64]

    @classmethod
    def of(cls, reference: npt.ArrayLike | SortedSample, bins: int = 10) -> BinnedReference:
        ref = SortedSample.of(reference, "reference")
        edges = np.unique(np.quantile(ref.values, np.linspace(0, 1, bins + 1)[1:-1]))
        return cls(edges, _binned(ref.values, edges, len(edges) + 1))

    def counts_of(self, current: npt.ArrayLike | SortedSample) -> Counts:
        """The reference's counts and ``current``'s in the same bins."""
        cur = SortedSample.of(current, "current")
        size = len(self.edges) + 1
        labels = tuple(f"bin {i}" for i in range(size))
        return Counts(labels, self.counts, _binned(cur.values, self.edges, size))


@dataclass(frozen=True)
class Counts:
    """Counts of the reference and the current sample over the same bins."""

    labels: tuple[str, ...]
    reference: npt.NDArray[np.int64]
    current: npt.NDArray[np.int64]

    def shares(self) -> tuple[Floats, Floats]:
        return (
            self.reference / self.reference.sum(),
            self.current / self.current.sum(),
        )

    @property
    def unseen(self) -> tuple[str, ...]:
        """Bins only the current sample has (categories the reference never saw)."""
        return tuple(
            label
            for label, r, c in zip(self.labels, self.reference, self.current, strict=True)
            if r == 0 and c > 0
        )


def numeric_counts(
    reference: npt.ArrayLike | SortedSample, current: npt.ArrayLike | SortedSample, bins: int = 10
) -> Counts:
    """Counts over the reference's quantile bins (right-closed; equal edges merged)."""
    return BinnedReference.of(reference, bins).counts_of(current)


def category_counts(reference: Iterable[Any], current: Iterable[Any]) -> Counts:
    """Counts per category (missing values left out): the reference's categories in sorted
    order, then those only the current sample has."""
    ref, cur = categories_of(reference, "reference"), categories_of(current, "current")
    return counts_of_categories(ref, cur)


def counts_of_categories(ref: Counter[str], cur: Counter[str]) -> Counts:
    """:func:`category_counts` from counts already made (a reference counted once)."""
    labels = sorted(ref) + sorted(set(cur) - set(ref))
    return Counts(
        tuple(labels),
        np.array([ref.get(label, 0) for label in labels], dtype=np.int64),
        np.array([cur.get(label, 0) for label in labels], dtype=np.int64),
    )


def smoothed(shares: Floats) -> Floats:
    """``shares`` with empty bins at :data:`EPSILON`."""
    return np.where(shares == 0, EPSILON, shares)


def _binned(values: Floats, edges: Floats, size: int) -> npt.NDArray[np.int64]:
    return np.bincount(np.searchsorted(edges, values, side="left"), minlength=size)


def categories_of(values: Iterable[Any], name: str) -> Counter[str]:
    """Each category's count (as text; missing values left out). Raises
    :class:`InvalidInputError` when every value is missing."""
    distinct = pd.Series(np.asarray(values, dtype=object)).value_counts(dropna=True)
    counted: Counter[str] = Counter()
    for value, count in distinct.items():  # few distinct values: text conversion here
        counted[str(value)] += int(count)
    if not counted:
        raise InvalidInputError(f"the {name} has no category: every value is missing")
    return counted


__all__ = [
    "EPSILON",
    "BinnedReference",
    "Counts",
    "categories_of",
    "category_counts",
    "counts_of_categories",
    "numeric_counts",
    "smoothed",
]
