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
        return cls(edges, _binned(ref, edges))

    def counts_of(self, current: npt.ArrayLike | SortedSample) -> Counts:
        """The reference's counts and ``current``'s in the same bins."""
        cur = SortedSample.of(current, "current")
        labels = tuple(f"bin {i}" for i in range(len(self.edges) + 1))
        return Counts(labels, self.counts, _binned(cur, self.edges))


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


def _binned(sample: SortedSample, edges: Floats) -> npt.NDArray[np.int64]:
    """Counts in right-closed bins (``edges[i - 1] < value <= edges[i]``). The values are
    sorted, so each bin's count is a difference of two binary searches: O(bins · log n)
    instead of a search per value and a bincount (12 µs against 4 ms at a million values)."""
    bounds = np.searchsorted(sample.values, edges, side="right")
    return np.diff(bounds, prepend=0, append=sample.size)


def categories_of(values: Iterable[Any], name: str) -> Counter[str]:
    """Each category's count (as text; missing values left out). Raises
    :class:`InvalidInputError` when every value is missing."""
    counted, _ = tally_categories(values)
    return nonempty(counted, name)


def nonempty(counted: Counter[str], name: str) -> Counter[str]:
    """``counted``; :class:`InvalidInputError` when it has no category."""
    if not counted:
        raise InvalidInputError(f"the {name} has no category: every value is missing")
    return counted


def tally_categories(values: Iterable[Any]) -> tuple[Counter[str], int]:
    """Each category's count (as text) and how many values are missing, in one pass.

    Missing is what ``pd.isna`` says of an object (None, NaN, NaT, ``pd.NA``): pandas'
    ``factorize`` drops the same values. A code per value and a ``bincount`` take 30 ms at a
    million strings, where ``pd.isna``, dropping the missing values and ``value_counts``
    took 68 ms; values equal as Python objects (1, 1.0, True) share the first one's text, as
    with ``value_counts``."""
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    tally = np.bincount(codes + 1, minlength=len(distinct) + 1)  # code -1: missing
    counted: Counter[str] = Counter()
    for value, count in zip(distinct, tally[1:], strict=True):  # few: text conversion here
        counted[str(value)] += int(count)
    return counted, int(tally[0])


__all__ = [
    "EPSILON",
    "BinnedReference",
    "Counts",
    "categories_of",
    "category_counts",
    "counts_of_categories",
    "nonempty",
    "numeric_counts",
    "smoothed",
    "tally_categories",
]
