"""Project keyspaces on a real Redis: prefixes, isolation, SCAN-based cleanup."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis

from ferryml.errors import ServiceUnavailableError, StorageError
from ferryml.storage.keyspace import ProjectKeyspace, connect_redis

pytestmark = pytest.mark.redis


def test_set_get(redis_client: redis.Redis, redis_project: str) -> None:
    keys = ProjectKeyspace(redis_client, redis_project)
    keys.set("routing", "weights", value='{"champion": 0.9}')
    keys.set("bytes", value=b"\x00\xff")
    assert keys.get("routing", "weights") == b'{"champion": 0.9}'
    assert keys.get("bytes") == b"\x00\xff"
    assert keys.get("missing") is None
    assert redis_client.get(f"ferryml:{redis_project}:routing:weights") == b'{"champion": 0.9}'


def test_ttl(redis_client: redis.Redis, redis_project: str) -> None:
    keys = ProjectKeyspace(redis_client, redis_project)
    keys.set("ramp", value="1", ttl=timedelta(seconds=30))
    assert 0 < redis_client.ttl(keys.key("ramp")) <= 30


def test_projects_do_not_collide_and_delete_all_is_scoped(
    redis_client: redis.Redis, redis_project: str
) -> None:
    mine = ProjectKeyspace(redis_client, redis_project)
    other = ProjectKeyspace(redis_client, redis_project + "x")  # a prefix-sharing name
    for i in range(1_200):  # more than one SCAN/UNLINK batch
        mine.set("feature", str(i), value="m")
    other.set("feature", "0", value="o")
    assert mine.get("feature", "0") == b"m"
    assert other.get("feature", "0") == b"o"

    assert mine.delete_all() == 1_200
    assert mine.get("feature", "0") is None
    assert other.get("feature", "0") == b"o"
    assert other.delete_all() == 1


def test_redis_refusals_are_storage_errors(redis_client: redis.Redis, redis_project: str) -> None:
    keys = ProjectKeyspace(redis_client, redis_project)
    redis_client.rpush(keys.key("a-list"), "x")
    with pytest.raises(StorageError, match=r"Redis refused GET ferryml:.*:a-list: WRONGTYPE"):
        keys.get("a-list")


def test_connect_redis_answers(redis_client: redis.Redis) -> None:
    client = connect_redis("redis://127.0.0.1:6379/0")
    assert client.ping()
    client.close()


@pytest.mark.parametrize(
    "url", ["redis://:s3cret@127.0.0.1:1/0", "redis://user:s3cret@10.255.255.1:6379/0"]
)
def test_unreachable_redis_fails_fast(url: str) -> None:
    began = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as caught:
        connect_redis(url, timeout=0.5)
    assert time.monotonic() - began < 3
    assert "s3cret" not in str(caught.value)
    assert "redis-server" in str(caught.value)
