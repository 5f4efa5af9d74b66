"""The gates, one per module: quality, latency, fairness (subpopulations), edge cases; the
champion comparison lives in :mod:`ferryml.evaluation.compare`."""

from ferryml.evaluation.gates.base import Check, Contender, Economics, GateResult
from ferryml.evaluation.gates.edge_cases import OnlinePath, edge_case_gate
from ferryml.evaluation.gates.fairness import fairness_gate, segment_groups
from ferryml.evaluation.gates.latency import Timing, latency_gate
from ferryml.evaluation.gates.quality import period_metrics, quality_gate

__all__ = [
    "Check",
    "Contender",
    "Economics",
    "GateResult",
    "OnlinePath",
    "Timing",
    "edge_case_gate",
    "fairness_gate",
    "latency_gate",
    "period_metrics",
    "quality_gate",
    "segment_groups",
]
