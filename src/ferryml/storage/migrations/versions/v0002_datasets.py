"""datasets: one row per published, immutable dataset version, namespaced by project.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Spelled out rather than taken from tables.py: a migration is a frozen record of the schema
    # at its revision, and must not change when tables.py moves on.
    op.create_table(
        "datasets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("dataset", sa.String(63), nullable=False),
        sa.Column(
            "version", sa.String(64), nullable=False, comment="leading hex chars of content_hash"
        ),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=False, comment="JSON list of {name, type}"),
        sa.Column("key_columns", sa.Text(), nullable=False, comment="JSON list of column names"),
        sa.Column(
            "path", sa.Text(), nullable=False, comment="relative to the project's processed dir"
        ),
        sa.Column("source", sa.Text(), nullable=False, comment="JSON object"),
        sa.Column("parents", sa.Text(), nullable=False, comment="JSON list of 'dataset@version'"),
        sa.Column("validation", sa.Text(), nullable=True, comment="JSON object or NULL"),
        sa.Column("extra", sa.Text(), nullable=False, comment="JSON object"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint(
            "project", "dataset", "version", name="uq_datasets_project_dataset_version"
        ),
    )
    op.create_index(
        "ix_datasets_project_dataset_created_at", "datasets", ["project", "dataset", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_datasets_project_dataset_created_at", table_name="datasets")
    op.drop_table("datasets")
