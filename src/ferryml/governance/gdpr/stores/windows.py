"""Window state: each entity's recent events, for online velocity features.

The state of the subject's own entities (per window definition, the values of its entity's
key column in the footprint) is deleted whole; the subject's events inside other entities'
state (a merchant's recent payments) are removed by event id. On Redis the state is one
sorted set per (view, entity) named ``ferryml:{project}:win:{view}:{entity}``, each member
``event_id NUL time value``; in SQLite one table ``window_events``, compacted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import redis

from ferryml.features.store.config import RedisOnlineStoreConfig
from ferryml.governance.gdpr.footprint import Footprint
from ferryml.governance.gdpr.sqlite_files import compact, connect
from ferryml.governance.gdpr.stores.base import MASK, Erased, Location, SubjectStore
from ferryml.storage.keyspace import KEY_PREFIX

_BATCH = 500


class WindowState(SubjectStore):
    """The window state beside the online store: Redis with a Redis online store, else the
    SQLite file ``features.store.window_state``."""

    name = "windows"
    description = "window state (recent events per entity)"

    def own_keys(self, footprint: Footprint) -> dict[str, frozenset[str]]:
        """Per window view: the subject's own entity keys."""
        features = self.scope.context.loaded.config.features
        owned = {}
        for view, window in features.windows.items():
            entity = features.entities.get(window.entity)
            values = footprint.values(entity.key) if entity is not None else frozenset()
            if values:
                owned[view] = values
        return owned

    def find(self, footprint: Footprint) -> list[Location]:
        return self._visit(footprint, erase=False)[0]

    def erase(self, footprint: Footprint) -> Erased:
        found, pending = self._visit(footprint, erase=True)
        return Erased(
            self.name,
            sum(location.items for location in found),
            len(found),
            pending,
        )

    def _visit(
        self, footprint: Footprint, *, erase: bool
    ) -> tuple[list[Location], tuple[str, ...]]:
        online = self.scope.context.loaded.config.features.store.online_store
        if isinstance(online, RedisOnlineStoreConfig):
            client = self.scope.redis(online.url)
            return self._redis(client, footprint, erase=erase), ()
        path = self.scope.root / self.scope.context.loaded.config.features.store.window_state
        if not path.is_file():
            return [], ()
        return self._sqlite(path, footprint, erase=erase)

    def _redis(self, client: redis.Redis, footprint: Footprint, *, erase: bool) -> list[Location]:
        prefix = f"{KEY_PREFIX}:{self.scope.project}:win:"
        owned = self.own_keys(footprint)
        events = {e.encode() for e in footprint.event_ids}
        doomed: list[bytes] = []
        trimmed: dict[bytes, list[bytes]] = {}
        for batch in _batches(client.scan_iter(match=prefix + "*", count=_BATCH)):
            names = [k if isinstance(k, bytes) else k.encode() for k in batch]
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.zrange(name, 0, -1)
            for name, members in zip(names, pipe.execute(), strict=True):
                view, _, escaped = name.decode()[len(prefix) :].partition(":")
                entity = escaped.replace("%3A", ":").replace("%25", "%")
                if entity in owned.get(view, ()):
                    doomed.append(name)
                    continue
                mine = [m for m in members if m.split(b"\x00", 1)[0] in events]
                if mine:
                    trimmed[name] = mine
        found = [
            Location(self.name, f"{prefix}{_view(name, prefix)}:{MASK}", 1) for name in doomed
        ] + [
            Location(self.name, f"{prefix}{_view(name, prefix)}:… (events)", len(members))
            for name, members in trimmed.items()
        ]
        if erase:
            pipe = client.pipeline(transaction=False)
            for batch in _batches(iter(doomed)):
                pipe.unlink(*batch)
            for name, members in trimmed.items():
                pipe.zrem(name, *members)
            pipe.execute()
        return found

    def _sqlite(
        self, path: Path, footprint: Footprint, *, erase: bool
    ) -> tuple[list[Location], tuple[str, ...]]:
        owned = self.own_keys(footprint)
        clauses, args = [], []
        for view, values in owned.items():
            clauses.append(f"(view = ? AND entity_key IN ({','.join('?' * len(values))}))")
            args += [view, *sorted(values)]
        if footprint.event_ids:
            clauses.append(f"event_id IN ({','.join('?' * len(footprint.event_ids))})")
            args += sorted(footprint.event_ids)
        if not clauses:
            return [], ()
        where = f"project = ? AND ({' OR '.join(clauses)})"
        with connect(path) as conn:
            count = int(
                conn.execute(
                    f"SELECT count(*) FROM window_events WHERE {where}", [self.scope.project, *args]
                ).fetchone()[0]
            )
            if erase and count:
                conn.execute(
                    f"DELETE FROM window_events WHERE {where}", [self.scope.project, *args]
                )
        if not count:
            return [], ()
        pending: tuple[str, ...] = ()
        if erase and not compact(path):
            pending = (f"{self.scope.relative(path)}: WAL not truncated (a reader holds it)",)
        return [Location(self.name, f"{self.scope.relative(path)}#window_events", count)], pending


def _view(name: bytes, prefix: str) -> str:
    return name.decode()[len(prefix) :].partition(":")[0]


def _batches(
    items: Iterator[bytes] | Iterator[str] | Iterator[bytes | str],
) -> Iterator[list[bytes | str]]:
    batch: list[bytes | str] = []
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = ["WindowState"]
