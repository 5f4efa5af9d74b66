"""Population Stability Index: how far a distribution moved from a fixed reference.

Bins are the reference's quantiles (so each holds about the same share of the reference);
the current sample is counted in the same bins. PSI = sum((c - r) * ln(c / r)) over bins,
which is the symmetrized Kullback-Leibler divergence of the binned shares — but the *bins*
come from the reference, so swapping the two samples changes the value: the reference stays
fixed. An empty bin gets ``epsilon`` instead of 0 (the logarithm would be infinite). Bands:
below 0.1 stable, 0.1 to 0.2 moderate shift, 0.2 and above significant shift::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(0, 1, 10_000)
    >>> round(psi(reference, rng.normal(0, 1, 10_000)), 3), band(0.02)
    (0.001, 'stable')
    >>> psi(reference, rng.normal(1, 1, 10_000)) > 0.2
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError
from ferryml.monitoring.stats.base import StatSpec
from ferryml.monitoring.stats.shares import EPSILON, Counts

SPEC = StatSpec(
    name="psi",
    kinds=("numeric",),
    default_threshold=0.2,
    direction="higher_is_drift",
    description="Population Stability Index over the reference's quantile bins",
)


@dataclass(frozen=True)
class ReferenceBins:
    """The bin edges of a reference and its share per bin: computed once, reused for every
    window compared with it."""

    edges: npt.NDArray[np.float64]
    """Inner edges (``bins - 1`` of them, unique): values are counted with ``searchsorted``."""
    shares: npt.NDArray[np.float64]

    @classmethod
    def of(cls, reference: npt.ArrayLike, bins: int = 10) -> ReferenceBins:
        values = _finite(reference, "reference")
        inner = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
        return cls(inner, _shares(values, inner))


def psi(
    reference: npt.ArrayLike | ReferenceBins,
    current: npt.ArrayLike,
    *,
    bins: int = 10,
) -> float:
    """PSI of ``current`` against ``reference`` (values, or bins computed once)."""
    fixed = reference if isinstance(reference, ReferenceBins) else ReferenceBins.of(reference, bins)
    now = _shares(_finite(current, "current"), fixed.edges)
    return float(np.sum((now - fixed.shares) * np.log(now / fixed.shares)))


def psi_of_counts(counts: Counts) -> float:
    """PSI of two samples' counts over common bins (numeric bins or categories): the same
    formula, empty bins at :data:`EPSILON`."""
    reference, current = (np.where(s == 0, EPSILON, s) for s in counts.shares())
    return float(np.sum((current - reference) * np.log(current / reference)))


def band(value: float) -> str:
    """``stable`` (< 0.1), ``moderate`` (0.1 to 0.2) or ``significant`` (>= 0.2)."""
    if value < 0.1:
        return "stable"
    return "moderate" if value < 0.2 else "significant"


def _shares(
    values: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    # right-closed bins: a value equal to an edge falls in the lower bin, as with quantiles
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    shares = counts / counts.sum()
    return np.where(shares == 0, EPSILON, shares)


def _finite(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise InvalidInputError(f"PSI needs finite values in the {name} sample; it has none")
    return array


__all__ = ["EPSILON", "SPEC", "ReferenceBins", "band", "psi", "psi_of_counts"]
