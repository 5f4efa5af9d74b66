"""The platform DB on SQLite: engines, pragmas, migrations, error mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from ferryml.errors import ServiceUnavailableError, StorageError
from ferryml.storage.db import (
    VERSION_TABLE,
    current_revision,
    head_revision,
    lock_key,
    make_engine,
    mask_url,
    normalize_url,
    transaction,
    upgrade,
)


def test_make_engine_creates_parent_dirs_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ferryml.db"
    engine = make_engine(f"sqlite:///{path}")
    assert path.exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30_000
    engine.dispose()


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ferryml.db'}")
    assert current_revision(engine) is None
    first = upgrade(engine)
    assert first == head_revision() == current_revision(engine)
    assert upgrade(engine) == first
    tables = set(inspect(engine).get_table_names())
    assert {"audit_log", VERSION_TABLE} <= tables
    assert "alembic_version" not in tables  # leaves MLflow's alembic history alone
    engine.dispose()


def test_audit_log_has_its_unique_constraint(sqlite_engine: Engine) -> None:
    uniques = inspect(sqlite_engine).get_unique_constraints("audit_log")
    assert {"name": "uq_audit_log_project_seq", "column_names": ["project", "seq"]} in [
        {"name": u["name"], "column_names": u["column_names"]} for u in uniques
    ]


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg"),
        ("postgres://u:p@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_normalize_url_picks_psycopg(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "postgresql+psycopg2://u@h/db"])
def test_unsupported_urls_are_rejected(url: str) -> None:
    with pytest.raises(StorageError, match="database URL"):
        normalize_url(url)


def test_mask_url_hides_the_password() -> None:
    masked = mask_url(normalize_url("postgresql://ana:s3cret@db.example:5432/ferry"))
    assert "s3cret" not in masked
    assert masked == "postgresql+psycopg://ana:***@db.example:5432/ferry"


def test_lock_key_is_stable_signed_64_bit() -> None:
    # Pinned: a changed key would let old and new processes append to one chain unserialized.
    assert lock_key("audit:fraud") == lock_key("audit:fraud")
    assert lock_key("audit:fraud") != lock_key("audit:churn")
    assert -(2**63) <= lock_key("audit:fraud") < 2**63
    assert lock_key("migrations") == -4652619111831624825  # sha256("ferryml:migrations")[:8]


def test_sql_errors_become_storage_errors(sqlite_engine: Engine) -> None:
    with (
        pytest.raises(StorageError, match="reading things failed on sqlite") as caught,
        transaction(sqlite_engine, purpose="reading things") as conn,
    ):
        conn.exec_driver_sql("SELECT * FROM no_such_table WHERE secret = 'pii'")
    assert "no such table" in str(caught.value)
    assert "pii" not in str(caught.value)  # SQLAlchemy's [SQL: …] echo is not repeated
    assert caught.value.__cause__ is not None


def test_transaction_rolls_back_on_error(sqlite_engine: Engine) -> None:
    with pytest.raises(RuntimeError), transaction(sqlite_engine, lock="x") as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        raise RuntimeError("boom")
    assert "scratch" not in inspect(sqlite_engine).get_table_names()


def test_unopenable_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()  # a directory where the database file should be
    with pytest.raises(ServiceUnavailableError, match="cannot open the SQLite database"):
        make_engine(f"sqlite:///{tmp_path / 'dir.db'}")


def test_sqlite_parent_that_is_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot create the directory"):
        make_engine(f"sqlite:///{tmp_path / 'file' / 'ferryml.db'}")
