"""Wasserstein-1 (earth mover's) distance between two samples: the area between their CDFs.

Raw, in the feature's own units, and normalized by the reference's standard deviation so that
one threshold fits every column (0.1: a tenth of a standard deviation of mass moved). Computed
on sorted samples, the reference's reused across windows; equal to
``scipy.stats.wasserstein_distance``.

    >>> import numpy as np
    >>> round(wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0]), 6)
    5.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError
from ferryml.monitoring.stats.base import StatSpec
from ferryml.monitoring.stats.merged import Merged, blocks
from ferryml.monitoring.stats.sample import SortedSample

SPEC = StatSpec(
    name="wasserstein",
    kinds=("numeric",),
    default_threshold=0.1,
    direction="higher_is_drift",
    description="Wasserstein-1 distance divided by the reference's standard deviation",
)


def wasserstein(
    reference: npt.ArrayLike | SortedSample | Merged, current: npt.ArrayLike | SortedSample = ()
) -> float:
    """The Wasserstein-1 distance, in the values' units (of two samples or a :class:`Merged`
    pair): the CDF gap at each value times the step to the next value."""
    pair = reference if isinstance(reference, Merged) else Merged.of(reference, current)
    distance = 0.0
    for start, stop in blocks(pair.size - 1):  # every position with a next value
        # the step to the next value is 0 inside tied runs, where the CDFs are not yet exact
        areas = np.abs(pair.gaps(start, stop))
        areas *= np.diff(pair.values[start : stop + 1])
        distance += float(areas.sum())
    return distance


def normalized_wasserstein(
    reference: npt.ArrayLike | SortedSample, current: npt.ArrayLike | SortedSample
) -> float:
    """The distance in units of the reference's standard deviation (population, ddof=0).

    A constant reference has no spread to measure by: :class:`InvalidInputError` says so
    (compare such a column by its values' shares instead)."""
    ref = SortedSample.of(reference, "reference")
    spread = float(np.std(ref.values))
    if spread == 0.0:
        raise InvalidInputError(
            "the reference is constant: the Wasserstein distance cannot be normalized by its "
            "spread",
            hint="compare a constant column with chi-squared on its values",
        )
    return wasserstein(ref, current) / spread


__all__ = ["SPEC", "normalized_wasserstein", "wasserstein"]
