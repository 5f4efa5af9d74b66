"""The ``batch`` section: how ``ferry batch score`` runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ferryml.config.base import StrictModel


class SparkConfig(StrictModel):
    """Where the Spark engine runs."""

    master: str = Field(
        default="local[*]",
        min_length=1,
        description="Spark master URL: `local[*]` on this machine, `spark://host:7077` or "
        "`yarn`/`k8s://…` for a cluster (input and output paths must be reachable from it).",
    )
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra Spark settings (e.g. spark.executor.memory); the session time zone "
        "is always UTC.",
    )


class BatchConfig(StrictModel):
    """Batch scoring: the engine, the chunk size of the local engine, Spark's master."""

    engine: Literal["local", "spark"] = Field(
        default="local",
        description="`local`: one process, all cores, resumable by chunk; `spark`: the same "
        "features and model in Spark (needs the `spark` extra).",
    )
    chunk_rows: int = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="Rows the local engine scores and writes at a time: the unit a killed "
        "run resumes from.",
    )
    spark: SparkConfig = Field(default_factory=SparkConfig)
