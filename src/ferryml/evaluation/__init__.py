"""Quality gates and champion/challenger: what a model proves before it reaches production.

    data = held_out(build_table, columns, config.training, attributes=[...])
    report = evaluate_candidate(candidate, champion, data, config.gates, economics)
    report.passed, report.failed_gates, [r.status for r in report.results]

Projects go through :func:`gate_runs` (``ferry gate``) and :func:`promote` (``ferry promote``).
"""

from __future__ import annotations

from ferryml._lazy import lazy_exports

# Names load on first use: the config loader imports this package's config module, and a
# command that only reads a config should not pay for the rest of the stage.
_EXPORTS = {
    "Check": "ferryml.evaluation.gates.base",
    "Contender": "ferryml.evaluation.gates.base",
    "Economics": "ferryml.evaluation.gates.base",
    "EdgeInputs": "ferryml.evaluation.evaluate",
    "GateReport": "ferryml.evaluation.evaluate",
    "GateResult": "ferryml.evaluation.gates.base",
    "GateSession": "ferryml.evaluation.project",
    "GatesConfig": "ferryml.evaluation.config",
    "HeldOut": "ferryml.evaluation.data",
    "Interval": "ferryml.evaluation.bootstrap",
    "ModelScores": "ferryml.evaluation.bootstrap",
    "best_passing": "ferryml.evaluation.evaluate",
    "evaluate_candidate": "ferryml.evaluation.evaluate",
    "gate_runs": "ferryml.evaluation.project",
    "held_out": "ferryml.evaluation.data",
    "paired_bootstrap": "ferryml.evaluation.bootstrap",
    "promote": "ferryml.evaluation.promotion",
    "rank": "ferryml.evaluation.evaluate",
    "training_runs": "ferryml.evaluation.project",
    "weighted_metrics": "ferryml.evaluation.bootstrap",
    "write_reports": "ferryml.evaluation.report",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)

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
