"""The ``schema`` section: the columns of a project's event table, their types and roles.

Roles tell every later stage what a column *is*, so nothing downstream hard-codes a column name:

- ``id``: unique per row (the transaction id);
- ``entity``: a key features are aggregated by (customer, card, merchant);
- ``event_time``: when the event happened — the clock of point-in-time joins;
- ``label`` and ``label_time``: the outcome and when it became known (labels arrive late);
- ``feature``: an input a model may use (the default);
- ``metadata``: carried along, never a model input (ground truth for analysis, audit fields).

``pii: true`` marks personal data that ingestion pseudonymizes before anything else sees it.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel

ColumnType = Literal["string", "int", "float", "bool", "timestamp", "date"]
ColumnRole = Literal["id", "entity", "event_time", "label", "label_time", "feature", "metadata"]

_SINGLE_ROLES: tuple[ColumnRole, ...] = ("id", "event_time", "label", "label_time")


class ColumnSpec(StrictModel):
    """One column: its type, its role, whether it may be null and whether it is personal data."""

    type: ColumnType = Field(description="Logical type; timestamps are UTC.")
    role: ColumnRole = Field(default="feature", description="What the column is to ferryml.")
    nullable: bool = Field(default=False, description="Whether nulls are legitimate values.")
    pii: bool = Field(default=False, description="Personal data: pseudonymized at ingestion.")
    description: str = Field(default="", description="What the column means, for humans.")


class SchemaConfig(StrictModel):
    """The event table of a project: its name and its columns in order."""

    table: str = Field(default="events", min_length=1, description="Name of the event table.")
    columns: dict[str, ColumnSpec] = Field(
        default_factory=dict, description="Columns by name, in the order they appear."
    )

    @model_validator(mode="after")
    def _roles_are_consistent(self) -> SchemaConfig:
        if not self.columns:
            return self
        counts = Counter(spec.role for spec in self.columns.values())
        problems = [
            f"role {role!r} is given to {counts[role]} columns; at most one may have it"
            for role in _SINGLE_ROLES
            if counts[role] > 1
        ]
        if counts["event_time"] == 0:
            problems.append("no column has role 'event_time'; point-in-time joins need one")
        if counts["entity"] == 0:
            problems.append("no column has role 'entity'; features are computed per entity")
        if counts["label"] != counts["label_time"]:
            problems.append(
                "a 'label' column needs a 'label_time' column (when the label became known)"
            )
        for name, spec in self.columns.items():
            if spec.role in ("event_time", "label_time") and spec.type != "timestamp":
                problems.append(f"column {name!r} has role {spec.role!r} but type {spec.type!r}")
            if spec.role in ("id", "entity", "event_time") and spec.nullable:
                problems.append(f"column {name!r} has role {spec.role!r} and cannot be nullable")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def columns_with_role(self, role: ColumnRole) -> list[str]:
        """Names of the columns that have ``role``, in schema order."""
        return [name for name, spec in self.columns.items() if spec.role == role]

    @property
    def pii_columns(self) -> list[str]:
        """Names of the columns flagged as personal data."""
        return [name for name, spec in self.columns.items() if spec.pii]
