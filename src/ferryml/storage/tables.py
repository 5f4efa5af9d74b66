"""The platform DB schema, as SQLAlchemy Core tables.

The alembic migrations in ``storage/migrations/versions`` create these tables; this module is
what the code queries and what ``alembic revision --autogenerate`` compares against. Every table
carries a ``project`` column: several projects share one database without seeing each other.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Named constraints, so that later migrations can drop or alter them by name on every backend
# (SQLite batch mode needs names to recreate tables).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BigInteger ids on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
_Id = BigInteger().with_variant(Integer(), "sqlite")

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("project", String(63), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("object", Text, nullable=False),
    Column("details", Text, nullable=False, comment="canonical JSON object"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("project", "seq", name="uq_audit_log_project_seq"),
    Index("ix_audit_log_project_ts", "project", "ts"),
)
"""One row per audit entry; ``(project, seq)`` is the chain position, ``hash`` links the chain."""

__all__ = ["audit_log", "metadata"]
