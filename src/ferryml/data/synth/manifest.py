"""What a generation run wrote: the manifest saved as ``manifest.json`` beside the data.

>>> entry = FileEntry(path="customers.parquet", rows=3, bytes=10, sha256="0" * 64)
>>> entry.rows
3
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ferryml.errors import DataError

if TYPE_CHECKING:
    from ferryml.clock import Clock
    from ferryml.data.synth.churn_config import ChurnSynthConfig
    from ferryml.data.synth.config import SynthConfig

MANIFEST_NAME = "manifest.json"


class FileEntry(BaseModel):
    """One file of the dataset, relative to its directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    rows: int
    bytes: int
    sha256: str


class SynthManifest(BaseModel):
    """The manifest of one generated dataset; ``out_dir`` is where it lives (not saved)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    generator_version: str
    seed: int
    created_at: datetime
    period_start: date
    period_end: date
    days: int
    rows: dict[str, int]
    kind: str
    """The generator that wrote it (``data.synth.kind``)."""
    outcome: str
    """What a positive label means: ``fraud``, ``churn``."""
    positive_count: int
    positive_rate: float
    """Share of event rows with a positive label (ground truth, whenever it becomes known)."""
    positives_by_pattern: dict[str, int]
    """Positives by the generator's ground-truth cause (fraud pattern, churn reason)."""
    active_scenarios: list[str]
    scenarios: dict[str, dict[str, Any]]
    """Resolved window and effective parameters of each active scenario."""
    bad_data: dict[str, int]
    """Ground truth of the bad-data scenario: rows per defect (see ``defects``)."""
    string_amount_partitions: list[str]
    """Partitions whose amount column is a string (the fraud generator's wrong-type defect)."""
    nulls_injected: dict[str, int]
    """Rows whose value the missing-data scenario removed, per column."""
    files: list[FileEntry]
    config: dict[str, Any]
    out_dir: Path = Field(default=Path(), exclude=True)

    def to_json(self) -> str:
        """The manifest as written to ``manifest.json`` (without ``out_dir``)."""
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def load(cls, out_dir: Path) -> SynthManifest:
        """Read the manifest of the dataset in ``out_dir``."""
        path = Path(out_dir) / MANIFEST_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DataError(
                f"cannot read the synthetic dataset manifest {path}: {exc.strerror}",
                hint="generate the dataset first: ferry generate",
            ) from exc
        return cls.model_validate_json(text).model_copy(update={"out_dir": Path(out_dir)})


def run_fields(config: SynthConfig | ChurnSynthConfig, clock: Clock) -> dict[str, Any]:
    """The manifest fields every generator fills the same way: seed, time, period, config."""
    return {
        "seed": config.seed,
        "created_at": clock.now(),
        "period_start": config.start,
        "period_end": config.end,
        "days": config.days,
        "kind": config.kind,
        "config": config.model_dump(mode="json"),
    }
