"""The HTTP face of the scoring service (FastAPI on uvicorn).

The hot path stays lean: each scoring endpoint reads the raw body once (size-checked), parses
it with orjson, checks it against the schema's fields in one pass
(:class:`~ferryml.serving.request.RequestFields`) and answers with orjson bytes; no pydantic
model or dependency injection runs per request. The OpenAPI document still describes every
body and answer (the request schema is generated from the project's schema).

    app = create_app(lambda: ScoringService.open(context))
    # uvicorn: ferry serve, or uvicorn --factory ferryml.serving.app:app_from_environment
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import FastAPI, Request
from fastapi import Path as PathParameter
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ferryml.errors import FerryError, InvalidInputError
from ferryml.serving.admin import AdminToken
from ferryml.serving.explanations import REQUEST_ID
from ferryml.serving.request import YEARS_PATTERN
from ferryml.serving.routing import Routing
from ferryml.serving.service import Answer, ScoringService
from ferryml.serving.ui import add_ui

if TYPE_CHECKING:
    from ferryml.config.loader import LoadedConfig

CONFIG_ENV = "FERRY_CONFIG"
SETS_ENV = "FERRY_SERVE_SET"
"""``--set`` overrides handed to worker processes, one per line."""

_ERRORS = {
    "type": "object",
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "type": {"type": "string"},
                    "msg": {"type": "string"},
                },
            },
        }
    },
}
_SCORE = {
    "type": "object",
    "properties": {
        "request_id": {"type": "string"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "decision": {"type": "string", "enum": ["approve", "block"]},
        "threshold": {"type": "number"},
        "model": {"type": "object"},
        "arm": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "object"}},
        "degraded": {"type": "boolean"},
        "latency_ms": {"type": "object"},
    },
    "required": ["request_id", "score", "decision", "threshold", "model", "arm", "degraded"],
}


_BATCH = {
    "type": "object",
    "properties": {"request_id": {"type": "string"}, "results": {"type": "array", "items": _SCORE}},
    "required": ["request_id", "results"],
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _respond(answer: Answer) -> Response:
    """A service answer, saying which worker process gave it (``x-ferry-worker``)."""
    response = _json(answer.status, answer.body)
    response.headers["x-ferry-worker"] = str(os.getpid())
    return response


async def _raw(request: Request, limit: int) -> bytes | Response:
    """The body's bytes, or the 413 answer when it exceeds ``limit`` (declared or sent)."""
    too_large = _json(413, {"detail": f"the body exceeds {limit} bytes (serving.max_body_bytes)"})
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _body(request: Request, limit: int) -> Any | Response:
    """The parsed JSON body, or the 413/422 answer that refuses it."""
    raw = await _raw(request, limit)
    if isinstance(raw, Response):
        return raw
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        detail = [{"loc": ["body"], "type": "json_invalid", "msg": f"invalid JSON: {exc}"}]
        return _json(422, {"detail": detail})


def create_app(open_service: Callable[[], ScoringService]) -> FastAPI:
    """The ASGI app; ``open_service`` loads the model when the app starts (in each worker)."""
    state: dict[str, ScoringService] = {}
    tokens: dict[str, AdminToken] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service = open_service()
        service.start()
        state["service"] = service
        tokens["admin"] = AdminToken.from_config(service.config, service.context.workspace.root)
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="ferryml scoring",
        description="Real-time scoring with online features, business threshold and reasons.",
        version="1",
        lifespan=lifespan,
    )

    def service() -> ScoringService:
        return state["service"]

    async def handle(
        request: Request, size_factor: int, work: Callable[[ScoringService, Any], Answer]
    ) -> Response:
        """Read and parse the body (``size_factor`` times the body limit), then ``work``."""
        current = service()
        body = await _body(request, current.config.max_body_bytes * size_factor)
        if isinstance(body, Response):
            return body
        return _respond(work(current, body))

    @app.exception_handler(FerryError)
    async def ferry_error(_: Request, exc: FerryError) -> Response:
        """ferryml's errors carry their HTTP status: the one place they become answers."""
        return _json(exc.http_status, {"detail": exc.message, "hint": exc.hint})

    def body_doc(schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        }

    responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {"application/json": {"schema": _SCORE}}},
        413: {"description": "Body larger than serving.max_body_bytes"},
        503: {"description": "A backing service (platform DB) does not answer"},
        422: {
            "description": "Invalid fields",
            "content": {"application/json": {"schema": _ERRORS}},
        },
    }

    @app.post("/v1/score", responses=responses, openapi_extra=body_doc({"type": "object"}))
    async def score(request: Request) -> Response:
        """Score one transaction: features, model, threshold, reasons."""
        return await handle(request, 1, lambda current, body: current.score(body))

    batch_schema = {
        "type": "object",
        "properties": {"transactions": {"type": "array", "minItems": 1}},
        "required": ["transactions"],
    }

    batch_responses = {**responses, 200: {"content": {"application/json": {"schema": _BATCH}}}}

    @app.post("/v1/score/batch", responses=batch_responses, openapi_extra=body_doc(batch_schema))
    async def score_batch(request: Request) -> Response:
        """Score several transactions (all valid, or none scored)."""
        return await handle(request, 16, lambda current, body: current.score_batch(body))

    invocation_schema = {
        "type": "object",
        "description": "One of dataframe_split {columns, data}, dataframe_records [{...}], "
        "instances, inputs; or text/csv with a header row. Columns are the model's features.",
        "properties": {
            key: {} for key in ("dataframe_split", "dataframe_records", "instances", "inputs")
        },
    }

    @app.post(
        "/invocations",
        responses={
            200: {"description": '{"predictions": [...]}'},
            413: responses[413],
            422: responses[422],
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": invocation_schema},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: existing MLflow clients work unchanged."""
        current = service()
        raw = await _raw(request, current.config.max_body_bytes * 16)
        if isinstance(raw, Response):
            return raw
        content_type = request.headers.get("content-type", "application/json")
        return _respond(current.invoke(raw, content_type))

    labels_schema = {
        "type": "object",
        "properties": {
            "labels": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "event_id": {"type": "string", "minLength": 1, "maxLength": 256},
                        "label": {"type": "integer", "enum": [0, 1]},
                        "label_time": {
                            "type": "string",
                            "format": "date-time",
                            "pattern": YEARS_PATTERN,
                        },
                    },
                    "required": ["event_id", "label"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["labels"],
        "additionalProperties": False,
    }

    @app.post(
        "/v1/labels",
        responses={413: responses[413], 422: responses[422], 503: responses[503]},
        openapi_extra=body_doc(labels_schema),
    )
    async def post_labels(request: Request) -> Response:
        """Delayed outcomes (chargebacks) by event id; sending one twice changes nothing."""
        return await handle(request, 16, lambda current, body: current.record_labels(body))

    admin_responses: dict[int | str, dict[str, Any]] = {
        401: {"description": "Missing or wrong bearer token"},
        403: {"description": "No admin token configured: the admin endpoints are off"},
        400: {"description": "A version or routing that cannot be applied, with the reason"},
        404: {"description": "The version or alias named does not exist"},
        409: {
            "description": "Not now: the current state does not allow it (a switch without a "
            "blue_green routing, a rollback with nothing before), or this service does not "
            "follow the registry"
        },
        422: responses[422],
        503: responses[503],
    }
    admin_doc: dict[str, Any] = {"security": [{"bearer": []}]}

    def unauthorized(request: Request) -> Response | None:
        """The answer to a request without the right admin token, or None."""
        refusal = tokens["admin"].refusal(request.headers.get("authorization"))
        if refusal is None:
            return None
        headers = {"www-authenticate": "Bearer"} if refusal.status == 401 else {}
        return _json(refusal.status, {"detail": refusal.message}, headers)

    async def admin(request: Request, act: Callable[[ScoringService, Any, str], Any]) -> Response:
        """Check the bearer token, read the body, ``act``, and put it on the audit trail."""
        current = service()
        refused = unauthorized(request)
        if refused is not None:
            return refused
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            return _json(
                422, {"detail": [{"loc": ["body"], "type": "json_invalid", "msg": str(exc)}]}
            )
        if not isinstance(body, dict):
            return _json(
                422,
                {
                    "detail": [
                        {"loc": ["body"], "type": "model_attributes_type", "msg": "an object"}
                    ]
                },
            )
        if current.follower is None:
            return _json(409, {"detail": "this service does not follow the registry"})
        client = request.client.host if request.client else "unknown"
        return _json(202, act(current, body, f"admin@{client}"))

    def reload_act(current: ScoringService, body: Any, actor: str) -> dict[str, Any]:
        version = body.get("version")
        if version is not None and not isinstance(version, str | int):
            raise InvalidInputError('`version` is a registry version number, e.g. "3"')
        target = None if version is None else str(version)
        assert current.follower is not None
        revision = current.follower.pin(target, actor=actor)
        current.context.audit.append(
            actor, "serving.pin", target or "alias", {"revision": revision}
        )
        return {
            "pinned": target,
            "revision": revision,
            "follow_interval_ms": current.config.follow_interval_ms,
        }

    def rollback_act(current: ScoringService, body: Any, actor: str) -> dict[str, Any]:
        assert current.follower is not None
        target = current.follower.rollback(actor=actor)
        current.context.audit.append(
            actor, "serving.rollback", target, {"from": current.deployment.version}
        )
        return {"pinned": target, "follow_interval_ms": current.config.follow_interval_ms}

    def routing_act(current: ScoringService, body: Any, actor: str) -> dict[str, Any]:
        try:
            routing = Routing.model_validate(body)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid routing: {exc.errors(include_url=False)}") from exc
        if routing.key is not None and routing.key not in current.fields.names:
            raise InvalidInputError(
                f"routing key {routing.key!r} is not a request field",
                hint=f"use an entity field: {', '.join(current.fields.names)}",
            )
        assert current.follower is not None
        revision = current.follower.route(routing, actor=actor)
        current.context.audit.append(
            actor, "serving.routing", routing.strategy, routing.model_dump()
        )
        return {"routing": routing.model_dump(), "revision": revision}

    def switch_act(current: ScoringService, body: Any, actor: str) -> dict[str, Any]:
        assert current.follower is not None
        serving, standby = current.follower.switch(actor=actor)
        current.context.audit.append(
            actor, "serving.switch", serving, {"from": standby, "standby": standby}
        )
        return {
            "pinned": serving,
            "standby": standby,
            "follow_interval_ms": current.config.follow_interval_ms,
        }

    @app.post("/admin/switch", status_code=202, responses=admin_responses, openapi_extra=admin_doc)
    async def switch(request: Request) -> Response:
        """Blue/green: every worker serves the warm challenger at once, and keeps the version
        it replaces warm as the challenger (switch again to go back)."""
        return await admin(request, switch_act)

    @app.post("/admin/routing", status_code=202, responses=admin_responses, openapi_extra=admin_doc)
    async def set_routing(request: Request) -> Response:
        """Split traffic on every worker: `{"strategy": "ab", "challenger": "challenger",
        "weight": 0.5, "key": "customer_id"}`; `{"strategy": "single"}` ends it."""
        return await admin(request, routing_act)

    @app.post("/admin/reload", status_code=202, responses=admin_responses, openapi_extra=admin_doc)
    async def reload(request: Request) -> Response:
        """Serve `{"version": "N"}` on every worker, or `{}` to follow the alias again."""
        return await admin(request, reload_act)

    @app.post(
        "/admin/rollback", status_code=202, responses=admin_responses, openapi_extra=admin_doc
    )
    async def rollback(request: Request) -> Response:
        """Serve again, on every worker, the version served before the latest switch."""
        return await admin(request, rollback_act)

    @app.get(
        "/v1/explanations/{request_id}",
        responses={
            401: admin_responses[401],
            403: admin_responses[403],
            404: {"description": "No decision with this request id in the prediction log (yet)"},
            400: {"description": "A request that was refused, not decided: nothing to explain"},
            422: {"description": "A malformed request id"},
            503: responses[503],
        },
        openapi_extra=admin_doc,
    )
    async def explanation(
        request: Request, request_id: Annotated[str, PathParameter(pattern=REQUEST_ID.pattern)]
    ) -> Response:
        """Why a past decision was made, in plain words: the model version, the reasons for
        and against, and what would have changed it. Reads the prediction log: it takes the
        admin token, and each read is on the audit trail."""
        current = service()
        refused = unauthorized(request)
        if refused is not None:
            return refused
        client = request.client.host if request.client else "unknown"
        answer = await run_in_threadpool(current.explain, request_id, f"admin@{client}")
        return _respond(answer)

    @app.get("/health/live")
    async def live() -> Response:
        """The process answers."""
        return _json(200, {"status": "ok"})

    @app.get("/health/ready", responses={503: {"description": "Not ready, with the reason"}})
    async def ready() -> Response:
        """The model is loaded and the platform DB answers."""
        return _respond(service().ready())

    @app.get("/metrics", responses={200: {"content": {"text/plain": {}}}})
    async def metrics() -> Response:
        """Prometheus exposition of every worker's counters and histograms."""
        from ferryml.serving.metrics import render

        text, content_type = render()
        return Response(text, media_type=content_type)

    @app.get("/v1/models")
    async def models() -> Response:
        """What is served."""
        return _respond(Answer(200, service().models()))

    add_ui(app, service)

    # the generated request schemas replace the placeholders once the service is known
    original = app.openapi

    def openapi() -> dict[str, Any]:
        document = original()
        if "service" in state:
            fields = state["service"].fields.json_schema()
            paths = document["paths"]
            paths["/v1/score"]["post"]["requestBody"]["content"]["application/json"]["schema"] = (
                fields
            )
            batch = paths["/v1/score/batch"]["post"]["requestBody"]["content"]["application/json"]
            transactions = batch["schema"]["properties"]["transactions"]
            transactions["items"] = fields
            transactions["maxItems"] = state["service"].config.max_batch
            from ferryml.serving.invocations import invocation_schema

            model = state["service"].deployment.model
            invocations = paths["/invocations"]["post"]["requestBody"]["content"]
            invocations["application/json"]["schema"] = invocation_schema(model.features)
        schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["bearer"] = {"type": "http", "scheme": "bearer"}
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def config_from_environment() -> LoadedConfig:
    """The project config of ``$FERRY_CONFIG`` with the overrides of ``$FERRY_SERVE_SET``, as
    a scoring process started without a command line (a uvicorn worker, a function) sees it."""
    from ferryml.config.loader import load_config

    config = Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None
    sets = [line for line in os.environ.get(SETS_ENV, "").splitlines() if line]
    return load_config(config, overrides=sets)


def app_from_environment() -> FastAPI:
    """The app of the project in ``$FERRY_CONFIG`` (what each uvicorn worker imports)."""
    from ferryml.clock import EventClock, SystemClock
    from ferryml.pipeline import ProjectContext

    loaded = config_from_environment()

    def open_service() -> ScoringService:
        clock = EventClock() if loaded.config.serving.clock == "event" else SystemClock()
        return ScoringService.open(ProjectContext.open(loaded, clock, create=False))

    return create_app(open_service)


__all__ = [
    "CONFIG_ENV",
    "SETS_ENV",
    "app_from_environment",
    "config_from_environment",
    "create_app",
]
