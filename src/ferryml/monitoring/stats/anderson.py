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
from ferryml.monitoring.stats.sample import Merged, SortedSample

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
    ends = np.flatnonzero(pair.ends)
    if ends.size < 2:
        return TestResult(0.0, 1.0, note="every value is the same: nothing to compare")
    total = pair.values.size
    starts = np.r_[0, ends[:-1] + 1]
    ties = (ends - starts + 1).astype(np.float64)
    below = starts + ties / 2.0
    statistic = 0.0
    for sample, counts in (
        (pair.reference, pair.reference_count),
        (pair.current, pair.current_count),
    ):
        right = counts[ends].astype(np.float64)
        before = np.where(starts > 0, counts[np.maximum(starts - 1, 0)], 0)
        midrank = right - (right - before) / 2.0
        inner = (
            ties
            / float(total)
            * (total * midrank - below * sample.size) ** 2
            / (below * (total - below) - total * ties / 4.0)
        )
        statistic += inner.sum() / sample.size
    statistic *= (total - 1.0) / total
    normalized = _normalized(statistic, (pair.reference.size, pair.current.size), total)
    p_value, note = _p_value(normalized)
    return TestResult(float(normalized), p_value, note)


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
