"""Drift statistics, one per module, each a spec (:class:`StatSpec`) and a computation on
arrays. Numeric tests take a :class:`SortedSample` (sort a reference once, reuse it for every
window) or plain arrays; binned ones take :class:`Counts` over common bins."""

from ferryml.monitoring.stats.anderson import anderson_darling
from ferryml.monitoring.stats.base import StatSpec, TestResult
from ferryml.monitoring.stats.chi2 import chi_squared
from ferryml.monitoring.stats.fisher import fisher
from ferryml.monitoring.stats.js import jensen_shannon
from ferryml.monitoring.stats.kl import kl
from ferryml.monitoring.stats.ks import ks
from ferryml.monitoring.stats.psi import ReferenceBins, band, psi
from ferryml.monitoring.stats.sample import SortedSample
from ferryml.monitoring.stats.shares import Counts, category_counts, numeric_counts
from ferryml.monitoring.stats.wasserstein import normalized_wasserstein, wasserstein

__all__ = [
    "Counts",
    "ReferenceBins",
    "SortedSample",
    "StatSpec",
    "TestResult",
    "anderson_darling",
    "band",
    "category_counts",
    "chi_squared",
    "fisher",
    "jensen_shannon",
    "kl",
    "ks",
    "normalized_wasserstein",
    "numeric_counts",
    "psi",
    "wasserstein",
]
