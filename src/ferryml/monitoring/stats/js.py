"""Jensen-Shannon **distance** (the square root of the divergence), base 2: in [0, 1].

0 means the same shares, 1 shares with no bin in common. Symmetric, and finite without any
smoothing (each side is compared with the mixture of both). Equal to
``scipy.spatial.distance.jensenshannon(reference, current, base=2)`` on the same shares;
square it for the divergence in bits.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import rel_entr

from ferryml.monitoring.stats.base import StatSpec
from ferryml.monitoring.stats.shares import Counts

SPEC = StatSpec(
    name="jensen_shannon",
    kinds=("numeric", "categorical"),
    default_threshold=0.1,
    direction="higher_is_drift",
    description="Jensen-Shannon distance (sqrt of the divergence, base 2), binned shares",
)


def jensen_shannon(counts: Counts) -> float:
    """The Jensen-Shannon distance between the two samples' shares."""
    reference, current = counts.shares()
    mixture = (reference + current) / 2
    divergence = (np.sum(rel_entr(reference, mixture)) + np.sum(rel_entr(current, mixture))) / 2
    return math.sqrt(max(float(divergence), 0.0) / math.log(2))


__all__ = ["SPEC", "jensen_shannon"]
