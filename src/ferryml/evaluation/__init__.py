"""Quality gates and champion/challenger: what a model proves before it reaches production.

    data = held_out(build_table, columns, config.training, attributes=[...])
    report = evaluate_candidate(candidate, champion, data, config.gates, economics)
    report.passed, report.failed_gates, [r.status for r in report.results]

Projects go through :func:`gate_runs` (``ferry gate``) and :func:`promote` (``ferry promote``).
"""

from ferryml.evaluation.bootstrap import Interval, ModelScores, paired_bootstrap, weighted_metrics
from ferryml.evaluation.config import GatesConfig
from ferryml.evaluation.data import HeldOut, held_out
from ferryml.evaluation.evaluate import (
    EdgeInputs,
    GateReport,
    best_passing,
    evaluate_candidate,
    rank,
)
from ferryml.evaluation.gates.base import Check, Contender, Economics, GateResult
from ferryml.evaluation.project import GateSession, gate_runs, training_runs
from ferryml.evaluation.promotion import promote
from ferryml.evaluation.report import write_reports

__all__ = [
    "Check",
    "Contender",
    "Economics",
    "EdgeInputs",
    "GateReport",
    "GateResult",
    "GateSession",
    "GatesConfig",
    "HeldOut",
    "Interval",
    "ModelScores",
    "best_passing",
    "evaluate_candidate",
    "gate_runs",
    "held_out",
    "paired_bootstrap",
    "promote",
    "rank",
    "training_runs",
    "weighted_metrics",
    "write_reports",
]
