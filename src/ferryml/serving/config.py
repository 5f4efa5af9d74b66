"""The ``serving`` section: where ``ferry serve`` listens, what it serves, what it keeps.

>>> ServingConfig().port, ServingConfig().model_alias
(8000, 'champion')
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel
from ferryml.serving.routing import Routing


class PredictionLogConfig(StrictModel):
    """The local append-only log every answer is written to before it is sent, and its
    shipping to the platform DB."""

    directory: Path = Field(
        default=Path("data/predictions"), description="Segments, relative to paths.root."
    )
    fsync_interval_ms: int = Field(
        default=50, ge=1, le=10_000, description="Grouped fsync: at most this long between."
    )
    ship_interval_ms: int = Field(
        default=500, ge=10, le=60_000, description="How often lines move to the database."
    )
    batch_rows: int = Field(default=1000, ge=1, le=100_000)


class CanaryConfig(StrictModel):
    """The ramp and its guardrails."""

    steps: list[float] = Field(
        default_factory=lambda: [0.05, 0.25, 0.5, 1.0], min_length=1, description="Weights."
    )
    dwell_seconds: float = Field(default=300.0, ge=0, description="Least time per step.")
    min_requests: int = Field(default=200, ge=1, description="Answers per arm before judging.")
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    max_p99_ratio: float = Field(default=2.0, gt=0, description="Challenger p99 / champion's.")
    max_psi: float = Field(default=0.2, gt=0, description="Score shift against the champion.")
    max_approval_delta: float = Field(default=0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _ascending(self) -> CanaryConfig:
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)) or not all(
            0 < s <= 1 for s in self.steps
        ):
            raise ValueError("`steps` must rise strictly within (0, 1]")
        return self


class ShadowConfig(StrictModel):
    """The shadow process's queue and timeout (``strategy: shadow``)."""

    queue_bytes: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        description="Requests waiting for the shadow, in bytes (a request takes about 2 KiB); "
        "beyond it they are not shadowed, and counted.",
    )
    timeout_ms: int = Field(
        default=1000,
        ge=10,
        le=600_000,
        description="A request waiting longer is not shadowed; a scoring call running longer "
        "gets the shadow process killed and restarted.",
    )


class UiConfig(StrictModel):
    """The overview page ``GET /ui`` and the reports it links (``/ui/reports/...``)."""

    enabled: bool = Field(default=True, description="Serve /ui and /ui/reports/ at all.")
    mlflow_url: str = Field(
        default="http://127.0.0.1:5000",
        min_length=1,
        max_length=2048,
        pattern=r"^https?://",
        description="Where the MLflow UI answers, as a browser reaches it (`ferry ui` listens "
        "on port 5000 by default).",
    )
    row_reports: bool = Field(
        default=False,
        description="Also serve the validation and explanation reports: they show sample rows "
        "of events (pseudonymized, still about people), so only where everyone who reaches the "
        "serving port may read them.",
    )


class ServingConfig(StrictModel):
    """Real-time scoring over HTTP."""

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes.")
    model_alias: str = Field(
        default="champion", min_length=1, description="The registry alias (or version) served."
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=64 * 1024 * 1024, description="Larger bodies get 413."
    )
    max_batch: int = Field(default=1000, ge=1, le=100_000, description="Events per batch call.")
    top_reasons: int = Field(
        default=3, ge=0, le=20, description="Reasons given with a decision other than approve."
    )
    store_timeout_ms: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Longest wait for the online store and window state (Redis) per request; "
        "past it the answer uses the default features (degraded: true).",
    )
    store_failures_to_open: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="Store failures in a row after which requests stop trying the stores for "
        "store_cooldown_ms (answered degraded at once), then one tries again.",
    )
    store_cooldown_ms: int = Field(default=1000, ge=10, le=600_000)
    prediction_log: PredictionLogConfig = Field(default_factory=PredictionLogConfig)
    canary: CanaryConfig = Field(
        default_factory=CanaryConfig,
        description="The ramp a canary routing follows and the guardrails that stop it.",
    )
    shadow: ShadowConfig = Field(default_factory=ShadowConfig)
    routing: Routing = Field(
        default_factory=Routing,
        description="The split between champion and challenger at start; POST /admin/routing "
        "changes it for every worker.",
    )
    follow_interval_ms: int = Field(
        default=1000,
        ge=50,
        le=60_000,
        description="How often each worker reads the shared pin (admin reload and rollback).",
    )
    alias_poll_ms: int = Field(
        default=5000, ge=100, le=600_000, description="How often the registry alias is read."
    )
    admin_token_env: str = Field(
        default="FERRY_ADMIN_TOKEN",
        min_length=1,
        description="Environment variable holding the admin bearer token (wins over the file).",
    )
    admin_token_file: Path | None = Field(
        default=None, description="File holding the admin token, relative to paths.root."
    )
    clock: Literal["wall", "event"] = Field(
        default="wall",
        description="wall: the server's time is the machine's. event: it is the latest event "
        "time scored, so that a replay of past traffic (ferry quickstart, ferry simulate) "
        "moves canary steps, the prediction log's times and label arrivals with the events "
        "instead of the wall; never in production, where an event time is the client's claim.",
    )
    ui: UiConfig = Field(default_factory=UiConfig)
    metrics_directory: Path = Field(
        default=Path(".serving/prometheus"),
        description="Where the worker processes of one server keep their Prometheus counters "
        "(emptied at start), relative to paths.root. Each server needs its own: on a workspace "
        "shared by several hosts or pods, point it at local disk.",
    )


__all__ = ["CanaryConfig", "PredictionLogConfig", "ServingConfig", "ShadowConfig", "UiConfig"]
