"""The feature store: Feast, managed by ferryml (registry, historical retrieval, online store).

Importing this package does not import Feast (7-13 s); :class:`FeastRepo` does on first use.
"""

from __future__ import annotations

from ferryml.features.store.compile import (
    DTYPE_TAG,
    FEATURE_SET_VERSION_TAG,
    computed_by_ferryml,
)
from ferryml.features.store.config import (
    OfflineStoreConfig,
    OnlineStoreConfig,
    RedisOnlineStoreConfig,
    SqliteOnlineStoreConfig,
)
from ferryml.features.store.feast_repo import FeastRepo, FeatureViewInfo
from ferryml.features.store.names import feast_project_name, redis_connection_string

__all__ = [
    "DTYPE_TAG",
    "FEATURE_SET_VERSION_TAG",
    "FeastRepo",
    "FeatureViewInfo",
    "OfflineStoreConfig",
    "OnlineStoreConfig",
    "RedisOnlineStoreConfig",
    "SqliteOnlineStoreConfig",
    "computed_by_ferryml",
    "feast_project_name",
    "redis_connection_string",
]
