"""The scoring app on AWS Lambda: the same ASGI app as ``ferry serve``, through Mangum.

Set the function's handler to ``ferryml.serving.lambda_adapter.handler`` and put API Gateway
(REST or HTTP API), a function URL or an ALB in front of it: every endpoint of ``ferry serve``
answers as it does there (``POST /v1/score``, ``GET /health/ready``, ``POST /invocations``, …).

The first invocation of an execution environment (its cold start) loads the project and opens
the app's lifespan (the model, the feature path, the prediction log) on an event loop that
lives as long as the environment; every later invocation only answers. Mangum runs with
``lifespan="off"``: with ``"auto"`` it would start and stop the lifespan around every request,
loading the model each time. Importing this module loads nothing of the project.

What a Lambda deployment must provide:

- ``FERRY_CONFIG``: the project's ``ferry.yaml``; ``FERRY_SERVE_SET``, optionally, ``--set``
  overrides one per line (as ``ferry serve`` hands them to its workers); any ``FERRY_…``
  setting (``FERRY_STORAGE__DATABASE_URL`` …) as for ``ferry serve``.
- The workspace (``paths.root``) on storage every environment shares and that outlives them,
  such as EFS mounted at ``/mnt/…``: the function's own files are read-only and ``/tmp``
  belongs to one environment and goes with it. The platform DB should be PostgreSQL and the
  online store Redis: many environments write at once.
- The prediction log: each environment writes its own segment directory under ``/tmp``
  (the shipper tells a dead writer's segments by process id, which means nothing across
  environments, so environments must not share one directory) and ships its lines to the
  platform DB before each invocation returns: between invocations Lambda freezes the process
  and its background threads. Lines that a database outage kept back wait in ``/tmp`` for
  a later invocation, and are lost if Lambda ends the environment before the database
  answers again.
- Metrics: ``/metrics`` answers for one environment only, which few scrapers can reach; use
  the ``predictions`` table and the monitor job instead. Leave ``PROMETHEUS_MULTIPROC_DIR``
  unset: each environment is one process.
- Shutdown: :func:`close` (run at interpreter exit) stops the service and ships what is left.
  Lambda usually ends an environment without a normal exit; nothing depends on it.

An event that is no HTTP request (an SQS or S3 notification, a bare transaction sent with
``aws lambda invoke``) raises :class:`~ferryml.errors.InvalidInputError`, so that the
invocation fails visibly instead of answering nobody. Errors of the cold start (a config that
does not validate, a workspace that is not there) are raised as ferryml's errors too; the next
invocation tries again.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferryml.errors import FerryError, InvalidInputError

if TYPE_CHECKING:
    from mangum import Mangum

    from ferryml.serving.service import ScoringService

log = logging.getLogger(__name__)

SPOOL = "ferryml-predictions"
"""Directory under the temporary directory that holds each environment's prediction log."""

_HINT = (
    "invoke the function through API Gateway, a function URL or an ALB; to call it directly, "
    "send an API Gateway event (`sam local generate-event apigateway http-api-proxy`)"
)


class LambdaFunction:
    """The scoring app of one execution environment: its lifespan open, its event loop and
    its Mangum adapter. :meth:`open` is the cold start."""

    def __init__(
        self,
        adapter: Mangum,
        loop: asyncio.AbstractEventLoop,
        lifespan: contextlib.AsyncExitStack,
        service: ScoringService,
    ) -> None:
        self.adapter = adapter
        self.loop = loop
        self.lifespan = lifespan
        self.service = service

    @classmethod
    def open(cls) -> LambdaFunction:
        """Load the project of ``$FERRY_CONFIG`` and open the app's lifespan."""
        from mangum import Mangum

        from ferryml.pipeline import ProjectContext
        from ferryml.serving.app import config_from_environment, create_app
        from ferryml.serving.service import ScoringService

        loaded = config_from_environment()
        serving = loaded.config.serving
        spool = Path(tempfile.gettempdir()) / SPOOL / uuid.uuid4().hex[:16]
        serving = serving.model_copy(
            update={
                "prediction_log": serving.prediction_log.model_copy(update={"directory": spool})
            }
        )
        opened: dict[str, ScoringService] = {}

        def open_service() -> ScoringService:
            context = ProjectContext.open(loaded, create=False)
            try:
                opened["service"] = ScoringService.open(context, serving)
            except BaseException:
                context.close()
                raise
            return opened["service"]

        app = create_app(open_service)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # Mangum runs each request on the thread's current loop
        lifespan = contextlib.AsyncExitStack()
        try:
            loop.run_until_complete(lifespan.enter_async_context(app.router.lifespan_context(app)))
        except BaseException:
            if "service" in opened:
                opened["service"].context.close()
            asyncio.set_event_loop(None)
            loop.close()
            raise
        service = opened["service"]
        # Shipping happens in each invocation (see __call__): a background shipper frozen
        # between invocations could hold a segment's lock across them.
        service.shipper.stop()
        log.info("cold start done: prediction log of this environment in %s", spool)
        return cls(Mangum(app, lifespan="off"), loop, lifespan, service)

    def __call__(self, event: object, context: Any) -> dict[str, Any]:
        """Answer one HTTP event, then ship its prediction-log lines to the platform DB."""
        request = self._check(event, context)
        asyncio.set_event_loop(self.loop)
        try:
            return self.adapter(request, context)
        finally:
            self._ship()

    def _check(self, event: object, context: Any) -> dict[str, Any]:
        """The event, if it is an HTTP request Mangum can turn into an ASGI one."""
        if not isinstance(event, dict):
            raise InvalidInputError(
                f"the Lambda event is a {type(event).__name__}, not an HTTP request event",
                hint=_HINT,
            )
        try:
            kind = self.adapter.infer(event, context)
        except (RuntimeError, LookupError, TypeError, AttributeError):
            keys = ", ".join(sorted(map(str, event))[:8]) or "none"
            raise InvalidInputError(
                "the Lambda event is not an HTTP request of API Gateway, a function URL, an "
                f"ALB or Lambda@Edge (its keys: {keys})",
                hint=_HINT,
            ) from None
        try:
            kind.scope  # noqa: B018 -- built here to refuse a malformed event with a reason
            kind.body  # noqa: B018
        except (LookupError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(
                f"the Lambda event looks like an {type(kind).__name__} event but cannot be "
                f"read as one: {type(exc).__name__}: {exc}",
                hint=_HINT,
            ) from None
        return event

    def _ship(self) -> None:
        try:
            self.service.shipper.ship_once()
        except FerryError as exc:  # the database does not answer: the lines wait on disk
            log.warning("prediction log not shipped yet: %s", exc.message)
            self.service.log.flush()

    def close(self) -> None:
        """Stop the service (its last lines shipped), then remove this environment's
        prediction log if everything in it reached the database."""
        directory = self.service.log.directory
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.lifespan.aclose())
        finally:
            asyncio.set_event_loop(None)
            self.loop.close()
            self.service.context.close()
        if _all_shipped(directory):
            shutil.rmtree(directory, ignore_errors=True)
            with contextlib.suppress(OSError):  # the spool, when no other environment uses it
                directory.parent.rmdir()
        else:
            log.warning("prediction log lines not shipped are left in %s", directory)


def _all_shipped(directory: Path) -> bool:
    """Whether every segment in ``directory`` was shipped to its end."""
    from ferryml.serving.predlog import SEGMENT_GLOB

    for segment in directory.glob(SEGMENT_GLOB):
        offset = segment.with_suffix(".offset")
        shipped = int(offset.read_text()) if offset.is_file() else 0
        if shipped < segment.stat().st_size:
            return False
    return True


_lock = threading.Lock()
_function: LambdaFunction | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: the first call of an environment opens the app, each call
    answers one HTTP event (API Gateway v1 and v2, function URL, ALB, Lambda@Edge)."""
    global _function
    with _lock:  # Lambda invokes one at a time; a caller with threads must not race the start
        if _function is None:
            _function = LambdaFunction.open()
            atexit.register(close)
        return _function(event, context)


def close() -> None:
    """Close the app's lifespan, if open (at interpreter exit, or at the end of a test);
    the next invocation starts cold."""
    global _function
    with _lock:
        function, _function = _function, None
        atexit.unregister(close)
        if function is not None:
            function.close()


__all__ = ["LambdaFunction", "close", "handler"]
