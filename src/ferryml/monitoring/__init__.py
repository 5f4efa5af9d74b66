"""Monitoring: drift statistics (one module per test in :mod:`ferryml.monitoring.stats`) and
data drift per column (:mod:`ferryml.monitoring.drift`); windows over the prediction log,
performance with delayed labels, alerts and retraining join with the rest of the monitoring
work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryml._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from ferryml.monitoring.config import DriftConfig, MonitoringConfig
    from ferryml.monitoring.drift import ColumnDrift, DriftReport, Reference, compare
    from ferryml.monitoring.stats.base import StatSpec
    from ferryml.monitoring.stats.psi import ReferenceBins, band, psi

# Names load on first use: the config loader imports this package's config module, and a
# command that only reads a config should not pay for scipy.
_EXPORTS = {
    "ColumnDrift": "ferryml.monitoring.drift",
    "DriftConfig": "ferryml.monitoring.config",
    "DriftReport": "ferryml.monitoring.drift",
    "MonitoringConfig": "ferryml.monitoring.config",
    "Reference": "ferryml.monitoring.drift",
    "ReferenceBins": "ferryml.monitoring.stats.psi",
    "StatSpec": "ferryml.monitoring.stats.base",
    "band": "ferryml.monitoring.stats.psi",
    "compare": "ferryml.monitoring.drift",
    "psi": "ferryml.monitoring.stats.psi",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ColumnDrift",
    "DriftConfig",
    "DriftReport",
    "MonitoringConfig",
    "Reference",
    "ReferenceBins",
    "StatSpec",
    "band",
    "compare",
    "psi",
]
