"""The closed loop after the first champion: serve, replay, monitor, retrain, shadow, canary,
promote (or roll back).

Everything here is the platform's own machinery driven the way an operator would drive it:
a real ``ferry serve`` answers the replayed traffic over HTTP; the monitor judges the
prediction log the server shipped; an alert that asks for retraining makes the retraining
job train, gate and enter a challenger; the routing goes to ``shadow`` and then ``canary``
through the admin API; the server's canary controller ramps the challenger under its
guardrails; and the challenger becomes champion only through :func:`promote`, which refuses
a model whose gates did not pass. Time is event time throughout: the replay moves the
server's clock (``serving.clock: event``) and this process's :class:`ManualClock`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import func, select

from ferryml.clock import ManualClock
from ferryml.errors import FerryError
from ferryml.quickstart.arrival import Arrival
from ferryml.serving.simulate import Labels, ReplayStats, replay
from ferryml.storage.db import transaction
from ferryml.storage.tables import predictions

if TYPE_CHECKING:
    from ferryml.features.graph import FeatureSet
    from ferryml.monitoring.alerts import Alert
    from ferryml.monitoring.retraining import Retraining
    from ferryml.pipeline import ProjectContext
    from ferryml.quickstart.server import Server

State = Literal["running", "done", "failed", "skipped"]
WEEK = timedelta(days=7)
SHADOW_DAYS = 3
MONITOR_WINDOWS = 2
"""Weekly windows each monitor run judges: the latest has no matured labels yet, the one
before has (labels come within ``training.label_maturity_days``, a week here)."""
SERVER_SETTINGS = (
    "serving.clock=event",
    "serving.follow_interval_ms=200",
    "serving.alias_poll_ms=500",
    "serving.prediction_log.ship_interval_ms=100",
)


class Board(Protocol):
    """Where the loop tells what it is doing (the CLI's live display; a list in tests)."""

    def stage(self, name: str, state: State, detail: str = "") -> None: ...

    def replaying(self, done: int, total: int) -> None: ...


@dataclass
class LoopResult:
    """What the loop did, stage by stage."""

    replayed: ReplayStats = field(default_factory=ReplayStats)
    monitor_reports: list[Path] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    retraining: Retraining | None = None
    retrained_at: datetime | None = None
    shadow: dict[str, Any] = field(default_factory=dict)
    canary: str = "not started"
    canary_reasons: list[str] = field(default_factory=list)
    promoted: str | None = None
    """The version the loop promoted to champion, if it did."""

    def add(self, stats: ReplayStats) -> None:
        total = self.replayed
        for name, value in vars(stats).items():
            if isinstance(value, int) and name != "labels_pending":
                setattr(total, name, getattr(total, name) + value)
        for status, count in stats.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + count
        total.labels_pending = stats.labels_pending


@dataclass
class Loop:
    """One run of the loop over ``[start, end)`` of event time."""

    context: ProjectContext
    clock: ManualClock
    arrival: Arrival
    feature_set: FeatureSet
    board: Board
    start: datetime
    end: datetime
    batch: int = 25
    result: LoopResult = field(default_factory=LoopResult)
    promote_challenger: Callable[[str], str] | None = None
    """Given the challenger's run id, meets the policy and promotes it; returns the version."""

    def run(self, server: Server) -> LoopResult:
        import httpx2 as httpx

        schema = self.context.loaded.config.schema_
        (label,) = schema.columns_with_role("label")
        (label_time,) = schema.columns_with_role("label_time")
        (id_field,) = schema.columns_with_role("id")
        self._labels = Labels(label, label_time, id_field)
        self._server = server
        with httpx.Client(base_url=server.url, timeout=60) as client:
            self._client = client
            now = self.start
            while now < self.end:
                now = self._next(now)
        self._wait_shipped()
        return self.result

    # -- the phases ----------------------------------------------------------------------

    def _next(self, now: datetime) -> datetime:
        """Replay the next leg of the story from ``now``; returns where it ended."""
        result = self.result
        if result.retraining is None or result.retraining.challenger is None:
            end = self._replay(now, now + WEEK, "replay")
            self._monitor(end)
            return end
        if result.canary == "not started":
            if not result.shadow:
                return self._shadow(now)
            self._server.admin("/admin/routing", self._routing("canary", weight=self._first_step()))
            result.canary = "ramping"
            self.board.stage("canary", "running", f"from {self._first_step():.0%} of customers")
        if result.canary == "ramping":
            end = self._replay(now, now + timedelta(days=1), "canary")
            self._judge_canary(end)
            return end
        # the story's retraining is done (promoted or rolled back): the monitor goes on
        # judging the champion every week, and its alerts are reported, not acted on
        end = self._replay(now, now + WEEK, "replay")
        self._monitor(end, retrain=False)
        return end

    def _replay(self, start: datetime, end: datetime, stage: str) -> datetime:
        end = min(end, self.end)
        events = self.arrival.events(self.feature_set, start, end)
        fields = [name for name in self._request_fields() if name in events.column_names]
        self.board.stage(stage, "running", f"{start:%Y-%m-%d} to {end:%Y-%m-%d}")
        total = events.num_rows
        stats = replay(
            self._client,
            events.to_pylist(),
            fields=fields,
            time_field=self.feature_set.event_time_column,
            id_field=self._labels.id_field,
            batch=self.batch,
            labels=self._labels,
            progress=lambda done: self.board.replaying(done, total),
        )
        if stats.failed or stats.refused:
            raise FerryError(
                f"the server failed {stats.failed} and refused {stats.refused} of "
                f"{stats.sent} replayed events ({stats.statuses})",
                hint=f"the server's log: {self._server.log}",
            )
        self.result.add(stats)
        self.clock.set(max(self.clock.now(), end))
        return end

    def _monitor(self, now: datetime, *, retrain: bool = True) -> None:
        from ferryml.monitoring.project import (
            deliver,
            last_windows,
            monitor_project,
            report_directory,
            report_stem,
        )
        from ferryml.monitoring.report import write_monitor_report

        self._wait_shipped()
        days = self.context.loaded.config.monitoring.windows.days
        start, end = last_windows(now, days, MONITOR_WINDOWS)
        start = max(start, self.start)
        if end - start < timedelta(days=days):
            return
        self.board.stage("monitor", "running", f"windows {start:%Y-%m-%d} to {end:%Y-%m-%d}")
        run = monitor_project(self.context, start=start, end=end, cutoff=now)
        html, _ = write_monitor_report(
            run.report,
            report_directory(self.context),
            self.context.workspace.project,
            report_stem(run.report),
            run.alerts,
        )
        self.result.monitor_reports.append(html)
        webhook = self.context.loaded.config.monitoring.alerts.webhook
        deliver(self.context.engine, self.context.workspace.project, webhook, run)
        known = {alert.key for alert in self.result.alerts}
        fresh = [alert for alert in run.alerts if alert.key not in known]
        self.result.alerts.extend(fresh)
        for alert in fresh:
            self.board.stage(
                "alert", "done", f"[{alert.severity}] {alert.rule} {alert.window['from'][:10]}"
            )
        self.board.stage("monitor", "done", f"{len(self.result.monitor_reports)} weekly runs, "
                         f"the latest on {now:%Y-%m-%d}")  # fmt: skip
        if retrain and any(alert.retrain for alert in fresh):
            self._retrain(now, fresh)

    def _retrain(self, now: datetime, alerts: list[Alert]) -> None:
        from ferryml.monitoring.retraining import retrain_if_asked, retraining_held
        from ferryml.pipeline import build_feature_store, ingest_data

        asked = ", ".join(sorted({a.rule for a in alerts if a.retrain}))
        held = retraining_held(self.context, now)
        if held is not None:
            self.board.stage("retrain", "skipped", f"asked by {asked} on {now:%Y-%m-%d}: {held}")
            return
        self.board.stage("retrain", "running", f"asked by {asked}: the new days arrive")
        self.arrival.land(now)
        ingested = ingest_data(self.context, None, as_of=now)
        self.board.stage("retrain", "running", "features as of the alert")
        build_feature_store(self.context, ingested.version.ref, as_of=now)

        def progress(step: str) -> None:
            self.board.stage("retrain", "running", step)

        done = retrain_if_asked(self.context, alerts, now=now, progress=progress)
        self.result.retraining = done
        self.result.retrained_at = now
        if done is None or done.challenger is None:
            why = "no candidate passed the gates" if done and not done.skipped else "skipped"
            detail = done.skipped if done is not None and done.skipped else why
            self.board.stage("retrain", "failed", detail or why)
            return
        self.board.stage(
            "retrain", "done", f"version {done.challenger} entered as challenger (gates passed)"
        )

    def _shadow(self, now: datetime) -> datetime:
        self._server.admin("/admin/routing", self._routing("shadow"))
        self.board.stage("shadow", "running", "starting the challenger's shadow process")
        self._wait_for_shadow()
        self.board.stage("shadow", "running", "the challenger scores every request off the path")
        end = self._replay(now, now + timedelta(days=SHADOW_DAYS), "shadow")
        self._wait_shipped()
        summary = shadow_summary(self.context, since=now)
        self.result.shadow = summary
        self.board.stage(
            "shadow",
            "done",
            f"{summary['compared']:,} compared, {summary['agreement']:.1%} same decision, "
            f"mean |score change| {summary['mean_abs_delta']:.4f}",
        )
        return end

    def _wait_for_shadow(self, timeout_s: float = 180.0) -> None:
        """Until the server's shadow process has loaded the challenger (``/v1/models``): a
        request sent before it is ready is not shadowed, and a replay is quick."""
        deadline = time.monotonic() + timeout_s
        while True:
            shadow = self._client.get("/v1/models").json().get("shadow") or {}
            if shadow.get("ready"):
                return
            if time.monotonic() > deadline:
                raise FerryError(
                    f"the shadow process was not ready within {timeout_s:.0f} s ({shadow})",
                    hint=f"the server's log: {self._server.log}",
                )
            time.sleep(0.25)

    def _judge_canary(self, now: datetime) -> None:
        from ferryml.serving.canary import CANARY, ROUTING
        from ferryml.serving.state import SharedState

        self._wait_shipped()
        state = SharedState(self.context.engine, self.context.workspace.project)
        deadline = time.monotonic() + 3.0  # a tick or two of the server's follower
        while True:
            _, routing = state.read(ROUTING)
            _, step = state.read(CANARY)
            status = (step or {}).get("status")
            if status in ("complete", "rolled back") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        weight = float((routing or {}).get("weight", 0.0))
        if status == "rolled back":
            self.result.canary = "rolled back"
            self.result.canary_reasons = list(step.get("reasons", []))
            reasons = "; ".join(self.result.canary_reasons)
            self.board.stage("canary", "failed", f"rolled back: {reasons}")
            self.board.stage("promote", "skipped", "the champion stays")
            return
        if status != "complete":
            self.board.stage("canary", "running", f"at {weight:.0%} on {now:%Y-%m-%d}")
            return
        self.result.canary = "complete"
        self.board.stage("canary", "done", f"held at every step up to {weight:.0%}")
        self._promote()

    def _promote(self) -> None:
        retraining = self.result.retraining
        assert retraining is not None and retraining.challenger is not None
        if self.promote_challenger is None:
            self.board.stage("promote", "skipped", "no one to promote it")
            return
        run_id = self._run_of(retraining.challenger)
        self.board.stage("promote", "running", f"version {retraining.challenger}")
        self.result.promoted = self.promote_challenger(run_id)
        self._server.admin("/admin/routing", {"strategy": "single"})
        self.board.stage("promote", "done", f"version {self.result.promoted} is champion")

    # -- helpers -------------------------------------------------------------------------

    def _routing(self, strategy: str, weight: float = 0.0) -> dict[str, Any]:
        entities = self.context.loaded.config.features.entities
        key = next(iter(entities.values())).key if entities else None  # the first: sticky
        body: dict[str, Any] = {"strategy": strategy, "challenger": "challenger"}
        if strategy == "canary":
            body.update(weight=weight, key=key)
        return body

    def _first_step(self) -> float:
        return float(self.context.loaded.config.serving.canary.steps[0])

    def _request_fields(self) -> list[str]:
        from ferryml.serving.request import RequestFields

        schema = self.context.loaded.config.schema_
        return RequestFields.of(schema, self.feature_set.event_columns).names

    def _run_of(self, version: str) -> str:
        from ferryml.registry import ModelRegistry
        from ferryml.training.project import tracker_for

        loaded = self.context.loaded
        registry = ModelRegistry(
            tracker_for(loaded, self.context.workspace.root), loaded.config.project.name
        )
        run_id = registry.get(version).run_id
        if run_id is None:
            raise FerryError(f"version {version} has no training run to promote from")
        return run_id

    def _wait_shipped(self, timeout_s: float = 60.0) -> None:
        """Until the platform DB holds every answer the server gave (it ships its log)."""
        wanted = self.result.replayed.answered
        query = select(func.count()).where(
            predictions.c.project == self.context.workspace.project,
            predictions.c.arm.in_(("champion", "challenger")),
        )
        deadline = time.monotonic() + timeout_s
        while True:
            with transaction(self.context.engine, purpose="count shipped answers") as conn:
                shipped = int(conn.execute(query).scalar_one())
            if shipped >= wanted:
                return
            if time.monotonic() > deadline:
                raise FerryError(
                    f"the server shipped {shipped:,} of {wanted:,} answers in {timeout_s:.0f} s",
                    hint=f"the server's log: {self._server.log}",
                )
            time.sleep(0.1)


def shadow_summary(context: ProjectContext, *, since: datetime) -> dict[str, Any]:
    """The shadow's comparisons with the champion since ``since`` (event time)."""
    query = select(predictions.c.record).where(
        predictions.c.project == context.workspace.project,
        predictions.c.arm == "shadow",
        predictions.c.status == 200,
        predictions.c.event_time >= since,
    )
    with transaction(context.engine, purpose="read the shadow's comparisons") as conn:
        records = [json.loads(row.record) for row in conn.execute(query)]
    compared = [r for r in records if "agree" in r]
    return {
        "compared": len(compared),
        "agreement": sum(bool(r["agree"]) for r in compared) / len(compared) if compared else 0.0,
        "mean_abs_delta": (
            sum(abs(float(r["score_delta"])) for r in compared) / len(compared) if compared else 0.0
        ),
    }


__all__ = ["SERVER_SETTINGS", "Board", "Loop", "LoopResult", "shadow_summary"]
