"""Kullback-Leibler divergence of the current sample's shares from the reference's.

``KL(current ‖ reference) = Σ c·ln(c / r)`` in nats, over the reference's quantile bins for
numbers and over the categories for categories (:mod:`~ferryml.monitoring.stats.shares`);
empty bins count as :data:`~ferryml.monitoring.stats.shares.EPSILON`. Not symmetric: the
reference is the distribution the model learned on, and stays in the denominator. Equal to
``scipy.stats.entropy(current, reference)`` on the same shares.
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

from ferryml.monitoring.stats.base import StatSpec
from ferryml.monitoring.stats.shares import Counts, smoothed

SPEC = StatSpec(
    name="kl",
    kinds=("numeric", "categorical"),
    default_threshold=0.1,
    direction="higher_is_drift",
    description="Kullback-Leibler divergence KL(current ‖ reference), nats, binned shares",
)


def kl(counts: Counts) -> float:
    """KL(current ‖ reference) of the two samples' counts."""
    reference, current = (smoothed(shares) for shares in counts.shares())
    reference, current = reference / reference.sum(), current / current.sum()
    return float(np.sum(rel_entr(current, reference)))


__all__ = ["SPEC", "kl"]
