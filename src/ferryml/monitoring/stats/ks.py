"""Two-sample Kolmogorov-Smirnov: the largest gap between the two empirical CDFs.

The statistic is computed on sorted samples (the reference's sorted once,
:class:`~ferryml.monitoring.stats.sample.SortedSample`); the two-sided p-value is Smirnov's
asymptotic distribution from scipy (``kstwo.sf(D, round(n·m/(n+m)))``), which is what
``scipy.stats.ks_2samp(method="asymp")`` returns — except for tiny p-values of huge samples
(:data:`TINY`), and for samples of one value each, where scipy's effective size rounds to 0
and it divides by zero (the size is taken as 1).
Monitoring windows are large enough for the asymptotic form; at a million rows every p-value
is tiny, so verdicts rest on effect sizes and this p-value comes second.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> result = ks(rng.normal(0, 1, 2000), rng.normal(0.5, 1, 2000))
    >>> round(result.statistic, 2), result.p_value < 1e-6
    (0.2, True)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import kstwo, kstwobign

from ferryml.monitoring.stats.base import StatSpec, TestResult
from ferryml.monitoring.stats.merged import Merged, blocks
from ferryml.monitoring.stats.sample import SortedSample

SPEC = StatSpec(
    name="ks",
    kinds=("numeric",),
    default_threshold=0.05,
    direction="lower_is_drift",
    description="two-sample Kolmogorov-Smirnov p-value (statistic: largest CDF gap)",
)


TINY, LARGE = 1e-6, 100_000
TINY_NOTE = "p-value below 1e-6, from the limiting Kolmogorov distribution (within 1 %)"
"""Below ``TINY``, at effective sizes from ``LARGE`` on, scipy's finite-sample ``kstwo.sf``
costs up to a second per call (0.8 s for p = 3e-8 at 500,000) and its precision decides
nothing: the limiting distribution ``kstwobign`` answers instead, within 1 % at such sizes
(0.7 % at 100,000, 0.3 % at 500,000)."""


def ks(
    reference: npt.ArrayLike | SortedSample | Merged, current: npt.ArrayLike | SortedSample = ()
) -> TestResult:
    """The two-sided KS statistic and its asymptotic p-value (of two samples, or of a
    :class:`Merged` pair made once for several statistics)."""
    pair = reference if isinstance(reference, Merged) else Merged.of(reference, current)
    highest, lowest = -np.inf, np.inf
    for start, stop in blocks(pair.size):
        gaps = pair.gaps(start, stop)[pair.ends[start:stop]]
        if gaps.size:
            highest, lowest = max(highest, gaps.max()), min(lowest, gaps.min())
    statistic = float(max(highest, np.clip(-lowest, 0, 1)))
    m, n = sorted([float(pair.reference.size), float(pair.current.size)], reverse=True)
    effective = max(float(np.round(m * n / (m + n))), 1.0)  # 1 and 1 value: 0.5 rounds to 0
    limit = float(kstwobign.sf(statistic * np.sqrt(effective)))
    if effective >= LARGE and limit < TINY:
        return TestResult(statistic, limit, note=TINY_NOTE)
    return TestResult(statistic, float(np.clip(kstwo.sf(statistic, effective), 0, 1)))


__all__ = ["SPEC", "ks"]
