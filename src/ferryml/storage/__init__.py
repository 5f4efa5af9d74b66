"""The platform's storage: the DB (SQLite or PostgreSQL), Redis keyspaces, atomic file writes.

>>> from ferryml.storage import make_engine, upgrade
>>> import tempfile
>>> _ = upgrade(make_engine(f"sqlite:///{tempfile.mkdtemp()}/ferryml.db"))
"""

from ferryml.storage.atomic import (
    atomic_directory,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
)
from ferryml.storage.db import (
    current_revision,
    head_revision,
    make_engine,
    mask_url,
    transaction,
    upgrade,
)
from ferryml.storage.keyspace import ProjectKeyspace, connect_redis

__all__ = [
    "ProjectKeyspace",
    "atomic_directory",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "connect_redis",
    "current_revision",
    "head_revision",
    "make_engine",
    "mask_url",
    "transaction",
    "upgrade",
]
