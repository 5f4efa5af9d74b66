"""Feast's online store: the latest feature row per entity, keyed by Feast's entity key.

The subject's own entities are the subject column's values (raw and pseudonym) and the
footprint's linked values (their cards…), for every entity declared in ``features.entities``.
Each key is serialized exactly as Feast stores it (:func:`entity_key_encoder`, checked against
Feast's own serializer); on Redis the hash ``key + feast project`` is deleted (it holds every
view of that entity), in the SQLite file the rows of every view table, then the file is
compacted.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ferryml.features.store.config import RedisOnlineStoreConfig, SqliteOnlineStoreConfig
from ferryml.features.store.feast_repo import ENTITY_KEY_SERIALIZATION_VERSION
from ferryml.features.store.names import feast_project_name
from ferryml.features.store.row_reads import entity_key_encoder
from ferryml.governance.gdpr.footprint import Footprint
from ferryml.governance.gdpr.sqlite_files import compact, connect, quote, tables_with
from ferryml.governance.gdpr.stores.base import MASK, Erased, Location, SubjectStore

if TYPE_CHECKING:
    import redis


class OnlineRows(SubjectStore):
    """Feast online rows of the subject's entities (Redis or SQLite, as configured)."""

    name = "online"
    description = "Feast online store rows of the subject's entities"

    def entity_keys(self, footprint: Footprint) -> list[bytes]:
        """Feast's serialized entity keys of the subject's entities."""
        keys = []
        for entity in self.scope.context.loaded.config.features.entities.values():
            values = footprint.values(entity.key)
            if values:
                encode = entity_key_encoder(entity.key, ENTITY_KEY_SERIALIZATION_VERSION)
                keys += [encode(value) for value in sorted(values)]
        return keys

    def find(self, footprint: Footprint) -> list[Location]:
        keys = self.entity_keys(footprint)
        if not keys:
            return []
        online = self.scope.context.loaded.config.features.store.online_store
        if isinstance(online, RedisOnlineStoreConfig):
            client = self._redis(online)
            found = int(client.exists(*self._redis_keys(keys)))
            where = f"Redis hash {MASK}{self._feast_project}"
            return [Location(self.name, where, found)] if found else []
        path = self._sqlite_path()
        if not path.is_file():
            return []
        found_rows = []
        with connect(path) as conn:
            for table in tables_with(conn, "entity_key"):
                count = self._count(conn, table, keys)
                if count:
                    found_rows.append(
                        Location(self.name, f"{self.scope.relative(path)}#{table}", count)
                    )
        return found_rows

    def erase(self, footprint: Footprint) -> Erased:
        keys = self.entity_keys(footprint)
        if not keys:
            return Erased(self.name)
        online = self.scope.context.loaded.config.features.store.online_store
        if isinstance(online, RedisOnlineStoreConfig):
            deleted = int(self._redis(online).delete(*self._redis_keys(keys)))
            return Erased(self.name, deleted, deleted)
        path = self._sqlite_path()
        if not path.is_file():
            return Erased(self.name)
        items = places = 0
        with connect(path) as conn:
            for table in tables_with(conn, "entity_key"):
                marks = ",".join("?" * len(keys))
                cursor = conn.execute(
                    f"DELETE FROM {quote(table)} WHERE entity_key IN ({marks})", keys
                )
                if cursor.rowcount:
                    items += cursor.rowcount
                    places += 1
        pending: tuple[str, ...] = ()
        if not compact(path):
            pending = (f"{self.scope.relative(path)}: WAL not truncated (a reader holds it)",)
        return Erased(self.name, items, places, pending)

    @property
    def _feast_project(self) -> str:
        return feast_project_name(self.scope.project)

    def _redis_keys(self, keys: list[bytes]) -> list[bytes]:
        suffix = self._feast_project.encode()
        return [key + suffix for key in keys]

    def _redis(self, online: RedisOnlineStoreConfig) -> redis.Redis:
        return self.scope.redis(online.url)

    def _sqlite_path(self) -> Path:
        online = self.scope.context.loaded.config.features.store.online_store
        assert isinstance(online, SqliteOnlineStoreConfig)
        return self.scope.root / online.path

    @staticmethod
    def _count(conn: sqlite3.Connection, table: str, keys: list[bytes]) -> int:
        marks = ",".join("?" * len(keys))
        sql = f"SELECT count(*) FROM {quote(table)} WHERE entity_key IN ({marks})"
        return int(conn.execute(sql, keys).fetchone()[0])


__all__ = ["OnlineRows"]
