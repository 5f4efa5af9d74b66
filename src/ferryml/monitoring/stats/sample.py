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


@dataclass(frozen=True)
class Merged:
    """Two sorted samples merged once, with each sample's running count at every position:
    every CDF-based statistic (Kolmogorov-Smirnov, Wasserstein, Anderson-Darling) reads its
    CDFs from here instead of searching each sample for every value (a stable argsort of two
    sorted runs is linear; a million binary searches are not)."""

    reference: SortedSample
    current: SortedSample
    values: Floats
    """Every value of both, sorted."""
    reference_count: npt.NDArray[np.int64]
    """How many reference values are among ``values[: i + 1]``."""
    current_count: npt.NDArray[np.int64]
    ends: npt.NDArray[np.bool_]
    """The last position of each distinct value (where the CDFs are evaluated)."""

    @classmethod
    def of(
        cls, reference: npt.ArrayLike | SortedSample, current: npt.ArrayLike | SortedSample
    ) -> Merged:
        ref, cur = SortedSample.of(reference, "reference"), SortedSample.of(current, "current")
        both = np.concatenate([ref.values, cur.values])
        order = np.argsort(both, kind="stable")
        values = both[order]
        current_count = np.cumsum(order >= ref.size, dtype=np.int64)
        reference_count = np.arange(1, values.size + 1) - current_count
        ends = np.r_[values[1:] != values[:-1], True]
        return cls(ref, cur, values, reference_count, current_count, ends)

    def cdfs(self) -> tuple[Floats, Floats]:
        """Both empirical CDFs at each position (exact at the ends of tied runs)."""
        return (
            self.reference_count / self.reference.size,
            self.current_count / self.current.size,
        )


__all__ = ["Floats", "Merged", "SortedSample"]
