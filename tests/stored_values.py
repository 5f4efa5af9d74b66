"""Search everything ferryml stored for given values: files (Parquet columns, SQLite tables,
compressed and zipped files opened), PostgreSQL tables, a project's Redis keys. The GDPR
erasure test and the secrets-and-PII test use it."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import redis

from ferryml.features.store.names import feast_project_name

UNCHECKED_MAGIC = {b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4"}


def search_files(root: Path, needles: dict[str, bytes]) -> list[str]:
    """Every place in the files under ``root`` that holds a needle."""
    hits: list[str] = []
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        hits += [
            f"{name}: its name holds the {what}"
            for what, n in needles.items()
            if n in name.encode()
        ]
        if path.is_file() and not path.is_symlink():
            hits += search_blob(name, path.read_bytes(), needles, path)
    return hits


def search_blob(name: str, data: bytes, needles: dict[str, bytes], path: Path | None) -> list[str]:
    hits = [f"{name}: bytes hold the {what}" for what, needle in needles.items() if needle in data]
    inner: list[tuple[str, bytes]] = []
    if data[:4] == b"PAR1":
        hits += _search_parquet(name, data, needles)
    elif data[:2] == b"\x1f\x8b":
        inner.append((f"{name}!gunzip", gzip.decompress(data)))
    elif data[:3] == b"BZh":
        inner.append((f"{name}!bunzip2", bz2.decompress(data)))
    elif data[:6] == b"\xfd7zXZ\x00":
        inner.append((f"{name}!unxz", lzma.decompress(data)))
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inner += [(f"{name}!{member}", archive.read(member)) for member in archive.namelist()]
    elif data[:16] == b"SQLite format 3\x00" and path is not None:
        hits += _search_sqlite(name, path, needles)
    elif data[:4] in UNCHECKED_MAGIC:
        hits.append(f"{name}: {UNCHECKED_MAGIC[data[:4]]}-compressed, which this test cannot read")
    for inner_name, inner_data in inner:
        hits += search_blob(inner_name, inner_data, needles, None)
    return hits


def _search_parquet(name: str, data: bytes, needles: dict[str, bytes]) -> list[str]:
    table = pq.read_table(pa.BufferReader(data))
    hits = []
    for column_name in table.column_names:
        values = table.column(column_name).to_pylist()
        blob = b"\x00".join(_as_bytes(v) for v in values)
        hits += [
            f"{name}: column {column_name!r} holds the {what}"
            for what, needle in needles.items()
            if needle in blob
        ]
    return hits


def _search_sqlite(name: str, path: Path, needles: dict[str, bytes]) -> list[str]:
    hits = []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            blob = b"\x00".join(
                _as_bytes(value)
                for row in conn.execute(f'SELECT * FROM "{table}"')
                for value in row
            )
            hits += [
                f"{name}: table {table} holds the {what}"
                for what, needle in needles.items()
                if needle in blob
            ]
    finally:
        conn.close()
    return hits


def search_postgres(url: str, needles: dict[str, bytes]) -> list[str]:
    """Every table of the database, every column of every row, as text and as bytes."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    hits = []
    with psycopg.connect(dsn) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        assert "predictions" in tables and "datasets" in tables, tables
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            blob = b"\x00".join(_as_bytes(value) for row in rows for value in row)
            hits += [
                f"PostgreSQL table {table} holds the {what}"
                for what, needle in needles.items()
                if needle in blob
            ]
    return hits


def search_redis(
    client: redis.Redis, project: str, needles: dict[str, bytes]
) -> tuple[int, list[str]]:
    """Every key of the project (ferryml's keyspace and Feast's rows): its name and value.
    Returns how many keys there are and where a needle is."""
    keys = project_keys(client, project)
    hits = []
    for key in keys:
        kind = client.type(key)
        parts: list[bytes] = [key]
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"hash":
            parts += [b for pair in client.hgetall(key).items() for b in pair]
        elif kind == b"zset":
            parts += client.zrange(key, 0, -1)
        elif kind == b"list":
            parts += client.lrange(key, 0, -1)
        elif kind == b"set":
            parts += list(client.smembers(key))
        elif kind == b"stream":
            parts += [repr(entry).encode() for entry in client.xrange(key)]
        blob = b"\x00".join(parts)
        hits += [
            f"Redis key {key[:60]!r} holds the {what}"
            for what, needle in needles.items()
            if needle in blob
        ]
    return len(keys), hits


def project_keys(client: redis.Redis, project: str) -> list[bytes]:
    prefix, suffix = f"ferryml:{project}:".encode(), feast_project_name(project).encode()
    return [
        key
        for key in client.scan_iter(count=1000)
        if key.startswith(prefix) or key.endswith(suffix)
    ]


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return repr(value).encode()
