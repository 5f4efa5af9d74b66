"""Redis, namespaced by project: every key is ``ferryml:{project}:{part}:…``.

Serving runs as several processes, so shared state (routing weights, ramps, online features)
lives in Redis; the project prefix lets several projects share one Redis without collisions,
and lets :meth:`ProjectKeyspace.delete_all` remove exactly one project's keys::

    client = connect_redis("redis://127.0.0.1:6379/0")
    keys = ProjectKeyspace(client, "fraud")
    keys.key("routing", "weights")          # 'ferryml:fraud:routing:weights'
    keys.set("routing", "weights", value='{"champion": 0.9}', ttl=timedelta(hours=1))
    keys.get("routing", "weights")          # b'{"champion": 0.9}'
"""

from __future__ import annotations

from datetime import timedelta

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from ferryml.errors import InvalidInputError, ServiceUnavailableError, StorageError
from ferryml.names import validate_project_name
from ferryml.urls import masked_url

KEY_PREFIX = "ferryml"
DEFAULT_TIMEOUT_S = 2.0
"""Connect and socket timeout: a wrong host fails in seconds, not after the OS's minutes."""

_SCAN_BATCH = 500
_REDIS_START = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379"


def connect_redis(url: str, *, timeout: float = DEFAULT_TIMEOUT_S, retries: int = 2) -> redis.Redis:
    """A client for ``url`` that has answered a PING; :class:`ServiceUnavailableError` if not.

    ``timeout`` bounds connecting and each reply; ``retries`` brief retries follow a failed
    command (0 on a request path, where the caller has a fallback)."""
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            # redis-py's default backoff (base 1 s, cap 10 s, 3 retries) turns a dead server into
            # a many-second stall; retry transient blips briefly instead.
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=retries),
            decode_responses=False,
        )
    except ValueError as exc:  # redis-py's answer to a malformed URL
        raise InvalidInputError(
            f"invalid Redis URL {masked_url(url)!r}: {exc}",
            hint="use redis://host:6379/0 (or rediss:// for TLS) in storage.redis_url",
        ) from exc
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise ServiceUnavailableError(
            f"Redis at {masked_url(url)} does not answer: {exc}",
            hint=f"is Redis running? start it with `{_REDIS_START}`; check storage.redis_url",
        ) from exc
    return client


def same_server(a: redis.Redis, b: redis.Redis) -> bool:
    """Whether two clients talk to the same Redis database (so one command can serve both)."""
    ka = a.connection_pool.connection_kwargs
    kb = b.connection_pool.connection_kwargs
    return all(ka.get(k) == kb.get(k) for k in ("host", "port", "path", "db", "username"))


class ProjectKeyspace:
    """The keys of one project in Redis. Redis errors leave as ferryml errors."""

    def __init__(self, client: redis.Redis, project: str) -> None:
        self._client = client
        self.project = validate_project_name(project)
        self.prefix = f"{KEY_PREFIX}:{self.project}:"

    def key(self, *parts: str) -> str:
        """``ferryml:{project}:{part}:…``; parts are non-empty and contain no ``:``.

        A ``:`` inside a part would let ``("a:b",)`` and ``("a", "b")`` name the same key.
        """
        if not parts:
            raise InvalidInputError("a Redis key needs at least one part after the project")
        for part in parts:
            if not isinstance(part, str) or not part or ":" in part:
                raise InvalidInputError(
                    f"invalid Redis key part {part!r} in {parts!r}: "
                    "parts must be non-empty strings without ':'"
                )
        return self.prefix + ":".join(parts)

    def set(self, *parts: str, value: str | bytes, ttl: timedelta | None = None) -> None:
        """Store ``value`` under ``key(*parts)``, expiring after ``ttl`` if given."""
        name = self.key(*parts)
        try:
            self._client.set(name, value, ex=ttl)
        except redis.RedisError as exc:
            raise self._error("SET", name, exc) from exc

    def get(self, *parts: str) -> bytes | None:
        """The value under ``key(*parts)``, or ``None``."""
        name = self.key(*parts)
        try:
            value = self._client.get(name)
        except redis.RedisError as exc:
            raise self._error("GET", name, exc) from exc
        if isinstance(value, str):  # a client made with decode_responses=True
            return value.encode()
        return value

    def delete_all(self) -> int:
        """Delete every key of this project (SCAN on its prefix, never KEYS); return how many.

        The prefix needs no glob escaping: project names hold no ``*?[]\\``.
        """
        deleted = 0
        batch: list[bytes | str] = []
        try:
            for name in self._client.scan_iter(match=self.prefix + "*", count=_SCAN_BATCH):
                batch.append(name)
                if len(batch) >= _SCAN_BATCH:
                    deleted += self._client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += self._client.unlink(*batch)
        except redis.RedisError as exc:
            raise self._error("SCAN/UNLINK", self.prefix + "*", exc) from exc
        return deleted

    def _error(self, command: str, name: str, exc: redis.RedisError) -> Exception:
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            return ServiceUnavailableError(
                f"Redis does not answer ({command} {name}): {exc}",
                hint=f"is Redis running? start it with `{_REDIS_START}`",
            )
        return StorageError(f"Redis refused {command} {name}: {exc}")


__all__ = ["KEY_PREFIX", "ProjectKeyspace", "connect_redis", "same_server"]
