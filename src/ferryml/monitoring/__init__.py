"""Monitoring: drift statistics first (one module per test in :mod:`ferryml.monitoring.stats`);
windows, performance with delayed labels, alerts and retraining join with the monitoring work."""

from ferryml.monitoring.stats import ReferenceBins, StatSpec, band, psi

__all__ = ["ReferenceBins", "StatSpec", "band", "psi"]
