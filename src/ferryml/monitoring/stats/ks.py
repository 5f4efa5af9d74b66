"""Two-sample Kolmogorov-Smirnov: the largest gap between the two empirical CDFs.

The statistic is computed on sorted samples (the reference's sorted once,
:class:`~ferryml.monitoring.stats.sample.SortedSample`); the two-sided p-value is Smirnov's
asymptotic distribution from scipy (``kstwo.sf(D, round(n·m/(n+m)))``), which is what
``scipy.stats.ks_2samp(method="asymp")`` returns (for samples of one value each, where
scipy's effective size rounds to 0 and it divides by zero, the size is taken as 1).
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
from scipy.stats import kstwo

from ferryml.monitoring.stats.base import StatSpec, TestResult
from ferryml.monitoring.stats.sample import SortedSample

SPEC = StatSpec(
    name="ks",
    kinds=("numeric",),
    default_threshold=0.05,
    direction="lower_is_drift",
    description="two-sample Kolmogorov-Smirnov p-value (statistic: largest CDF gap)",
)


def ks(
    reference: npt.ArrayLike | SortedSample, current: npt.ArrayLike | SortedSample
) -> TestResult:
    """The two-sided KS statistic and its asymptotic p-value."""
    ref, cur = SortedSample.of(reference, "reference"), SortedSample.of(current, "current")
    points = np.concatenate([ref.values, cur.values])
    gaps = ref.cdf(points) - cur.cdf(points)
    statistic = float(max(np.max(gaps), np.clip(-np.min(gaps), 0, 1)))
    m, n = sorted([float(ref.size), float(cur.size)], reverse=True)
    effective = max(float(np.round(m * n / (m + n))), 1.0)  # 1 and 1 value: 0.5 rounds to 0
    p_value = float(np.clip(kstwo.sf(statistic, effective), 0, 1))
    return TestResult(statistic, p_value)


__all__ = ["SPEC", "ks"]
