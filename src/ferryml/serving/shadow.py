"""Shadow scoring: the challenger scores every request again, in its own process, off the
request path.

With ``strategy: shadow`` the champion answers every request as usual. After its answer is
built, the worker hands the parsed request and the champion's features to a *shadow process*
through a bounded queue and returns at once; the shadow process loads the challenger, scores
the request — on the champion's features when the challenger was built on the same feature-set
version (no second store read, no second window-state write to contend with the champion's),
else through its own feature path — compares with the champion's answer and appends the
result to the prediction log under the champion's request id (``request_id`` + ``.shadow``,
``shadow_of``: the champion's id; ``arm``: ``shadow``; ``agree``; ``score_delta``).

Why a process and not a thread: a thread scoring in the worker would hold the GIL while the
champion waits for it; a challenger that busy-loops would slow every answer. The shadow
process scores at a lower CPU priority (``nice`` 10; it loads the challenger at normal
priority, a one-off) and shares nothing with the request path but one socket.

What keeps the champion safe from the challenger:

- requests answered while the shadow process loads the challenger are not shadowed
  (``unavailable``): they would only wait and expire;
- **the queue** is a Unix ``SOCK_SEQPACKET`` socket pair whose send buffer is the bound
  (``serving.shadow.queue_bytes``). The worker sends without blocking: when the buffer is full
  (the challenger is slow) or the shadow process is gone, the request is not shadowed, and the
  drop is counted (``ferry_shadow_failures_total{reason="dropped"|"unavailable"}``; requests
  still queued when a hung shadow process is killed are counted as ``discarded``). No lock
  nor thread is shared with the shadow process, so a killed one can leave nothing locked;
- **the timeout** (``serving.shadow.timeout_ms``): a request that waited longer in the queue
  is not scored (``expired``); a scoring call that runs longer (a hung or spinning challenger)
  gets the shadow process killed by the worker's supervisor thread, the request (each of the
  batch) logged as ``hung`` (status 504), and a new shadow process started after a back-off
  that doubles up to a minute;
- exceptions of the challenger are caught in the shadow process and logged (status 500).

Once behind, the shadow process takes what waits in the queue (up to :data:`BATCH` requests)
and scores those on the champion's features in one model call: a call costs far more than a
row, and on a machine with few cores the shadow's CPU is taken from the champion. A batch
that fails is scored again one request at a time, so each failure is the failing request's.

Each worker process has its own shadow process (two workers, two shadow processes).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.sharedctypes import RawArray, RawValue
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferryml.serving import metrics
from ferryml.serving.predlog import PredictionLog

if TYPE_CHECKING:
    from ferryml.serving.config import ShadowConfig
    from ferryml.serving.deployment import Deployment, Scored

log = logging.getLogger(__name__)

SHADOW = "shadow"
MAX_MESSAGE_BYTES = 256 * 1024
BATCH = 64
"""Requests the shadow scores in one model call once it has fallen behind: a LightGBM call
costs far more than a row, and on a busy machine the shadow's CPU is the champion's loss."""
ID_BYTES = 33 * BATCH
"""Room for a batch's request ids (32 hex digits and a comma each) in the shared memory."""
"""Larger requests are not shadowed (the serving body limit is far below by default)."""
NICENESS = 10
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0
"""A shadow process that ran this long without being killed resets the back-off."""


@dataclass(frozen=True)
class ShadowRequest:
    """One answered request, as the shadow process receives it."""

    request_id: str
    queued_at: float
    """``time.monotonic()`` when queued (one clock for every process of the machine)."""
    event: dict[str, Any]
    event_id: str | None
    event_time: str | None
    champion: dict[str, Any]
    """The champion's ``version``, ``score`` and ``decision``."""
    feature_set: str
    """The champion's feature-set version: a challenger built on the same one scores the
    champion's ``features`` and touches no store."""
    features: dict[str, Any]


@dataclass(frozen=True)
class _Shared:
    """What the worker's supervisor reads of the shadow process: since when (monotonic
    seconds, 0 when idle) it scores which request."""

    busy_since: ctypes.c_double
    request_id: ctypes.Array[ctypes.c_char]
    taken: ctypes.c_longlong
    """Requests read from the queue so far."""
    ready: Any  # a multiprocessing Event


class ShadowProcess:
    """One worker's shadow process for one challenger version, and its supervisor."""

    def __init__(
        self,
        load: Callable[[], Deployment],
        *,
        version: str,
        directory: Path,
        config: ShadowConfig,
        log: PredictionLog,
        fsync_interval: float = 0.05,
    ) -> None:
        self.load = load
        """Picklable (a module-level function or a partial of one): it runs in the shadow
        process, which is spawned, not forked (the worker has threads)."""
        self.version = version
        self.directory = directory
        self.timeout = config.timeout_ms / 1000
        self.queue_bytes = config.queue_bytes
        self.fsync_interval = fsync_interval
        self.log = log
        self.restarts = 0
        self._failures_in_row = 0
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._socket: socket.socket | None = None
        self._shared: _Shared | None = None
        self._started_at = 0.0
        self._sent = 0
        self._loaded = False
        self._next_start = 0.0
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- the worker's side -------------------------------------------------------------

    def start(self) -> None:
        """Spawn the shadow process (it loads the challenger in the background) and the
        supervisor thread."""
        self._spawn()
        self._supervisor = threading.Thread(
            target=self._supervise, name="shadow-supervisor", daemon=True
        )
        self._supervisor.start()

    def submit(
        self,
        request_id: str,
        event: dict[str, Any],
        ids: tuple[str | None, str | None],
        champion: Scored,
        deployment: Deployment,
    ) -> None:
        """Hand one request (``ids``: its event id and ISO event time) and the champion's
        answer (by ``deployment``) to the shadow; never blocks, never raises."""
        sock = self._socket
        if sock is None or not self._taking():
            metrics.SHADOW_FAILURES.labels("unavailable").inc()
            return
        answer = {
            "version": deployment.version,
            "score": champion.score,
            "decision": champion.decision,
        }
        request = ShadowRequest(
            request_id,
            time.monotonic(),
            event,
            *ids,
            answer,
            deployment.feature_set.version,
            champion.features,
        )
        message = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            sock.send(message)
            self._sent += 1
        except BlockingIOError:  # the queue is full: the challenger is behind
            metrics.SHADOW_FAILURES.labels("dropped").inc()
        except OSError:  # the shadow process is gone (being restarted), or the message is
            metrics.SHADOW_FAILURES.labels("unavailable").inc()  # larger than a socket takes

    def _taking(self) -> bool:
        """Whether the shadow process has loaded the challenger: until then requests would
        only wait in the queue and expire. Read once per process start, then remembered."""
        if not self._loaded:
            shared = self._shared
            self._loaded = shared is not None and bool(shared.ready.is_set())
        return self._loaded

    @property
    def ready(self) -> bool:
        """Whether the shadow process has loaded the challenger and takes requests."""
        shared = self._shared
        return shared is not None and bool(shared.ready.is_set()) and self._alive()

    def status(self) -> dict[str, Any]:
        process = self._process
        return {
            "version": self.version,
            "ready": self.ready,
            "restarts": self.restarts,
            "pid": process.pid if process is not None else None,
        }

    def stop(self) -> None:
        """Close the queue (the shadow process finishes what it holds and exits) and wait."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=10)
        with self._lock:
            self._end(kill=False)

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.queue_bytes)
        ours.setblocking(False)
        context = self._context
        shared = _Shared(
            busy_since=RawValue(ctypes.c_double, 0.0),
            request_id=RawArray(ctypes.c_char, ID_BYTES + 1),
            taken=RawValue(ctypes.c_longlong, 0),
            ready=context.Event(),
        )
        process = context.Process(
            target=_run,
            args=(self.load, theirs, shared, self.directory, self.fsync_interval, self.timeout),
            name=f"ferry-shadow-v{self.version}",
            daemon=True,
        )
        process.start()
        theirs.close()  # the shadow process has its own copy
        self._process, self._socket, self._shared = process, ours, shared
        self._sent = 0
        self._loaded = False
        self._started_at = time.monotonic()

    def _alive(self) -> bool:
        return self._process is not None and bool(self._process.is_alive())

    def _end(self, *, kill: bool) -> None:
        sock, process, shared = self._socket, self._process, self._shared
        self._socket = None
        if sock is not None:
            sock.close()  # the shadow process reads what is queued, then the end of input
        if process is not None:
            if kill:
                process.kill()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        if shared is not None and kill:
            discarded = self._sent - shared.taken.value - 1  # the one it hung on is logged
            if discarded > 0:
                metrics.SHADOW_FAILURES.labels("discarded").inc(discarded)
        self._process = None

    def _supervise(self) -> None:
        interval = min(max(self.timeout / 4, 0.02), 1.0)
        while not self._stop.wait(interval):
            with self._lock:
                self.check()

    def check(self) -> None:
        """Kill a shadow process stuck on one request for longer than the timeout, restart a
        dead one after the back-off."""
        now = time.monotonic()
        shared = self._shared
        if self._process is None:
            if now >= self._next_start:
                self._spawn()
            return
        if shared is not None and self._alive():
            busy_since = shared.busy_since.value
            if busy_since and now - busy_since > self.timeout:
                request_ids = shared.request_id.value.decode().split(",")
                self._end(kill=True)
                for request_id in request_ids:
                    self._log_hung(request_id, now - busy_since)
                self._schedule_restart(now, f"stuck for {now - busy_since:.1f} s on one request")
            elif now - self._started_at > HEALTHY_AFTER_S:
                self._failures_in_row = 0
            return
        exit_code = self._process.exitcode
        self._end(kill=False)
        self._schedule_restart(now, f"exited with {exit_code}")

    def _schedule_restart(self, now: float, why: str) -> None:
        self._failures_in_row += 1
        self.restarts += 1
        delay = min(MAX_BACKOFF_S, 2.0 ** (self._failures_in_row - 1))
        self._next_start = now + delay
        metrics.SHADOW_RESTARTS.inc()
        log.warning("shadow v%s %s; restarting in %.0f s", self.version, why, delay)

    def _log_hung(self, request_id: str, seconds: float) -> None:
        metrics.SHADOW_FAILURES.labels("hung").inc()
        if not request_id:
            return
        self.log.append(
            {
                "request_id": f"{request_id}.{SHADOW}",
                "shadow_of": request_id,
                "ts": datetime.now(UTC).isoformat(),
                "status": 504,
                "arm": SHADOW,
                "model": {"version": self.version, "alias": SHADOW},
                "degraded": False,
                "latency_ms": seconds * 1000,
                "error": f"the challenger did not answer within {self.timeout * 1000:.0f} ms; "
                "its process was killed and is restarted",
            }
        )


# -- the shadow process's side ----------------------------------------------------------


def _run(
    load: Callable[[], Deployment],
    sock: socket.socket,
    shared: _Shared,
    directory: Path,
    fsync_interval: float,
    timeout: float,
) -> None:
    """The shadow process: load the challenger, then score what arrives until the worker
    closes its end."""
    deployment = load()
    deployment.warm_up()
    prediction_log = PredictionLog(directory, fsync_interval=fsync_interval)
    # Loaded at normal priority, like a hot reload in the worker: loading is a one-off
    # (about 14 s of CPU on this project's test machine, Feast's import most of it), and at
    # nice 10 a shadow started on saturated cores got next to no CPU and never became ready.
    # Scoring, which lasts, runs niced: the champion's worker wins the CPU.
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    shared.ready.set()
    try:
        while (messages := _receive(sock)) is not None:
            shared.taken.value += len(messages)
            requests: list[ShadowRequest] = [pickle.loads(message) for message in messages]
            for record in _shadow_records(deployment, shared, requests, timeout):
                prediction_log.append(record)
    finally:
        prediction_log.close()


def _receive(sock: socket.socket) -> list[bytes] | None:
    """What waits in the queue: one message at least (waiting for it), :data:`BATCH` at
    most; None once the worker closed the queue."""
    first = sock.recv(MAX_MESSAGE_BYTES)
    if not first:
        return None
    messages = [first]
    while len(messages) < BATCH:
        try:
            message = sock.recv(MAX_MESSAGE_BYTES, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        if not message:  # closed: the next recv says so
            break
        messages.append(message)
    return messages


def _shadow_records(
    deployment: Deployment, shared: _Shared, requests: list[ShadowRequest], timeout: float
) -> list[dict[str, Any]]:
    """One record per request, in order. Those on the challenger's feature set are scored
    together in one model call on the champion's features (no store read, no window append);
    the others one by one from their event. A request that waited longer than ``timeout``
    when its scoring would start is not scored."""
    records: list[dict[str, Any]] = [{} for _ in requests]
    together: list[int] = []
    alone: list[int] = []
    for index, request in enumerate(requests):
        reuse = request.feature_set == deployment.feature_set.version and all(
            name in request.features for name in deployment.model.features
        )
        (together if reuse else alone).append(index)
    start = time.monotonic()
    for index in together:
        records[index] = _base_record(deployment, requests[index], start)
    expired = {i for i in together if records[i]["queued_ms"] > timeout * 1000}
    for index in expired:
        records[index] = _expired(records[index], timeout)
    together = [index for index in together if index not in expired]
    if together:
        batch = [requests[index] for index in together]
        try:
            with _busy(shared, batch):
                answers = deployment.score_features_many([r.features for r in batch])
        except Exception:  # a model failing on some rows: find which, one by one
            for index in together:
                records[index] = _scored_one(
                    deployment, shared, requests[index], records[index], reuse=True
                )
        else:
            latency_ms = (time.monotonic() - start) * 1000
            for index, scored in zip(together, answers, strict=True):
                records[index] = _compared(records[index], requests[index], scored, latency_ms)
                records[index]["features"] = "champion's"
    for index in alone:
        record = _base_record(deployment, requests[index], time.monotonic())
        if record["queued_ms"] > timeout * 1000:
            records[index] = _expired(record, timeout)
        else:
            records[index] = _scored_one(deployment, shared, requests[index], record, reuse=False)
    return records


def _expired(record: dict[str, Any], timeout: float) -> dict[str, Any]:
    metrics.SHADOW_FAILURES.labels("expired").inc()
    return {
        **record,
        "status": 504,
        "latency_ms": 0.0,
        "error": f"waited {record['queued_ms']:.0f} ms in the queue "
        f"(timeout {timeout * 1000:.0f} ms)",
    }


def _base_record(deployment: Deployment, request: ShadowRequest, start: float) -> dict[str, Any]:
    return {
        "request_id": f"{request.request_id}.{SHADOW}",
        "shadow_of": request.request_id,
        "ts": datetime.now(UTC).isoformat(),
        "event_id": request.event_id,
        "event_time": request.event_time,
        "arm": SHADOW,
        "model": {**deployment.info, "alias": SHADOW},
        "threshold": deployment.threshold,
        "degraded": False,
        "queued_ms": (start - request.queued_at) * 1000,
        "champion": request.champion,
    }


@contextlib.contextmanager
def _busy(shared: _Shared, requests: list[ShadowRequest]) -> Iterator[None]:
    """Tell the worker's supervisor which requests are being scored, and since when."""
    ids = ",".join(request.request_id for request in requests)
    shared.request_id.value = ids.encode()[:ID_BYTES]
    shared.busy_since.value = time.monotonic()
    try:
        yield
    finally:
        shared.busy_since.value = 0.0


def _scored_one(
    deployment: Deployment,
    shared: _Shared,
    request: ShadowRequest,
    record: dict[str, Any],
    *,
    reuse: bool,
) -> dict[str, Any]:
    start = time.monotonic()
    try:
        with _busy(shared, [request]):
            if reuse:
                scored = deployment.score_features(request.features)
            else:
                scored = deployment.score(request.event)
    except Exception as exc:  # the challenger's failure is the record, never the worker's
        metrics.SHADOW_FAILURES.labels("error").inc()
        return {
            **record,
            "status": 500,
            "latency_ms": (time.monotonic() - start) * 1000,
            "error": f"{type(exc).__name__}: {exc}"[:500],
        }
    compared = _compared(record, request, scored, (time.monotonic() - start) * 1000)
    compared["features"] = "champion's" if reuse else scored.features
    return compared


def _compared(
    record: dict[str, Any], request: ShadowRequest, scored: Scored, latency_ms: float
) -> dict[str, Any]:
    champion = request.champion
    agree = scored.decision == champion["decision"]
    delta = scored.score - float(champion["score"])
    metrics.SHADOW_COMPARED.labels("agree" if agree else "disagree").inc()
    metrics.SHADOW_SCORE_DELTA.observe(abs(delta))
    return {
        **record,
        "status": 200,
        "score": scored.score,
        "decision": scored.decision,
        "degraded": scored.degraded,
        "latency_ms": latency_ms,
        "agree": agree,
        "score_delta": delta,
    }


__all__ = ["SHADOW", "ShadowProcess", "ShadowRequest"]
