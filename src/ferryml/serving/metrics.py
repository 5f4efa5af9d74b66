"""Prometheus metrics of the scoring service, pooled across worker processes.

With several uvicorn workers every process keeps its own counters; the client's multiprocess
mode writes them to files in ``$PROMETHEUS_MULTIPROC_DIR`` (``ferry serve`` sets it to a fresh
directory of the workspace) and ``GET /metrics`` sums them, whichever worker answers the
scrape. Without that variable (one process, tests) the default registry is used.

What is counted: requests by endpoint, status, arm and model version; scoring latency per
arm and model version, and of the feature step; degraded answers; the shadow's agreements,
score deltas, failures and restarts (counted in the shadow processes too); the prediction log's
answers refused because it could not be written, its failed shipments and the bytes waiting to
ship; process CPU seconds and resident memory per worker (refreshed every few seconds by a
background thread).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# prometheus_client picks in-memory or file-backed values when it is first imported, which in
# `ferry serve` happens (through a library) before the command sets the directory; with one
# worker uvicorn serves in that very process, and its counters stayed in memory while the
# shadow process wrote files: /metrics showed one or the other. The metrics below are made
# now, after `ferry serve` set the directory: choose again, from the environment as it is.
values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
LATENCY_BUCKETS = (
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
"""Seconds: scoring lives between a fraction of a millisecond and a few milliseconds."""

REQUESTS = Counter(
    "ferry_requests_total",
    "Scoring requests answered, by endpoint, HTTP status, arm and model version.",
    ["endpoint", "status", "arm", "model_version"],
)
LATENCY = Histogram(
    "ferry_request_latency_seconds",
    "Time from request to answer of scored transactions, by arm and model version.",
    ["arm", "model_version"],
    buckets=LATENCY_BUCKETS,
)
FEATURE_LATENCY = Histogram(
    "ferry_feature_latency_seconds",
    "Time spent computing online features (store reads, window state, transforms).",
    buckets=LATENCY_BUCKETS,
)
CHALLENGER_ERRORS = Counter(
    "ferry_challenger_errors_total",
    "Challenger failures answered by the champion instead, by challenger version.",
    ["model_version"],
)
SHADOW_COMPARED = Counter(
    "ferry_shadow_compared_total",
    "Requests the shadow challenger scored too, by whether its decision agrees with the "
    "champion's (agree, disagree).",
    ["outcome"],
)
SHADOW_SCORE_DELTA = Histogram(
    "ferry_shadow_score_delta",
    "Absolute difference between the shadow challenger's score and the champion's.",
    buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
)
SHADOW_FAILURES = Counter(
    "ferry_shadow_failures_total",
    "Requests the shadow did not score, by reason: dropped (queue full), unavailable (its "
    "process restarting), expired (waited past the timeout), error (the challenger raised), "
    "hung (killed past the timeout), discarded (queued behind a hung one).",
    ["reason"],
)
SHADOW_RESTARTS = Counter(
    "ferry_shadow_restarts_total", "Shadow processes restarted after a hang or an exit."
)
DEGRADED = Counter(
    "ferry_degraded_total", "Answers given with default features because a store failed."
)
STORE_BREAKER_OPEN = Gauge(
    "ferry_store_breaker_open",
    "1 while a worker skips the failing online stores (answers degraded), else 0.",
    multiprocess_mode="livemax",
)
PREDICTION_LOG_WRITE_ERRORS = Counter(
    "ferry_prediction_log_write_errors_total",
    "Answers refused (503) because the prediction log could not be written (its disk full).",
)
PREDICTION_LOG_SHIP_FAILURES = Counter(
    "ferry_prediction_log_ship_failures_total",
    "Shipments of the prediction log to the platform DB that failed (retried).",
)
PREDICTION_LOG_REJECTED = Counter(
    "ferry_prediction_log_rejected_total",
    "Prediction-log lines that never parsed as a record, set aside in <segment>.rejected.",
)
PREDICTION_LOG_BACKLOG = Gauge(
    "ferry_prediction_log_backlog_bytes",
    "Bytes of the prediction log on disk not yet shipped to the platform DB (every worker "
    "sees every segment of its directory).",
    multiprocess_mode="livemax",
)
CPU_SECONDS = Gauge(
    "ferry_process_cpu_seconds",
    "CPU seconds used by each worker process.",
    multiprocess_mode="livesum",
)
MEMORY_BYTES = Gauge(
    "ferry_process_resident_memory_bytes",
    "Resident memory of each worker process.",
    multiprocess_mode="livesum",
)


def render() -> tuple[bytes, str]:
    """The exposition text of every worker's metrics, and its content type."""
    # Values live in files when the directory variable was set as this module was imported
    # (by `ferry serve`, or by a library: Feast's metrics module sets it as a side effect), in
    # memory otherwise. Read them where they are.
    if values.ValueClass is values.MutexValue:
        return generate_latest(), CONTENT_TYPE_LATEST
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    directory = os.environ[MULTIPROC_ENV]
    # prometheus_client's multiprocess module has no annotations (the rest does)
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; elsewhere its peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class ProcessSampler:
    """Refreshes this process's CPU and memory gauges every ``interval`` seconds."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="metrics-sampler", daemon=True)

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def sample(self) -> None:
        times = os.times()
        CPU_SECONDS.set(times.user + times.system)
        MEMORY_BYTES.set(resident_bytes())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        if values.ValueClass is not values.MutexValue:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


__all__ = [
    "CHALLENGER_ERRORS",
    "DEGRADED",
    "FEATURE_LATENCY",
    "LATENCY",
    "MULTIPROC_ENV",
    "PREDICTION_LOG_BACKLOG",
    "PREDICTION_LOG_REJECTED",
    "PREDICTION_LOG_SHIP_FAILURES",
    "PREDICTION_LOG_WRITE_ERRORS",
    "REQUESTS",
    "SHADOW_COMPARED",
    "SHADOW_FAILURES",
    "SHADOW_RESTARTS",
    "SHADOW_SCORE_DELTA",
    "STORE_BREAKER_OPEN",
    "ProcessSampler",
    "render",
]
