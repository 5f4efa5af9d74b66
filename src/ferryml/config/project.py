"""The project config: one model per section, every section strict (unknown keys are errors).

Each stage owns its section's model; this module only assembles them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ferryml.batch.config import BatchConfig
from ferryml.config.base import StrictModel
from ferryml.config.schema import SchemaConfig
from ferryml.data.ingest.sources.registry import SourceConfig
from ferryml.data.synth.config import SynthConfig
from ferryml.data.synth.kinds import SynthSettings
from ferryml.data.validate.rules import ValidationConfig
from ferryml.evaluation.config import GatesConfig
from ferryml.features.definitions import FeaturesConfig
from ferryml.governance.config import GovernanceConfig
from ferryml.monitoring.config import MonitoringConfig
from ferryml.names import PROJECT_NAME_PATTERN, PROJECT_NAME_RULE
from ferryml.serving.config import ServingConfig
from ferryml.training.config import TrainingConfig


class ProjectMeta(StrictModel):
    """Who the project is. Its name namespaces everything it creates."""

    name: str = Field(
        pattern=PROJECT_NAME_PATTERN,
        description=(
            "Namespace of everything the project creates (DB rows, experiments, models, keys): "
            f"{PROJECT_NAME_RULE}."
        ),
    )
    description: str = Field(default="", description="One line on what the project predicts.")
    owners: list[str] = Field(default_factory=list, description="Who answers for the project.")


class PathsConfig(StrictModel):
    """Where files go. ``root`` is relative to the config file; the others to ``root``."""

    root: Path = Field(default=Path(), description="Workspace root.")
    raw: Path = Field(default=Path("data/raw"), description="Raw data as it arrived.")
    processed: Path = Field(default=Path("data/processed"), description="Validated data.")
    quarantine: Path = Field(
        default=Path("data/quarantine"), description="Rows validation set aside, with reasons."
    )
    models: Path = Field(default=Path("data/models"), description="Model artifacts.")
    reports: Path = Field(default=Path("reports"), description="HTML and Markdown reports.")


class StorageConfig(StrictModel):
    """Backing services. Embedded defaults need no setup."""

    database_url: str | None = Field(
        default=None,
        description="Platform DB URL; unset: a SQLite file `ferryml.db` in the workspace root.",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis for the online store and routing."
    )


class LoggingConfig(StrictModel):
    """How ferryml logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = Field(
        default="text", description="`json` writes one JSON object per line, for log shippers."
    )


class IngestConfig(StrictModel):
    """How data enters: chunk size and where the pseudonymization key comes from."""

    chunk_rows: int = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="Rows per chunk: memory stays bounded by this, whatever the input's size.",
    )
    pii_key_env: str = Field(
        default="FERRY_PII_KEY",
        min_length=1,
        description="Environment variable holding the PII key; when set it wins over the file.",
    )
    pii_key_file: Path | None = Field(
        default=None,
        description="File holding the PII key (relative to paths.root); `ferry init` creates it.",
    )


class DataConfig(StrictModel):
    """Where data comes from: the synthetic generator and the declared sources."""

    synth: SynthSettings = Field(
        default_factory=SynthConfig,
        description="The synthetic data generator: `kind: fraud` (the default) or `kind: churn`.",
    )
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    sources: dict[str, SourceConfig] = Field(
        default_factory=dict,
        description="Datasets by name: `{format: parquet, path: ...}`; paths relative to root.",
    )


class ProjectConfig(StrictModel):
    """A whole project: what `ferry --config FILE` reads."""

    project: ProjectMeta
    paths: PathsConfig = Field(default_factory=PathsConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    schema_: SchemaConfig = Field(default_factory=SchemaConfig, alias="schema")
    validation: ValidationConfig = Field(
        default_factory=ValidationConfig,
        description="Great Expectations rules every ingested chunk must pass (error) or be "
        "quarantined for (warn).",
    )
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    gates: GatesConfig = Field(
        default_factory=GatesConfig,
        description="What a candidate must prove before promotion: quality, latency, "
        "fairness across segments, edge cases, and the comparison with the champion.",
    )
    serving: ServingConfig = Field(default_factory=ServingConfig)
    batch: BatchConfig = Field(
        default_factory=BatchConfig,
        description="`ferry batch score`: the engine (local or Spark) and its settings.",
    )
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
