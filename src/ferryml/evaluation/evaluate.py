"""Every gate on one candidate, and the ranking of several.

A candidate passes when no enabled gate failed (a skipped gate, e.g. the champion gate when
there is no champion yet, does not block). Among several candidates the best one that
passes, on the primary metric of the held-out period, is the one to promote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.evaluation.compare import champion_gate
from ferryml.evaluation.config import LOWER_IS_BETTER, GatesConfig
from ferryml.evaluation.data import HeldOut
from ferryml.evaluation.gates.base import Contender, Economics, GateResult
from ferryml.evaluation.gates.edge_cases import OnlinePath, edge_case_gate
from ferryml.evaluation.gates.fairness import fairness_gate
from ferryml.evaluation.gates.latency import latency_gate
from ferryml.evaluation.gates.quality import period_metrics, quality_gate


@dataclass(frozen=True)
class EdgeInputs:
    """What the edge-case gate starts from: the online path and real raw events."""

    path: OnlinePath
    bases: Sequence[Mapping[str, Any]]
    observed: Mapping[str, npt.NDArray[np.float64]]


@dataclass
class GateReport:
    """One candidate's verdict on every gate."""

    candidate: Contender
    champion: Contender | None
    results: list[GateResult]
    metrics: dict[str, float]
    held_out: dict[str, Any]
    primary_metric: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failed_gates(self) -> list[str]:
        return [result.gate for result in self.results if not result.passed]

    def result(self, gate: str) -> GateResult:
        return next(r for r in self.results if r.gate == gate)

    def as_dict(self) -> dict[str, Any]:
        candidate = self.candidate
        return {
            "candidate": {
                "label": candidate.label,
                "run_id": candidate.run_id,
                "version": candidate.version,
                "threshold": candidate.threshold,
                "model_bytes": candidate.size_bytes,
            },
            "champion": None
            if self.champion is None
            else {
                "label": self.champion.label,
                "run_id": self.champion.run_id,
                "version": self.champion.version,
                "threshold": self.champion.threshold,
            },
            "passed": self.passed,
            "failed_gates": self.failed_gates,
            "primary_metric": self.primary_metric,
            "metrics": self.metrics,
            "held_out": self.held_out,
            "gates": [result.as_dict() for result in self.results],
            **self.extra,
        }


Progress = Callable[[str], None]


def evaluate_candidate(
    candidate: Contender,
    champion: Contender | None,
    data: HeldOut,
    config: GatesConfig,
    economics: Economics,
    edge: EdgeInputs | None = None,
    progress: Progress | None = None,
) -> GateReport:
    """Run every gate of ``config`` on ``candidate`` (against ``champion`` when there is one)."""

    def step(name: str) -> None:
        if progress:
            progress(f"{candidate.label}: {name}")

    results = []
    step("quality")
    results.append(quality_gate(candidate, data, config.quality, economics))
    step("latency")
    results.append(latency_gate(candidate, champion, data, config.latency))
    step("fairness")
    results.append(fairness_gate(candidate, data, config.fairness))
    step("edge cases")
    results.append(
        edge_case_gate(
            candidate,
            edge.path if edge else None,
            edge.bases if edge else [],
            edge.observed if edge else {},
            config.edge_cases,
        )
    )
    step("champion")
    results.append(champion_gate(candidate, champion, data, config.champion, economics))
    return GateReport(
        candidate,
        champion,
        results,
        period_metrics(candidate, data, economics),
        data.describe(),
        economics.primary_metric,
    )


def rank(reports: Sequence[GateReport]) -> list[GateReport]:
    """Passing candidates first, each group best first on the primary metric."""

    def key(report: GateReport) -> tuple[int, float]:
        value = report.metrics[report.primary_metric]
        better = -value if report.primary_metric in LOWER_IS_BETTER else value
        return (0 if report.passed else 1, -better)

    return sorted(reports, key=key)


def best_passing(reports: Sequence[GateReport]) -> GateReport | None:
    """The candidate to promote: the best that passed every gate, if any did."""
    ranked = rank(reports)
    return ranked[0] if ranked and ranked[0].passed else None


__all__ = ["EdgeInputs", "GateReport", "best_passing", "evaluate_candidate", "rank"]
