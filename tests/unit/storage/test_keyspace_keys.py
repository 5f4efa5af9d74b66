"""Redis key building, which needs no server (the client connects lazily)."""

from __future__ import annotations

import re

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ferryml.errors import InvalidInputError, ServiceUnavailableError
from ferryml.storage.keyspace import ProjectKeyspace, connect_redis


@pytest.fixture
def keyspace() -> ProjectKeyspace:
    return ProjectKeyspace(redis.Redis(), "fraud-eu")


def test_key_layout(keyspace: ProjectKeyspace) -> None:
    assert keyspace.key("routing") == "ferryml:fraud-eu:routing"
    assert keyspace.key("routing", "weights") == "ferryml:fraud-eu:routing:weights"


@pytest.mark.parametrize("parts", [(), ("",), ("a:b",), ("ok", ""), ("ok", 3)])
def test_bad_parts_are_rejected(keyspace: ProjectKeyspace, parts: tuple[object, ...]) -> None:
    with pytest.raises(InvalidInputError, match="key"):
        keyspace.key(*parts)  # type: ignore[arg-type]


def test_bad_project_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="invalid project name 'Fraud'"):
        ProjectKeyspace(redis.Redis(), "Fraud")


def test_malformed_redis_url_is_a_storage_error() -> None:
    with pytest.raises(InvalidInputError, match=re.escape("invalid Redis URL 'http://:***@x'")):
        connect_redis("http://:pw@x")


def test_commands_on_a_dead_server_are_unavailable() -> None:
    dead = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    keyspace = ProjectKeyspace(dead, "fraud")
    with pytest.raises(ServiceUnavailableError, match="Redis does not answer"):
        keyspace.get("x")
    with pytest.raises(ServiceUnavailableError):
        keyspace.set("x", value="1")
    with pytest.raises(ServiceUnavailableError):
        keyspace.delete_all()
