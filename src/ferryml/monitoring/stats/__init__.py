"""Drift statistics, one per module, each a spec (:class:`StatSpec`) and a computation."""

from ferryml.monitoring.stats.base import StatSpec
from ferryml.monitoring.stats.psi import ReferenceBins, band, psi

__all__ = ["ReferenceBins", "StatSpec", "band", "psi"]
