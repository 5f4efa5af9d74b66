"""Population stability index over quantile bins of a reference sample, and only that.

``psi = sum((a - e) * ln(a / e))`` over bins, where ``e`` and ``a`` are the reference's and the
actual data's shares per bin; shares are floored at ``EPSILON`` so an empty bin stays finite.
Higher means more drift; 0.1 is usually read as a moderate shift and 0.2 as a large one.

    >>> import numpy as np
    >>> edges = quantile_edges(np.arange(100.0), bins=4)
    >>> psi(np.array([25, 25, 25, 25]), np.array([25, 25, 25, 25]))
    0.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EPSILON = 1e-4
FloatArray = npt.NDArray[np.float64]


def quantile_edges(reference: FloatArray, *, bins: int) -> FloatArray:
    """Inner bin edges: the reference's quantiles ``1/bins … (bins-1)/bins``, deduplicated.

    Bins are ``(-inf, e0), [e0, e1), …, [e_last, inf)``.
    """
    values = reference[~np.isnan(reference)]
    if values.size == 0:
        raise ValueError("the reference sample has no non-null values")
    inner = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.asarray(np.unique(inner), dtype=np.float64)


def bin_counts(values: FloatArray, edges: FloatArray) -> npt.NDArray[np.int64]:
    """Counts of ``values`` (nulls dropped) in the bins defined by ``edges``."""
    kept = values[~np.isnan(values)]
    index = np.searchsorted(edges, kept, side="right")
    return np.bincount(index, minlength=edges.size + 1).astype(np.int64)


def psi(expected_counts: npt.NDArray[np.int64], actual_counts: npt.NDArray[np.int64]) -> float:
    """PSI between two count vectors over the same bins."""
    if expected_counts.sum() == 0 or actual_counts.sum() == 0:
        raise ValueError("PSI needs at least one value on each side")
    e = np.maximum(expected_counts / expected_counts.sum(), EPSILON)
    a = np.maximum(actual_counts / actual_counts.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


__all__ = ["EPSILON", "bin_counts", "psi", "quantile_edges"]
