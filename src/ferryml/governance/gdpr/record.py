"""The erasure record: what an erasure did, where it stands, and nothing that names the person.

One JSON file per erasure under ``<reports>/gdpr/erasures/<erasure id>.json``, rewritten
atomically after every store so that it shows the progress of a run that stopped; each run
also appends an audit entry with the same (non-identifying) facts. The person appears only as
the keyed :attr:`~ferryml.governance.gdpr.subject.Subject.digest`: the audit chain can never be
rewritten, so nothing that identifies someone — id or pseudonym — may ever enter it, and the
record must outlive the data it describes.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ferryml.governance.gdpr.stores.base import Erased
from ferryml.storage.atomic import atomic_write_text

Status = Literal["in_progress", "complete", "incomplete"]
RECORDS_DIR = Path("gdpr") / "erasures"


class StoreProgress(BaseModel):
    """Totals of one store over every run of the erasure."""

    model_config = ConfigDict(extra="forbid")

    items: int = 0
    places: int = 0
    runs: int = 0


class TrainedModel(BaseModel):
    """A training run (and its registered model version) whose data held the subject."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    model: str | None = None
    dataset: str
    registered_version: str | None = None
    aliases: list[str] = Field(default_factory=list)


class ErasureRecord(BaseModel):
    """One erasure: its id, the subject's digest, per-store progress, lineage, models."""

    model_config = ConfigDict(extra="forbid")

    erasure_id: str
    subject_digest: str
    status: Status = "in_progress"
    started_at: datetime
    updated_at: datetime
    runs: int = 0
    stores: dict[str, StoreProgress] = Field(default_factory=dict)
    footprint: dict[str, int] = Field(default_factory=dict)
    """How many linked ids the subject's data had, by kind (counts only)."""
    datasets: dict[str, str] = Field(default_factory=dict)
    """Old dataset version → the version without the subject that replaced it."""
    models: list[TrainedModel] = Field(default_factory=list)
    """Models trained on data holding the subject: not retrained by the erasure."""
    pending: list[str] = Field(default_factory=list)
    residue: list[str] = Field(default_factory=list)
    """Where the subject was still found after the last run (masked locations)."""

    def add(self, erased: Erased) -> None:
        progress = self.stores.setdefault(erased.store, StoreProgress())
        progress.items += erased.items
        progress.places += erased.places
        progress.runs += 1
        self.datasets.update(erased.details.get("replaced", {}))

    def add_models(self, models: list[TrainedModel]) -> None:
        known = {m.run_id for m in self.models}
        self.models += [m for m in models if m.run_id not in known]

    def audit_details(self) -> dict[str, Any]:
        """The facts the audit entry keeps (no id, no pseudonym)."""
        return {
            "erasure_id": self.erasure_id,
            "subject_digest": self.subject_digest,
            "status": self.status,
            "run": self.runs,
            "items": {name: p.items for name, p in self.stores.items() if p.items},
            "datasets": dict(self.datasets),
            "models": [m.run_id for m in self.models],
            "pending": len(self.pending),
            "residue": len(self.residue),
        }


class ErasureRecords:
    """The erasure records of a workspace (``<reports>/gdpr/erasures``)."""

    def __init__(self, reports: Path) -> None:
        self.directory = reports / RECORDS_DIR

    def path(self, erasure_id: str) -> Path:
        return self.directory / f"{erasure_id}.json"

    def all(self) -> list[ErasureRecord]:
        if not self.directory.is_dir():
            return []
        records = [
            ErasureRecord.model_validate_json(p.read_text())
            for p in sorted(self.directory.glob("*.json"))
        ]
        return sorted(records, key=lambda r: r.started_at)

    def unfinished(self, digest: str) -> ErasureRecord | None:
        """The latest erasure of the subject that did not complete (a run to resume)."""
        for record in reversed(self.all()):
            if record.subject_digest == digest:
                return record if record.status != "complete" else None
        return None

    def new(self, digest: str, now: datetime) -> ErasureRecord:
        return ErasureRecord(
            erasure_id=f"er-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}",
            subject_digest=digest,
            started_at=now,
            updated_at=now,
        )

    def save(self, record: ErasureRecord, now: datetime) -> Path:
        record.updated_at = now
        path = self.path(record.erasure_id)
        atomic_write_text(path, record.model_dump_json(indent=2) + "\n")
        return path


__all__ = [
    "RECORDS_DIR",
    "ErasureRecord",
    "ErasureRecords",
    "Status",
    "StoreProgress",
    "TrainedModel",
]
