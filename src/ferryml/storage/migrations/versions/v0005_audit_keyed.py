"""audit_log: keyed entries (the signed text and its scheme) and indexes for `ferry audit show`.

Existing entries are marked, not re-keyed: they get ``scheme = 'sha256'`` (their hash stays the
plain sha256 it was) and no ``entry`` text. Re-keying needs the audit key, and a migration runs
without it: ``upgrade`` runs wherever the platform DB is opened first, a serving worker
included, which must not need the key. The first append with the key verifies those entries
under sha256 and seals them with a keyed ``audit.seal`` entry (see ferryml.governance.audit).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_audit_log_project_action": ["project", "action"],
    "ix_audit_log_project_actor": ["project", "actor"],
    "ix_audit_log_project_object": ["project", "object"],
}


def upgrade() -> None:
    # Spelled out rather than taken from tables.py: a migration is a frozen record.
    # ADD COLUMN works on both backends, so batch mode alters SQLite in place (no table copy).
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(
            sa.Column(
                "scheme",
                sa.String(16),
                nullable=False,
                server_default="sha256",
                comment="hmac-sha256, or sha256 for entries written before the audit key",
            )
        )
        batch.add_column(
            sa.Column(
                "entry",
                sa.Text(),
                nullable=True,
                comment="the signed canonical JSON; NULL when sha256",
            )
        )
    for name, columns in _INDEXES.items():
        op.create_index(name, "audit_log", columns)


def downgrade() -> None:
    # Keyed entries lose their signed text: 0004's verification cannot check them any more.
    for name in _INDEXES:
        op.drop_index(name, table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry")
        batch.drop_column("scheme")
