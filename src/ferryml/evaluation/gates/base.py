"""What every gate takes and gives: a candidate (and perhaps the champion), the held-out rows,
and back a result made of checks, each with its value, its limit and its verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryml.evaluation.data import HeldOut
from ferryml.training.trainers import TrainedModel

Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Economics:
    """What the training section says errors cost and which operating point to report."""

    fp_cost: float
    currency: str
    fixed_fpr: float
    primary_metric: str


@dataclass
class Contender:
    """A model under judgement: where it comes from, how it scores, where it blocks."""

    label: str
    """How reports name it, e.g. ``lightgbm (run 1a2b3c)`` or ``champion v3``."""
    model: TrainedModel
    threshold: float
    size_bytes: int
    run_id: str | None = None
    version: str | None = None
    features: pd.DataFrame | None = None
    """Its own features of the held-out rows, when they differ from the candidate's (a
    champion built with other fitted encodings); None: the held-out rows' features."""
    _scores: npt.NDArray[np.float64] | None = field(default=None, repr=False)

    def frame(self, data: HeldOut) -> pd.DataFrame:
        """The held-out rows as this model sees them."""
        return data.x if self.features is None else self.features

    def scores(self, data: HeldOut) -> npt.NDArray[np.float64]:
        """Its scores on the held-out rows (computed once: every gate uses the same)."""
        if self._scores is None:
            self._scores = self.model.predict(self.frame(data))
        return self._scores


@dataclass(frozen=True)
class Check:
    """One judged (or only reported, ``passed=None``) number."""

    name: str
    value: float | None
    limit: str
    passed: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "limit": self.limit,
            "passed": self.passed,
            "note": self.note,
        }


@dataclass
class GateResult:
    """One gate's verdict, its checks, the details its report shows, and its figures (PNG)."""

    gate: str
    status: Status
    checks: list[Check] = field(default_factory=list)
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status != "failed"

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.passed is False]

    def as_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "status": self.status,
            "summary": self.summary,
            "checks": [check.as_dict() for check in self.checks],
            "details": self.details,
        }


def verdict(gate: str, checks: list[Check], summary: str = "", **extra: Any) -> GateResult:
    """A result that fails when any judged check failed."""
    failed = any(check.passed is False for check in checks)
    return GateResult(gate, "failed" if failed else "passed", checks, summary, **extra)


def skipped(gate: str, reason: str) -> GateResult:
    return GateResult(gate, "skipped", [], reason)


def bounded(
    name: str, value: float, low: float | None, high: float | None, note: str = ""
) -> Check:
    """A check that ``value`` lies within ``[low, high]`` (either may be open)."""
    parts = []
    if low is not None:
        parts.append(f">= {low:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    ok = (
        bool(np.isfinite(value))
        and (low is None or value >= low)
        and (high is None or value <= high)
    )
    return Check(name, float(value), " and ".join(parts), ok, note)


__all__ = [
    "Check",
    "Contender",
    "Economics",
    "GateResult",
    "Status",
    "bounded",
    "skipped",
    "verdict",
]
