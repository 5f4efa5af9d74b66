"""The canary ramp: more traffic to the challenger while it behaves, none the moment it does not.

A canary routing (:mod:`ferryml.serving.routing`, ``strategy: canary``) starts at its weight;
each step lasts at least ``dwell_seconds`` and needs ``min_requests`` answers from each arm
before it is judged. The guardrails compare the arms on what the prediction log holds since
the step began (pooled across workers: it is the database, not one worker's memory):

- the challenger's failure rate (its exceptions, answered by the champion);
- its p99 latency against the champion's;
- the shift of its scores against the champion's, as PSI (:mod:`ferryml.monitoring.stats.psi`,
  the champion's scores as the reference);
- the difference in approval rate.

A breach rolls the routing back to ``single`` at once; a step that held advances the weight
to the next one; the last step holds, its state marked ``complete`` once it has held for its
dwell (promotion stays a decision: ``ferry promote``). Every worker runs the same tick; each
write is a compare-and-set on a revision, so a step is taken once however many workers
decide it at the same moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
from sqlalchemy import Engine, select

from ferryml.monitoring.stats.psi import psi
from ferryml.serving.config import CanaryConfig
from ferryml.serving.routing import CHALLENGER, CHAMPION, Routing
from ferryml.serving.state import SharedState
from ferryml.storage.db import transaction
from ferryml.storage.tables import predictions

if TYPE_CHECKING:
    from ferryml.governance.audit import AuditTrail

ROUTING = "routing"
CANARY = "canary"


@dataclass
class ArmStats:
    """What one arm did since the step began."""

    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    approvals: int = 0

    @property
    def p99_ms(self) -> float:
        return float(np.percentile(self.latencies_ms, 99)) if self.latencies_ms else 0.0

    @property
    def approval_rate(self) -> float:
        answered = len(self.scores)
        return self.approvals / answered if answered else 0.0


def breaches(
    champion: ArmStats, challenger: ArmStats, config: CanaryConfig, *, compare: bool = True
) -> list[str]:
    """The guardrails the challenger breaks, in words (empty: it behaves); ``compare=False``
    judges only what needs no champion answers (the error rate)."""
    out = []
    attempts = challenger.requests + challenger.errors
    if attempts and challenger.errors / attempts > config.max_error_rate:
        out.append(f"error rate {challenger.errors / attempts:.1%} > {config.max_error_rate:.1%}")
    if not compare:
        return out
    if champion.latencies_ms and challenger.latencies_ms:
        ratio = challenger.p99_ms / max(champion.p99_ms, 1e-6)
        if ratio > config.max_p99_ratio:
            out.append(f"p99 {challenger.p99_ms:.2f} ms is {ratio:.1f}x the champion's")
    if len(champion.scores) >= 10 and len(challenger.scores) >= 10:
        shift = psi(champion.scores, challenger.scores)
        if shift > config.max_psi:
            out.append(f"score PSI {shift:.3f} > {config.max_psi}")
    delta = abs(challenger.approval_rate - champion.approval_rate)
    if challenger.scores and champion.scores and delta > config.max_approval_delta:
        out.append(f"approval rate differs by {delta:.1%} > {config.max_approval_delta:.1%}")
    return out


Action = Literal["hold", "advance", "rollback", "complete"]


@dataclass(frozen=True)
class Decision:
    action: Action
    weight: float
    reasons: list[str]


class CanaryController:
    """One tick of the ramp, safe to run in every worker."""

    def __init__(
        self,
        engine: Engine,
        project: str,
        config: CanaryConfig,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        audit: AuditTrail | None = None,
    ) -> None:
        self.engine = engine
        self.project = project
        self.config = config
        self.state = SharedState(engine, project)
        self.now = now
        self.audit = audit
        """Where a rollback or a step forward is recorded (by the one worker that made it)."""

    def tick(self, *, actor: str = "canary") -> Decision | None:
        """Judge the current step and act on it; None when no canary is running."""
        revision, value = self.state.read(ROUTING)
        if not value or value.get("strategy") != "canary":
            return None
        routing = Routing.model_validate(value)
        step_revision, step = self.state.read(CANARY)
        if not step or step.get("routing_revision") != revision:
            # a new canary (or one an admin changed): its step starts now
            self._start_step(routing, revision, actor)
            return Decision("hold", routing.weight, ["step started"])
        started = datetime.fromisoformat(step["started"])
        champion, challenger = self.stats(since=started)
        if challenger.requests + challenger.errors < self.config.min_requests:
            # a few answers prove nothing either way: a PSI or an approval rate of ten
            # answers is noise, and rolling back on noise is as wrong as ramping on it
            return Decision("hold", routing.weight, [])
        # at 100 % the champion answers nobody: the challenger's own error rate still counts
        compare = champion.requests >= self.config.min_requests
        if not compare and routing.weight < 1.0:
            return Decision("hold", routing.weight, [])
        reasons = breaches(champion, challenger, self.config, compare=compare)
        if reasons:
            single = Routing(strategy="single").model_dump()
            if self.state.write_if(ROUTING, single, revision, actor=actor):
                self.state.write(
                    CANARY, {**step, "status": "rolled back", "reasons": reasons}, actor=actor
                )
                self._record(actor, "serving.canary.rollback", routing, reasons)
            return Decision("rollback", 0.0, reasons)
        if (self.now() - started).total_seconds() < self.config.dwell_seconds:
            return Decision("hold", routing.weight, [])
        higher = [s for s in self.config.steps if s > routing.weight]
        if not higher:
            done = {**step, "status": "complete"}  # said once, for whoever waits on it
            if step.get("status") != "complete" and self.state.write_if(
                CANARY, done, step_revision, actor=actor
            ):
                self._record(actor, "serving.canary.complete", routing, [])
            return Decision("complete", routing.weight, ["the last step held"])
        moved = routing.model_copy(update={"weight": higher[0]})
        new_revision = self.state.write_if(ROUTING, moved.model_dump(), revision, actor=actor)
        if new_revision:
            self._start_step(moved, new_revision, actor)
            self._record(actor, "serving.canary.advance", moved, [])
        return Decision("advance", higher[0], [])

    def _record(self, actor: str, action: str, routing: Routing, reasons: list[str]) -> None:
        if self.audit is not None:
            details = {"weight": routing.weight, "reasons": reasons}
            self.audit.append(actor, action, routing.challenger or "challenger", details)

    def _start_step(self, routing: Routing, revision: int, actor: str) -> None:
        self.state.write(
            CANARY,
            {
                "routing_revision": revision,
                "weight": routing.weight,
                "started": self.now().isoformat(),
                "status": "ramping",
            },
            actor=actor,
        )

    def stats(self, *, since: datetime) -> tuple[ArmStats, ArmStats]:
        """Each arm's answers in the prediction log since ``since``."""
        arms = {CHAMPION: ArmStats(), CHALLENGER: ArmStats()}
        query = select(
            predictions.c.arm,
            predictions.c.latency_ms,
            predictions.c.score,
            predictions.c.decision,
            predictions.c.record,
        ).where(
            predictions.c.project == self.project,
            predictions.c.ts >= since,
            predictions.c.status == 200,
        )
        with transaction(self.engine, purpose="read the canary's answers") as conn:
            rows = conn.execute(query).all()
        for row in rows:
            stats = arms.get(row.arm or "")
            if stats is None:
                continue
            if row.arm == CHAMPION and "challenger_error" in row.record:
                arms[CHALLENGER].errors += 1  # the challenger failed; the champion answered
            stats.requests += 1
            stats.latencies_ms.append(float(row.latency_ms))
            if row.score is not None:
                stats.scores.append(float(row.score))
                stats.approvals += row.decision == "approve"
        return arms[CHAMPION], arms[CHALLENGER]


__all__ = ["ArmStats", "CanaryController", "Decision", "breaches"]
