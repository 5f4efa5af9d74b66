"""Several challengers: passing candidates first, each group best first on the primary
metric (lower first for costs); the one to promote is the best that passed."""

from __future__ import annotations

from typing import Any

import pytest

from ferryml.evaluation.evaluate import GateReport, best_passing, rank
from ferryml.evaluation.gates.base import GateResult


def report(label: str, value: float, status: str, metric: str = "pr_auc") -> GateReport:
    candidate: Any = type("C", (), {"label": label})()
    result = GateResult("quality", status)  # type: ignore[arg-type]
    return GateReport(candidate, None, [result], {metric: value}, {}, metric)


def test_the_best_passing_candidate_wins_even_over_a_better_failing_one() -> None:
    reports = [
        report("strong but unfair", 0.9, "failed"),
        report("good", 0.7, "passed"),
        report("better", 0.8, "passed"),
        report("weak", 0.4, "failed"),
    ]
    assert [r.candidate.label for r in rank(reports)] == [
        "better",
        "good",
        "strong but unfair",
        "weak",
    ]
    best = best_passing(reports)
    assert best is not None and best.candidate.label == "better"


def test_costs_rank_lower_first_and_skipped_gates_do_not_block() -> None:
    reports = [
        report("pricey", 900.0, "passed", "expected_cost"),
        report("cheap", 300.0, "skipped", "expected_cost"),
    ]
    best = best_passing(reports)
    assert best is not None and best.candidate.label == "cheap"


@pytest.mark.parametrize("statuses", [["failed"], ["failed", "failed"], []])
def test_nothing_to_promote_when_nothing_passed(statuses: list[str]) -> None:
    assert best_passing([report(f"m{i}", 0.5, s) for i, s in enumerate(statuses)]) is None
