"""Anderson-Darling k-sample test (two samples): like Kolmogorov-Smirnov, but weighing the
tails, where fraud amounts live.

The midrank statistic of Scholz and Stephens (1987), equation 7, and its normalization and
p-value interpolation, as ``scipy.stats.anderson_ksamp(variant="midrank")`` computes them —
restated here on sorted samples because scipy sorts both samples (twice) on every call,
which at a million rows is most of a drift run; a reference's sorted values are reused
(:class:`~ferryml.monitoring.stats.sample.SortedSample`). The oracle test checks the
statistic and p-value against scipy's.

The p-value is interpolated in the paper's table, which ends at 0.001 and 0.25: beyond it the
p-value is that bound, and :attr:`TestResult.note` says so (scipy warns; here the bound is part
of the result). At monitoring sizes the floor is the usual case, which is why verdicts rest on
effect sizes first. All values equal in both samples: nothing to compare (statistic 0,
p-value 1, said in the note).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from ferryml.monitoring.stats.base import StatSpec, TestResult
from ferryml.monitoring.stats.merged import Merged, blocks
from ferryml.monitoring.stats.sample import Floats, SortedSample

SPEC = StatSpec(
    name="anderson_darling",
    kinds=("numeric",),
    default_threshold=0.05,
    direction="lower_is_drift",
    description="Anderson-Darling k-sample p-value (bounded to [0.001, 0.25] by its table)",
)

# Scholz and Stephens (1987), table 2: the interpolation coefficients and significance levels
_B0 = np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
_B1 = np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
_B2 = np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
_LEVELS = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])


def anderson_darling(
    reference: npt.ArrayLike | SortedSample | Merged, current: npt.ArrayLike | SortedSample = ()
) -> TestResult:
    """The normalized two-sample statistic and its (possibly bounded) p-value (of two samples
    or a :class:`Merged` pair)."""
    pair = reference if isinstance(reference, Merged) else Merged.of(reference, current)
    runs = int(np.count_nonzero(pair.ends))
    if runs < 2:
        return TestResult(0.0, 1.0, note="every value is the same: nothing to compare")
    total = pair.size
    sizes = (pair.reference.size, pair.current.size)
    # The two samples' midranks add up to the pooled one, so their deviations from it are
    # equal and opposite, exactly (half-integers times integers below 2**53): one sum serves
    # both, half the work of summing each sample's (scipy's way).
    squares = _squared_deviations(pair, None if runs == total else np.flatnonzero(pair.ends))
    statistic = 0.0
    for size in sizes:
        statistic += squares / size
    statistic *= (total - 1.0) / total
    normalized = _normalized(statistic, sizes, total)
    p_value, note = _p_value(normalized)
    return TestResult(float(normalized), p_value, note)


def _squared_deviations(pair: Merged, ends: npt.NDArray[np.intp] | None) -> float:
    """``Σ_j l_j / N · (N·M_j - B_j·n)² / (B_j·(N - B_j) - N·l_j / 4)`` over the distinct
    values ``j`` (``l_j`` ties, ``B_j`` the pooled midrank, ``M_j`` the current sample's,
    ``n`` its size), from its running count at the ``ends`` of the runs of equal values
    (``None``: no ties, every position ends a run)."""
    total, size = pair.size, pair.current.size
    squares, previous = 0.0, 0.0
    for start, stop in blocks(total if ends is None else ends.size):
        if ends is None:  # continuous data: every run is one value long
            right = pair.current_count[start:stop].astype(np.float64)
            ties: Floats | float = 1.0
            below = np.arange(start, stop, dtype=np.float64)
        else:
            last = ends[start:stop]
            right = pair.current_count[last].astype(np.float64)
            below = np.empty(last.size)  # the first position of each run
            below[0] = ends[start - 1] + 1 if start else 0
            below[1:] = last[:-1] + 1
            ties = last - below + 1.0
        below += ties / 2.0
        # the count before a run is the count at the end of the previous one
        midrank = right - np.diff(right, prepend=previous) / 2.0
        previous = float(right[-1])
        deviation = total * midrank
        deviation -= below * size
        deviation **= 2
        spread = total - below
        spread *= below
        spread -= total * ties / 4.0
        inner = ties / float(total) * deviation
        inner /= spread
        squares += float(inner.sum())
    return squares


@functools.lru_cache(maxsize=64)
def _harmonic_sums(total: int) -> tuple[float, float]:
    """The paper's ``h`` and ``g`` for ``total`` values: O(total) work that depends on nothing
    else, so the columns of one window share it."""
    h_sum = (1.0 / np.arange(total - 1, 1, -1)).cumsum()
    return float(h_sum[-1] + 1), float((h_sum / np.arange(2, total)).sum())


def _normalized(statistic: float, sizes: tuple[int, int], total: int) -> float:
    """``(A2kN - (k - 1)) / sigma``: the variance formula of the paper, for k = 2."""
    k = 2
    h, g = _harmonic_sums(total)
    big_h = sum(1.0 / n for n in sizes)
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * big_h
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * big_h - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * big_h + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    n = float(total)
    variance = (a * n**3 + b * n**2 + c * n + d) / ((n - 1.0) * (n - 2.0) * (n - 3.0))
    return float((statistic - (k - 1)) / math.sqrt(variance))


def _p_value(normalized: float) -> tuple[float, str]:
    m = 1  # k - 1
    critical = _B0 + _B1 / math.sqrt(m) + _B2 / m
    if normalized < critical.min():
        return float(_LEVELS.max()), "p-value capped at 0.25 by the table: the true value is larger"
    if normalized > critical.max():
        return float(
            _LEVELS.min()
        ), "p-value floored at 0.001 by the table: the true value is smaller"
    fit = np.polyfit(critical, np.log(_LEVELS), 2)
    return float(math.exp(np.polyval(fit, normalized))), ""


__all__ = ["SPEC", "anderson_darling"]
