"""A numeric sample prepared once: its finite values, sorted.

Every distribution test on numbers (Kolmogorov-Smirnov, Anderson-Darling, Wasserstein, the
binned divergences) starts by sorting; a reference compared with window after window is
sorted once here and reused, which is most of the cost of a drift run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SortedSample:
    """The finite values of a sample, sorted ascending, and how many were dropped."""

    values: Floats
    dropped: int
    """NaN and infinite values left out (missing values are the null-rate check's business)."""

    @classmethod
    def of(cls, values: npt.ArrayLike | SortedSample, name: str = "sample") -> SortedSample:
        """Sort ``values`` (a :class:`SortedSample` is returned as is). Raises
        :class:`InvalidInputError` when no finite value is left: a test needs at least one."""
        if isinstance(values, SortedSample):
            return values
        array = np.asarray(values, dtype=np.float64).ravel()
        finite = array[np.isfinite(array)]
        if finite.size == 0:
            raise InvalidInputError(
                f"the {name} has no finite value ({array.size} values, all missing or infinite)"
            )
        return cls(np.sort(finite, kind="stable"), int(array.size - finite.size))

    @property
    def size(self) -> int:
        return int(self.values.size)

    def cdf(self, points: Floats) -> Floats:
        """The empirical CDF at ``points`` (right-continuous: the share of values <= point)."""
        return np.searchsorted(self.values, points, side="right") / self.values.size


def merged(first: SortedSample, second: SortedSample) -> Floats:
    """Both samples' values in one sorted array (a merge of two sorted arrays)."""
    both = np.concatenate([first.values, second.values])
    both.sort(kind="stable")  # timsort: linear on two sorted runs
    return both


__all__ = ["Floats", "SortedSample", "merged"]
