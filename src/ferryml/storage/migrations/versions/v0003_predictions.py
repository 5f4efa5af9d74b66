"""predictions and labels: every served answer, and the delayed outcomes that join them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Spelled out rather than taken from tables.py: a migration is a frozen record.
    op.create_table(
        "predictions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True, comment="the request's id field"),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False, comment="HTTP status answered"),
        sa.Column("model_name", sa.String(63), nullable=True),
        sa.Column("model_version", sa.String(32), nullable=True),
        sa.Column("arm", sa.String(63), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False, comment="JSON: request, features, answer"),
        sa.PrimaryKeyConstraint("id", name="pk_predictions"),
        sa.UniqueConstraint("project", "request_id", name="uq_predictions_project_request_id"),
    )
    op.create_index("ix_predictions_project_ts", "predictions", ["project", "ts"])
    op.create_index("ix_predictions_project_event_id", "predictions", ["project", "event_id"])
    op.create_table(
        "labels",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("label", sa.Integer(), nullable=False),
        sa.Column("label_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_labels"),
        sa.UniqueConstraint("project", "event_id", name="uq_labels_project_event_id"),
    )


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_index("ix_predictions_project_event_id", table_name="predictions")
    op.drop_index("ix_predictions_project_ts", table_name="predictions")
    op.drop_table("predictions")
