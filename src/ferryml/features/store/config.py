"""Which Feast online and offline stores a project uses: strict configs, one per backend.

The online store is chosen by its ``type``, a discriminator, so a YAML typo in the type or in
any key is an error naming it::

    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(OnlineStoreConfig).validate_python({"type": "redis"})
    RedisOnlineStoreConfig(type='redis', url=None)
    >>> SqliteOnlineStoreConfig().path.as_posix()
    'data/online/features.db'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from ferryml.config.base import StrictModel


class SqliteOnlineStoreConfig(StrictModel):
    """Feast's SQLite online store: one file, no server (the embedded default)."""

    type: Literal["sqlite"] = "sqlite"
    path: Path = Field(
        default=Path("data/online/features.db"),
        description="SQLite file of the online store; relative to the workspace root. "
        "One file per project: Feast's teardown deletes the whole file.",
    )


class RedisOnlineStoreConfig(StrictModel):
    """Feast's Redis online store, shared by every serving process."""

    type: Literal["redis"] = "redis"
    url: str | None = Field(
        default=None,
        description="redis://[user:password@]host:port/db (rediss:// for TLS); "
        "unset: storage.redis_url.",
    )


OnlineStoreConfig = Annotated[
    SqliteOnlineStoreConfig | RedisOnlineStoreConfig, Field(discriminator="type")
]
"""The online store section: ``{type: sqlite, path: ...}`` or ``{type: redis, url: ...}``."""


class OfflineStoreConfig(StrictModel):
    """Feast's offline store, which runs point-in-time joins over the views' Parquet files.

    ``file`` is Feast's Dask-based file store; ``duckdb`` is Feast's DuckDB store, which needs
    the ``ibis-framework`` package (Feast's ``duckdb`` extra).
    """

    type: Literal["file", "duckdb"] = "file"


__all__ = [
    "OfflineStoreConfig",
    "OnlineStoreConfig",
    "RedisOnlineStoreConfig",
    "SqliteOnlineStoreConfig",
]
