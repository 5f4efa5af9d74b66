"""Anderson-Darling k-sample test (two samples): like Kolmogorov-Smirnov, but weighing the
tails, where fraud amounts live.

Computed by ``scipy.stats.anderson_ksamp`` (midrank version). scipy interpolates the p-value
in a table that ends at 0.001 and 0.25 and warns when it clips: the warning is caught here,
for this call only, and said in :attr:`TestResult.note` (the p-value is then a bound), rather
than silenced globally. At monitoring sizes the floor is the usual case, which is why verdicts
rest on effect sizes first. All values equal in both samples: nothing to compare (statistic
0, p-value 1, said in the note).
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
from scipy.stats import anderson_ksamp

from ferryml.monitoring.stats.base import StatSpec, TestResult
from ferryml.monitoring.stats.sample import SortedSample

SPEC = StatSpec(
    name="anderson_darling",
    kinds=("numeric",),
    default_threshold=0.05,
    direction="lower_is_drift",
    description="Anderson-Darling k-sample p-value (bounded to [0.001, 0.25] by its table)",
)


def anderson_darling(
    reference: npt.ArrayLike | SortedSample, current: npt.ArrayLike | SortedSample
) -> TestResult:
    """The normalized k-sample statistic and its (possibly bounded) p-value."""
    ref, cur = SortedSample.of(reference, "reference"), SortedSample.of(current, "current")
    if ref.values[0] == ref.values[-1] == cur.values[0] == cur.values[-1]:
        return TestResult(0.0, 1.0, note="every value is the same: nothing to compare")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = anderson_ksamp([ref.values, cur.values], variant="midrank")
    note = ""
    for warning in caught:
        text = str(warning.message)
        if "floored" in text:
            note = "p-value floored at 0.001 by scipy's table: the true value is smaller"
        elif "capped" in text:
            note = "p-value capped at 0.25 by scipy's table: the true value is larger"
        else:  # anything else is not ours to swallow
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return TestResult(float(result.statistic), float(np.clip(result.pvalue, 0, 1)), note)


__all__ = ["SPEC", "anderson_darling"]
