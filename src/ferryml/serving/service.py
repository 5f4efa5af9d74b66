"""The scoring service of one worker process: the deployment, the request fields, the
prediction log and its shipper, and what each endpoint does, apart from HTTP.

Every scoring request, refused ones included, leaves one record in the prediction log before
its answer is returned (:mod:`ferryml.serving.predlog`).
"""

from __future__ import annotations

import gc
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from ferryml.clock import EventClock
from ferryml.errors import FerryError, InvalidInputError
from ferryml.serving import metrics
from ferryml.serving.canary import CanaryController
from ferryml.serving.config import ServingConfig
from ferryml.serving.deployment import Deployment, Scored, deployment_loader, load_version
from ferryml.serving.follower import PIN, Follower
from ferryml.serving.predlog import PredictionLog, Shipper, iso_time
from ferryml.serving.request import FIRST_YEAR, LAST_YEAR, RequestError, RequestFields
from ferryml.serving.routing import CHALLENGER, CHAMPION, Routing
from ferryml.serving.shadow import ShadowProcess
from ferryml.serving.state import SharedState
from ferryml.storage.db import insert_new, transaction
from ferryml.storage.tables import labels

logger = logging.getLogger(__name__)

EXPLAINED_VERSIONS = 4
"""Versions kept loaded to explain past decisions of models no longer served."""

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext
    from ferryml.registry import ModelRegistry


@dataclass(frozen=True)
class Answer:
    """An HTTP status and a JSON-able body."""

    status: int
    body: dict[str, Any]


class ScoringService:
    """Everything one worker needs to answer requests."""

    def __init__(
        self,
        context: ProjectContext,
        deployment: Deployment,
        engine: Engine,
        *,
        config: ServingConfig,
        load: Callable[[str], Deployment] | None = None,
        registry: ModelRegistry | None = None,
    ) -> None:
        self.context = context
        self.deployment = deployment
        self.engine = engine
        self.config = config
        schema = context.loaded.config.schema_
        self.fields = RequestFields.of(schema, deployment.feature_set.event_columns)
        label_columns = schema.columns_with_role("label")
        self.project = context.workspace.project
        self.has_labels = bool(label_columns)
        settings = config.prediction_log
        directory = context.workspace.root / settings.directory
        self.log = PredictionLog(directory, fsync_interval=settings.fsync_interval_ms / 1000)
        self.shipper = Shipper(
            directory,
            engine,
            self.project,
            interval=settings.ship_interval_ms / 1000,
            batch_rows=settings.batch_rows,
            keep=self.log.path,
        )
        self.sampler = metrics.ProcessSampler()
        self.canary = CanaryController(
            engine, self.project, config.canary, now=context.clock.now, audit=context.audit
        )
        self.routed: tuple[Routing, Deployment | None] = (Routing(), None)
        """The routing and the challenger's deployment, swapped together."""
        self.shadow: ShadowProcess | None = None
        """The challenger's shadow process, while the routing is ``shadow``."""
        self._starts = 0
        self._load = load
        clock = context.clock
        self._observe = clock.observe if isinstance(clock, EventClock) else None
        """``serving.clock: event``: each scored event moves the service's clock."""
        self._explained: dict[str, Deployment] = {}
        """Versions loaded to explain past decisions (neither served nor challenging)."""
        self.follower: Follower | None = None
        if load is not None and registry is not None:
            self.follower = Follower(
                lambda: self.deployment,
                self._swap,
                load,
                registry,
                SharedState(engine, self.project),
                alias=config.model_alias,
                follow_interval=config.follow_interval_ms / 1000,
                alias_poll=config.alias_poll_ms / 1000,
                routed=(lambda: self.routed, self._route_to),
                default_routing=config.routing,
                after_tick=self.canary.tick,
                shadow=self._shadow_to,
            )

    def _route_to(self, routed: tuple[Routing, Deployment | None]) -> None:
        self.routed = routed

    def _shadow_to(self, version: str | None) -> None:
        """Run a shadow process for ``version`` (None: none)."""
        current = self.shadow
        if current is not None and current.version == version:
            return
        if current is not None:
            self.shadow = None
            current.stop()
        if version is not None:
            loaded, root = self.context.loaded, self.context.workspace.root
            load = partial(load_version, loaded, root, self.config, version)
            self.shadow = self.start_shadow(load, version)

    def start_shadow(self, load: Callable[[], Deployment], version: str) -> ShadowProcess:
        """Start a shadow process scoring with what ``load`` returns (picklable)."""
        settings = self.config.prediction_log
        shadow = ShadowProcess(
            load,
            version=version,
            directory=self.context.workspace.root / settings.directory,
            config=self.config.shadow,
            log=self.log,
            fsync_interval=settings.fsync_interval_ms / 1000,
        )
        shadow.start()
        return shadow

    def _swap(self, fresh: Deployment) -> None:
        schema = self.context.loaded.config.schema_
        self.fields = RequestFields.of(schema, fresh.feature_set.event_columns)
        previous, self.deployment = self.deployment, fresh
        self._record("serving.reload", fresh, {"from": previous.version})

    def _record(self, action: str, deployment: Deployment, details: dict[str, Any]) -> None:
        """Put what this worker now serves on the audit trail. The model already serves:
        a database that does not answer is logged, not raised into the follower."""
        try:
            self.context.audit.append(
                f"serving@{os.getpid()}",
                action,
                f"{deployment.name}/{deployment.version}",
                {**details, "alias": deployment.alias, "worker_pid": os.getpid()},
            )
        except FerryError as exc:
            logger.error("%s of version %s not audited: %s", action, deployment.version, exc)

    @classmethod
    def open(cls, context: ProjectContext, config: ServingConfig | None = None) -> ScoringService:
        """Load the served alias of the project's registry with its feature path."""
        config = config or context.loaded.config.serving
        registry, load = deployment_loader(context.loaded, context.workspace.root, config)
        engine = context.engine
        pinned = SharedState(engine, context.workspace.project).read(PIN)[1]
        first = pinned.get("version") if isinstance(pinned, dict) else None
        deployment = load(first or config.model_alias)
        return cls(context, deployment, engine, config=config, load=load, registry=registry)

    def start(self) -> None:
        """Warm the deployment up, start shipping the prediction log and sampling the
        process's resources. Counted: an app started twice around one service (two ASGI
        lifespans) starts it once, and the last :meth:`stop` stops it."""
        self._starts += 1
        if self._starts > 1:
            return
        self.deployment.warm_up()
        # Everything loaded so far (MLflow, Feast, pandas, the model) lives as long as the
        # process: frozen, the collector stops walking it, which took tens of milliseconds
        # out of some requests (the tail of the latency distribution).
        gc.collect()
        gc.freeze()
        self.shipper.start()
        self.sampler.start()
        self._record("serving.deploy", self.deployment, {})
        if self.follower is not None:
            self.follower.follow_once()  # the configured routing before the first request
            self.follower.start()

    def stop(self) -> None:
        self._starts -= 1
        if self._starts > 0:
            return
        if self.follower is not None:
            self.follower.stop()
        self._shadow_to(None)
        self.sampler.stop()
        self.shipper.stop()
        self.log.close()

    # -- scoring -----------------------------------------------------------------------

    def score(self, body: Any) -> Answer:
        """One transaction → its answer (200) or field-level errors (422); logged either way."""
        start = time.perf_counter_ns()
        request_id = uuid.uuid4().hex
        try:
            event = self._event(body)
        except RequestError as error:
            answer = Answer(422, {"request_id": request_id, "detail": error.details})
            self._log_refused(request_id, body, answer, start)
            return answer
        return Answer(200, self._score_event(request_id, event, start, "score"))

    def _route(self, event: dict[str, Any]) -> tuple[str, Deployment]:
        """The arm of this request and the deployment that answers it."""
        routing, challenger = self.routed
        arm = routing.arm(event)
        if arm == CHALLENGER and challenger is not None:
            return CHALLENGER, challenger
        return CHAMPION, self.deployment

    def _score_event(
        self, request_id: str, event: dict[str, Any], start: int, endpoint: str
    ) -> dict[str, Any]:
        if self._observe is not None:
            when = event.get(self.fields.time_field)
            if isinstance(when, datetime):
                self._observe(when)
        arm, deployment = self._route(event)
        failure = None
        try:
            scored = deployment.score(event)
        except Exception as exc:  # a challenger may fail; the request may not
            if arm == CHAMPION:
                raise
            failure = f"{type(exc).__name__}: {exc}"[:500]
            metrics.CHALLENGER_ERRORS.labels(deployment.version).inc()
            logger.warning(
                "challenger v%s failed (%s); the champion answers", deployment.version, failure
            )
            arm, deployment = CHAMPION, self.deployment
            scored = deployment.score(event)
        response = self._response(request_id, scored, start, arm, deployment)
        self._log_scored(request_id, event, scored, Answer(200, response), failure)
        shadow = self.shadow
        if shadow is not None:
            ids = (event.get(self.fields.id_field), iso_time(event.get(self.fields.time_field)))
            shadow.submit(request_id, event, ids, scored, deployment)
        total_ms = response["latency_ms"]["total"]
        metrics.REQUESTS.labels(endpoint, "200", arm, deployment.version).inc()
        metrics.LATENCY.labels(arm, deployment.version).observe(total_ms / 1000)
        metrics.FEATURE_LATENCY.observe(scored.features_ms / 1000)
        if scored.degraded:
            metrics.DEGRADED.inc()
        return response

    def score_batch(self, body: Any) -> Answer:
        """Several transactions, all valid or none scored (422 lists every bad field)."""
        start = time.perf_counter_ns()
        request_id = uuid.uuid4().hex
        items = body.get("transactions") if isinstance(body, dict) else None
        problem = None
        if not isinstance(items, list) or not items:
            problem = "a non-empty list `transactions` is expected"
        elif len(items) > self.config.max_batch:
            problem = f"at most {self.config.max_batch} transactions per call (serving.max_batch)"
        if problem is not None:
            detail = [{"loc": ["body", "transactions"], "type": "value_error", "msg": problem}]
            answer = Answer(422, {"request_id": request_id, "detail": detail})
            self._log_refused(request_id, None, answer, start)
            return answer
        assert isinstance(items, list)
        events, details = [], []
        for index, item in enumerate(items):
            try:
                events.append(self._event(item, ("body", "transactions", index)))
            except RequestError as error:
                details.extend(error.details)
        if details:
            answer = Answer(422, {"request_id": request_id, "detail": details})
            self._log_refused(request_id, None, answer, start)
            return answer
        results = []
        for index, event in enumerate(events):
            item_id = f"{request_id}-{index}"
            start = time.perf_counter_ns()
            results.append(self._score_event(item_id, event, start, "score_batch"))
        return Answer(200, {"request_id": request_id, "results": results})

    def _event(self, body: Any, where: Sequence[str | int] = ("body",)) -> dict[str, Any]:
        event = self.fields.parse(body, where)
        if event[self.fields.time_field] is None:
            event[self.fields.time_field] = self.context.clock.now()
        return event

    def _response(
        self, request_id: str, scored: Scored, start: int, arm: str, deployment: Deployment
    ) -> dict[str, Any]:
        return {
            "request_id": request_id,
            "score": scored.score,
            "decision": scored.decision,
            "threshold": deployment.threshold,
            "model": deployment.info,
            "arm": arm,
            "reasons": [reason.as_dict() for reason in scored.reasons],
            "degraded": scored.degraded,
            "latency_ms": {
                "features": round(scored.features_ms, 3),
                "model": round(scored.model_ms, 3),
                "total": round((time.perf_counter_ns() - start) / 1e6, 3),
            },
        }

    def _log_scored(
        self,
        request_id: str,
        event: dict[str, Any],
        scored: Scored,
        answer: Answer,
        challenger_error: str | None = None,
    ) -> None:
        body = answer.body
        extra = {"challenger_error": challenger_error} if challenger_error else {}
        self.log.append(
            {
                **extra,
                "request_id": request_id,
                "ts": self.context.clock.now().isoformat(),
                "event_id": event.get(self.fields.id_field),
                "event_time": iso_time(event.get(self.fields.time_field)),
                "status": answer.status,
                "model": body["model"],
                "arm": body["arm"],
                "score": scored.score,
                "decision": scored.decision,
                "threshold": body["threshold"],
                "degraded": scored.degraded,
                "latency_ms": body["latency_ms"]["total"],
                "timings_ms": body["latency_ms"],
                "request": {k: iso_time(v) for k, v in event.items()},
                "features": scored.features,
                "reasons": body["reasons"],
            }
        )

    def _log_refused(self, request_id: str, body: Any, answer: Answer, start: int) -> None:
        metrics.REQUESTS.labels("score", str(answer.status), "", "").inc()
        event_id = body.get(self.fields.id_field) if isinstance(body, dict) else None
        self.log.append(
            {
                "request_id": request_id,
                "ts": self.context.clock.now().isoformat(),
                "event_id": event_id if isinstance(event_id, str) else None,
                "status": answer.status,
                "degraded": False,
                "latency_ms": (time.perf_counter_ns() - start) / 1e6,
                "error": answer.body.get("detail"),
            }
        )

    def invoke(self, body: bytes, content_type: str) -> Answer:
        """MLflow's scoring protocol: feature rows in, ``{"predictions": [...]}`` out."""
        from ferryml.serving.invocations import parse_invocation

        start = time.perf_counter_ns()
        request_id = uuid.uuid4().hex
        deployment = self.deployment
        try:
            rows = parse_invocation(body, content_type, deployment.model.features)
        except RequestError as error:
            answer = Answer(422, {"request_id": request_id, "detail": error.details})
            self._log_refused(request_id, None, answer, start)
            return answer
        scores = deployment.model.predict_array(rows)
        latency = (time.perf_counter_ns() - start) / 1e6
        self.log.append(
            {
                "request_id": request_id,
                "ts": self.context.clock.now().isoformat(),
                "status": 200,
                "model": deployment.info,
                "arm": "invocations",
                "degraded": False,
                "latency_ms": latency,
                "rows": len(rows),
                "scores": scores,
            }
        )
        metrics.REQUESTS.labels("invocations", "200", "champion", deployment.version).inc()
        return Answer(200, {"predictions": scores.tolist()})

    # -- labels --------------------------------------------------------------------------

    def record_labels(self, body: Any, *, source: str = "api") -> Answer:
        """Delayed outcomes by event id; idempotent: an event's first label stays."""
        if not self.has_labels:
            raise InvalidInputError("the schema declares no label column")
        items = body.get("labels") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            detail = [{"loc": ["body", "labels"], "type": "value_error", "msg": "a non-empty list"}]
            return Answer(422, {"detail": detail})
        extra = sorted(set(body) - {"labels"})
        if extra:
            detail = [
                {"loc": ["body", name], "type": "extra_forbidden", "msg": "unexpected field"}
                for name in extra
            ]
            return Answer(422, {"detail": detail})
        rows, details = [], []
        now = self.context.clock.now()
        for index, item in enumerate(items):
            row, problems = _label_row(item, index, now)
            details.extend(problems)
            if row is not None:
                rows.append({**row, "project": self.project, "received_at": now, "source": source})
        if details:
            return Answer(422, {"detail": details})
        new = insert_labels(self.engine, rows)
        return Answer(200, {"received": len(rows), "new": new})

    # -- explanations --------------------------------------------------------------------

    def explain(self, request_id: str, actor: str) -> Answer:
        """A past decision explained (:mod:`ferryml.serving.explanations`); the read of the
        log is on the audit trail (an explanation discloses a decision about a person)."""
        from ferryml.serving.explanations import explain_decision

        body = explain_decision(
            self.engine,
            self.project,
            request_id,
            self._deployment_of,
            limit=max(self.config.top_reasons, 1),
            ship_interval_ms=self.config.prediction_log.ship_interval_ms,
        )
        self.context.audit.append(
            actor,
            "decision.explain",
            f"request@{request_id}",
            {"model_version": body["model"]["version"], "decision": body["decision"]},
        )
        return Answer(200, body)

    def _deployment_of(self, version: str) -> Deployment:
        challenger = self.routed[1]
        for deployment in (self.deployment, challenger):
            if deployment is not None and deployment.version == version:
                return deployment
        cached = self._explained.get(version)
        if cached is None:
            if self._load is None:
                raise InvalidInputError(
                    f"version {version} is not served here and this service cannot load others",
                    hint="ask a service that follows the registry (`ferry serve`)",
                )
            if len(self._explained) >= EXPLAINED_VERSIONS:
                self._explained.pop(next(iter(self._explained)))
            cached = self._explained[version] = self._load(version)
        return cached

    # -- introspection -------------------------------------------------------------------

    def models(self) -> dict[str, Any]:
        routing, challenger = self.routed
        served = [(CHAMPION, self.deployment)]
        if challenger is not None:
            served.append((CHALLENGER, challenger))
        return {
            "models": [
                {
                    **deployment.info,
                    "kind": deployment.kind,
                    "threshold": deployment.threshold,
                    "feature_set": deployment.feature_set.version,
                    "features": len(deployment.model.features),
                    "arm": arm,
                }
                for arm, deployment in served
            ],
            "routing": routing.model_dump(),
            "shadow": self.shadow.status() if self.shadow else None,
            "pinned": self.follower.pinned if self.follower else None,
            "standby": self.follower.standby.version
            if self.follower and self.follower.standby
            else None,
            "previous": self.follower.previous if self.follower else None,
            "reload_error": self.follower.error if self.follower else None,
        }

    def ready(self) -> Answer:
        """200 when the model is loaded and the platform DB answers, else 503 with why."""
        try:
            with transaction(self.engine, purpose="readiness check") as conn:
                conn.execute(select(func.count()).select_from(labels).limit(1))
        except Exception as exc:  # any failure means not ready; the reason is the answer
            return Answer(503, {"status": "not ready", "reason": str(exc)[:500]})
        return Answer(200, {"status": "ready", "model": self.deployment.info})


def insert_labels(engine: Engine, rows: list[dict[str, Any]]) -> int:
    """Insert label rows, keeping the first label of each event; returns how many were new."""
    if not rows:
        return 0
    with transaction(engine, purpose="record labels") as conn:
        return insert_new(conn, labels, rows, keys=["project", "event_id"])


def _label_row(
    item: Any, index: int, now: datetime
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    loc = ["body", "labels", index]
    if not isinstance(item, dict):
        return None, [{"loc": loc, "type": "model_attributes_type", "msg": "an object"}]
    problems = []
    event_id = item.get("event_id")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 256:
        problems.append({"loc": [*loc, "event_id"], "type": "string_type", "msg": "an id"})
    label = item.get("label")
    if isinstance(label, bool) or not isinstance(label, int) or label not in (0, 1):
        problems.append({"loc": [*loc, "label"], "type": "int_type", "msg": "0 or 1"})
    when: datetime = now
    if item.get("label_time") is not None:
        try:
            when = datetime.fromisoformat(str(item["label_time"]))
            if when.tzinfo is None or not FIRST_YEAR <= when.year <= LAST_YEAR:
                raise ValueError("no time zone, or out of range")
        except ValueError:
            problems.append(
                {"loc": [*loc, "label_time"], "type": "datetime_type", "msg": "ISO 8601 with zone"}
            )
    extra = sorted(set(item) - {"event_id", "label", "label_time"})
    problems.extend(
        {"loc": [*loc, name], "type": "extra_forbidden", "msg": "unexpected field"}
        for name in extra
    )
    if problems:
        return None, problems
    return {"event_id": event_id, "label": 1 if label == 1 else 0, "label_time": when}, []


__all__ = ["Answer", "ScoringService", "insert_labels"]
