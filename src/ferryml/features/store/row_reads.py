"""Online rows of several batch views in one round trip, read in Feast's own storage layout.

Serving needs, per request, one row of each batch view (the customer's profile, the card's,
the merchant's risk). Feast's ``online_read`` answers one view per call and costs 80-120 µs a
call before any I/O (an ``EntityKey`` protobuf serialized in Python, a cursor, datetimes per
row): three views took a third of the request's budget. These readers fetch the same rows
Feast wrote, all views of a request at once:

- SQLite: one ``SELECT … UNION ALL …`` statement over the views' tables;
- Redis: one pipeline of ``HMGET``, one per (view, entity).

The layout comes from Feast's helpers (table ids, hash field names, entity-key serialization),
never from copies of them; :func:`entity_key_encoder` checks its shortcut against Feast's
``serialize_entity_key`` once per join key, and the contract tests compare every reader with
Feast's ``online_read``. Writes stay with Feast (``write_to_online_store``).

A row is returned as ``{feature name: serialized ValueProto}``: decoding is the caller's
(:func:`ferryml.features.store.online.decode_row`).
"""

from __future__ import annotations

import sqlite3
import struct
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferryml.errors import DataError, ServiceUnavailableError, StorageError
from ferryml.storage.db import SQLITE_MMAP_BYTES

if TYPE_CHECKING:
    import redis

    from ferryml.features.store.online import View

RawRow = dict[str, bytes]
"""One entity's row of one view: serialized ``ValueProto`` per feature name."""

Lookup = tuple["View", str]
"""A view and the entity key whose row to read."""

_STRING = 2  # feast.types.Value.ValueType.STRING, the type of every ferryml entity key


def entity_key_encoder(join_key: str, version: int) -> Callable[[str | None], bytes]:
    """Feast's serialized ``EntityKey`` of one string key of ``join_key``, without building a
    protobuf per call: the bytes before the value are computed once by Feast itself. A missing
    key (``None``) encodes as ``b""``, which no stored row has.

    >>> encode = entity_key_encoder("customer_id", 3)
    >>> encode("C7")[-10:]
    b'\\x02\\x00\\x00\\x00\\x02\\x00\\x00\\x00C7'
    """
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    def feast(key: str) -> bytes:
        proto = EntityKey(join_keys=[join_key], entity_values=[Value(string_val=key)])
        return bytes(serialize_entity_key(proto, entity_key_serialization_version=version))

    head = struct.Struct("<II")
    empty = feast("")
    prefix = empty[: -head.size]

    def encode(key: str | None) -> bytes:
        if key is None:  # an event without this entity: no row can match the empty key
            return b""
        raw = key.encode()
        return prefix + head.pack(_STRING, len(raw)) + raw

    sample = "ferryml-check-é"
    if empty != encode("") or feast(sample) != encode(sample):
        raise StorageError(
            f"Feast's entity key serialization (version {version}) is not the layout ferryml "
            "reads: the online store cannot be read safely",
            hint="install the Feast version pinned in requirements.lock",
        )
    return encode


class RowReads(ABC):
    """Reads the online rows of several (view, entity) pairs in one round trip."""

    @abstractmethod
    def read(self, lookups: Sequence[Lookup]) -> list[RawRow | None]:
        """The row of each lookup, in order; ``None`` where the store holds none."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""


class SqliteRowReads(RowReads):
    """Rows from Feast's SQLite online store file at ``path``, on a read-only connection."""

    def __init__(self, path: str | Path, project: str, *, versioned_tables: bool) -> None:
        self.path = Path(path)
        self._project = project
        self._versioned = versioned_tables
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._statements: dict[tuple[str, ...], str] = {}

    def read(self, lookups: Sequence[Lookup]) -> list[RawRow | None]:
        if not lookups:
            return []
        names = tuple(view.feature_view.name for view, _ in lookups)
        sql = self._statements.get(names) or self._statement(lookups)
        args = [view.encode_key(key) for view, key in lookups]
        with self._lock, self._errors():
            rows = self._connection().execute(sql, args).fetchall()
        found: list[RawRow | None] = [None] * len(lookups)
        for index, name, value in rows:
            row = found[index]
            if row is None:
                row = found[index] = {}
            row[name] = value
        return found

    def _statement(self, lookups: Sequence[Lookup]) -> str:
        from feast.infra.online_stores.helpers import compute_table_id

        tables = [
            str(compute_table_id(self._project, view.feature_view, self._versioned))
            for view, _ in lookups
        ]
        parts = [
            f"SELECT {index}, feature_name, value FROM {_quote(table)} WHERE entity_key = ?"
            for index, table in enumerate(tables)
        ]
        sql = " UNION ALL ".join(parts)
        self._statements[tuple(view.feature_view.name for view, _ in lookups)] = sql
        return sql

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.exists():
                raise DataError(
                    f"the online store {self.path} does not exist",
                    hint="build and materialize the feature set first "
                    "(`ferry features build`, `ferry features materialize`)",
                )
            self._conn = sqlite3.connect(
                f"{self.path.absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            # Pages through a memory map, not one read() call each: the tables of a serving
            # feature set are read at random keys, far beyond SQLite's default 2 MB cache.
            self._conn.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            hint = (
                "materialize the feature set (`ferry features materialize`)"
                if "no such table" in str(exc)
                else f"check that {self.path} is the Feast online store of this project"
            )
            raise DataError(f"cannot read the online store {self.path}: {exc}", hint=hint) from exc


class RedisRowReads(RowReads):
    """Rows from Feast's Redis online store (``client``'s database) of Feast ``project``."""

    def __init__(self, client: redis.Redis, project: str, *, versioned_names: bool) -> None:
        self._client = client
        self._project = project.encode()
        self._versioned = versioned_names
        self._fields: dict[str, tuple[list[bytes], list[str]]] = {}

    @property
    def client(self) -> redis.Redis:
        """The Redis client (window state on the same server shares its round trips)."""
        return self._client

    def read(self, lookups: Sequence[Lookup]) -> list[RawRow | None]:
        if not lookups:
            return []
        hash_reads, parse = self.hash_reads(lookups)
        pipe = self._client.pipeline(transaction=False)
        for key, fields in hash_reads:
            pipe.hmget(key, fields)
        with redis_errors():
            return parse(pipe.execute())

    def hash_reads(
        self, lookups: Sequence[Lookup]
    ) -> tuple[list[tuple[bytes, list[bytes]]], Callable[[Sequence[Any]], list[RawRow | None]]]:
        """The ``HMGET`` (key, fields) of each lookup, and the function that turns their
        replies into rows: for callers that send them with other commands."""
        reads = []
        names = []
        for view, key in lookups:
            fields, features = self._fields.get(view.feature_view.name) or self._hash_fields(view)
            reads.append((view.encode_key(key) + self._project, fields))
            names.append(features)

        def parse(replies: Sequence[Any]) -> list[RawRow | None]:
            found: list[RawRow | None] = []
            for features, values in zip(names, replies, strict=True):
                if values[-1] is None:  # no "_ts:<view>" field: Feast never wrote this row
                    found.append(None)
                    continue
                found.append(
                    {
                        name: value
                        for name, value in zip(features, values, strict=False)
                        if value is not None
                    }
                )
            return found

        return reads, parse

    def _hash_fields(self, view: View) -> tuple[list[bytes], list[str]]:
        from feast.infra.online_stores.helpers import _mmh3, compute_versioned_name

        fv_name = compute_versioned_name(view.feature_view, self._versioned)
        features = [name for name, _ in view.fields]
        fields = [_mmh3(f"{fv_name}:{name}") for name in features] + [f"_ts:{fv_name}".encode()]
        self._fields[view.feature_view.name] = (fields, features)
        return fields, features

    def close(self) -> None:
        self._client.close()


@contextmanager
def redis_errors() -> Iterator[None]:
    """Redis errors of online reads as ferryml errors."""
    import redis

    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise ServiceUnavailableError(
            f"Redis (the online store) does not answer: {exc}",
            hint="is Redis running? features fall back to missing values until it answers",
        ) from exc
    except redis.RedisError as exc:
        raise DataError(f"Redis refused to read the online store: {exc}") from exc


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


__all__ = [
    "Lookup",
    "RawRow",
    "RedisRowReads",
    "RowReads",
    "SqliteRowReads",
    "entity_key_encoder",
]
