"""Pearson's chi-squared test of homogeneity: do two samples share one category distribution?

A 2 x k table of counts over every category either sample has — categories only the current
sample has are kept (they are drift, not noise to drop). The statistic is
``Σ (observed - expected)² / expected``, ``k - 1`` degrees of freedom, the p-value from
scipy's chi-squared distribution: ``scipy.stats.chi2_contingency(table, correction=False)``.
One category in all: nothing to compare (statistic 0, p-value 1, said in the note).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from ferryml.monitoring.stats.base import StatSpec, TestResult
from ferryml.monitoring.stats.shares import Counts

SPEC = StatSpec(
    name="chi2",
    kinds=("categorical",),
    default_threshold=0.05,
    direction="lower_is_drift",
    description="chi-squared test of homogeneity p-value (unseen categories kept)",
)


def chi_squared(counts: Counts) -> TestResult:
    """The test on the two samples' category counts."""
    observed = np.vstack([counts.reference, counts.current]).astype(np.float64)
    if observed.shape[1] < 2:
        return TestResult(0.0, 1.0, note="one category in both samples: nothing to compare")
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0) / observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return TestResult(statistic, float(chi2.sf(statistic, observed.shape[1] - 1)))


__all__ = ["SPEC", "chi_squared"]
