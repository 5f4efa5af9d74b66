"""The platform DB schema, as SQLAlchemy Core tables.

The alembic migrations in ``storage/migrations/versions`` create these tables; this module is
what the code queries and what ``alembic revision --autogenerate`` compares against. Every table
carries a ``project`` column: several projects share one database without seeing each other.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
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
    Column(
        "scheme",
        String(16),
        nullable=False,
        server_default="sha256",
        comment="hmac-sha256, or sha256 for entries written before the audit key",
    ),
    Column("entry", Text, nullable=True, comment="the signed canonical JSON; NULL when sha256"),
    UniqueConstraint("project", "seq", name="uq_audit_log_project_seq"),
    Index("ix_audit_log_project_ts", "project", "ts"),
    Index("ix_audit_log_project_action", "project", "action"),
    Index("ix_audit_log_project_actor", "project", "actor"),
    Index("ix_audit_log_project_object", "project", "object"),
)
"""One row per audit entry; ``(project, seq)`` is the chain position, ``hash`` links the chain,
``entry`` is the exact text the hash signs (the other columns are for queries)."""

datasets = Table(
    "datasets",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("project", String(63), nullable=False),
    Column("dataset", String(63), nullable=False),
    Column("version", String(64), nullable=False, comment="leading hex chars of content_hash"),
    Column("content_hash", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("schema", Text, nullable=False, comment="JSON list of {name, type}"),
    Column("key_columns", Text, nullable=False, comment="JSON list of column names"),
    Column("path", Text, nullable=False, comment="relative to the project's processed dir"),
    Column("source", Text, nullable=False, comment="JSON object"),
    Column("parents", Text, nullable=False, comment="JSON list of 'dataset@version'"),
    Column("validation", Text, nullable=True, comment="JSON object or NULL"),
    Column("extra", Text, nullable=False, comment="JSON object"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project", "dataset", "version", name="uq_datasets_project_dataset_version"),
    Index("ix_datasets_project_dataset_created_at", "project", "dataset", "created_at"),
)
"""One row per published dataset version (an immutable snapshot on disk, see data.versioning)."""

predictions = Table(
    "predictions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("project", String(63), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("event_id", Text, nullable=True, comment="the request's id field"),
    Column("event_time", DateTime(timezone=True), nullable=True),
    Column("status", Integer, nullable=False, comment="HTTP status answered"),
    Column("model_name", String(63), nullable=True),
    Column("model_version", String(32), nullable=True),
    Column("arm", String(63), nullable=True),
    Column("score", Float, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("threshold", Float, nullable=True),
    Column("degraded", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("record", Text, nullable=False, comment="JSON: request, features, answer"),
    UniqueConstraint("project", "request_id", name="uq_predictions_project_request_id"),
    Index("ix_predictions_project_ts", "project", "ts"),
    Index("ix_predictions_project_event_id", "project", "event_id"),
)
"""One row per answered (or refused) scoring request, shipped from the local prediction log."""

labels = Table(
    "labels",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("project", String(63), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("label", Integer, nullable=False),
    Column("label_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", Text, nullable=False),
    UniqueConstraint("project", "event_id", name="uq_labels_project_event_id"),
)
"""Delayed outcomes (chargebacks) by event id: the first one received for an event stays."""

serving_state = Table(
    "serving_state",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("project", String(63), nullable=False),
    Column("name", String(63), nullable=False),
    Column("value", Text, nullable=False, comment="JSON"),
    Column("revision", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
    UniqueConstraint("project", "name", name="uq_serving_state_project_name"),
)
"""Named, versioned values every serving worker of a project follows (e.g. the pin)."""

__all__ = ["audit_log", "datasets", "labels", "metadata", "predictions", "serving_state"]
