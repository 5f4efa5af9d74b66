"""The audit key: environment over file, clear errors, exclusive creation, and a lost key that
is never silently replaced once entries were signed with it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ferryml.errors import ConfigError
from ferryml.governance import AuditTrail, load_audit_key
from ferryml.governance.audit_key import audit_key_source, create_audit_key_file
from ferryml.governance.config import AuditConfig

SETTINGS = AuditConfig()
SECRET = "s3cret-audit-key-0123456789"


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    create_audit_key_file(tmp_path / ".secrets" / "audit.key")
    from_file = load_audit_key(SETTINGS, tmp_path, environ={})
    assert len(from_file) == 64
    env = {"FERRY_AUDIT_KEY": f"  {SECRET}\n"}
    assert load_audit_key(SETTINGS, tmp_path, environ=env) == SECRET.encode()


def test_a_missing_key_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_audit_key(SETTINGS, tmp_path, environ={})
    message = str(caught.value)
    assert str(tmp_path / ".secrets" / "audit.key") in message and "FERRY_AUDIT_KEY" in message
    settings = AuditConfig(key_file=None, key_env="MY_AUDIT_KEY")
    with pytest.raises(ConfigError, match="MY_AUDIT_KEY is not set"):
        load_audit_key(settings, tmp_path, environ={})


def test_a_short_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="too short: 5 bytes") as caught:
        load_audit_key(SETTINGS, tmp_path, environ={"FERRY_AUDIT_KEY": "abcde"})
    assert "abcde" not in str(caught.value)


def test_the_key_file_is_private_and_created_once(tmp_path: Path) -> None:
    path = tmp_path / ".secrets" / "audit.key"
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait(timeout=10)
        results.append(create_audit_key_file(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [False] * 7 + [True]  # one creator; the others read its key
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["audit.key"]  # no stray temp files


def test_a_lost_key_is_recreated_only_before_the_first_keyed_entry(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    def trail() -> AuditTrail:
        source = audit_key_source(
            SETTINGS, tmp_path, has_keyed_entries=lambda: opened.has_keyed_entries(), environ={}
        )
        opened = AuditTrail(sqlite_engine, "fraud", key=source)
        return opened

    trail().append("user:ana", "workspace.init", "ws")  # an older workspace: the key is made
    key_file = tmp_path / ".secrets" / "audit.key"
    assert key_file.exists()
    key_file.unlink()
    with pytest.raises(ConfigError, match="restore the workspace's key file"):
        trail().append("user:ana", "data.ingest", "x")
    assert not key_file.exists()  # a new key would orphan the signed entries: none is made
