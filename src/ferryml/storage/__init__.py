"""The platform's storage: the DB (SQLite or PostgreSQL), Redis keyspaces, atomic file writes.

>>> from ferryml.storage import make_engine, upgrade
>>> import tempfile
>>> _ = upgrade(make_engine(f"sqlite:///{tempfile.mkdtemp()}/ferryml.db"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryml._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
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

# Names load on first use: the config loader imports config models below this package,
# and a command (or a spawned process) that only reads a config should not pay for the rest.
_EXPORTS = {
    "ProjectKeyspace": "ferryml.storage.keyspace",
    "atomic_directory": "ferryml.storage.atomic",
    "atomic_path": "ferryml.storage.atomic",
    "atomic_write_bytes": "ferryml.storage.atomic",
    "atomic_write_text": "ferryml.storage.atomic",
    "connect_redis": "ferryml.storage.keyspace",
    "current_revision": "ferryml.storage.db",
    "head_revision": "ferryml.storage.db",
    "make_engine": "ferryml.storage.db",
    "mask_url": "ferryml.storage.db",
    "transaction": "ferryml.storage.db",
    "upgrade": "ferryml.storage.db",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

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
