"""Two sorted samples merged once, for every statistic that compares their empirical CDFs
(Kolmogorov-Smirnov, Wasserstein, Anderson-Darling).

The merge is a stable argsort of the two sorted runs, which is linear (a million binary
searches are not). The statistics then walk the merged values a block at a time
(:func:`blocks`): a block's temporaries stay in the CPU cache, where whole-array passes at
two million values go to memory and back once per operation (Anderson-Darling: 30 ms in
whole arrays, 9 ms in blocks of 64K values).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ferryml.monitoring.stats.sample import Floats, SortedSample

BLOCK = 1 << 16
"""Positions per block: 64K floats (512 KB) per temporary array fit in a core's L2 cache."""


def blocks(size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks covering ``range(size)``."""
    for start in range(0, size, BLOCK):
        yield start, min(start + BLOCK, size)


@dataclass(frozen=True)
class Merged:
    """Every value of two sorted samples, sorted, with the current sample's running count at
    each position (the reference's is the position's rank minus it)."""

    reference: SortedSample
    current: SortedSample
    values: Floats
    """Every value of both, sorted."""
    current_count: npt.NDArray[np.int64]
    """How many current values are among ``values[: i + 1]``."""
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
        # counted into the order's memory, done with: pages a process touches for the first
        # time cost more than the counting (about 2 ms per MB on the benchmark's VM)
        current_count = np.cumsum(order >= ref.size, out=order)
        ends = np.empty(values.size, dtype=np.bool_)
        np.not_equal(values[1:], values[:-1], out=ends[:-1])
        ends[-1:] = True
        return cls(ref, cur, values, current_count, ends)

    @property
    def size(self) -> int:
        return int(self.values.size)

    def gaps(self, start: int, stop: int) -> Floats:
        """The reference's empirical CDF minus the current's at positions ``start`` to
        ``stop`` (exact at the ends of tied runs)."""
        current = self.current_count[start:stop]
        gaps = (np.arange(start + 1, stop + 1) - current) / self.reference.size
        gaps -= current / self.current.size
        return gaps


__all__ = ["BLOCK", "Merged", "blocks"]
