"""The platform database: engines, transactions, migrations; the one place DB errors are mapped.

A SQLite file is the default (no setup); PostgreSQL is one URL away. Everything above this module
talks SQLAlchemy Core through :func:`transaction` and never sees a driver exception: connection
failures become :class:`~ferryml.errors.ServiceUnavailableError` (the URL, password masked, and
how to start the service), every other failure a :class:`~ferryml.errors.StorageError`::

    >>> import tempfile
    >>> engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/sub/ferryml.db")
    >>> upgrade(engine) == current_revision(engine) == head_revision()
    True
    >>> with transaction(engine, lock="audit:fraud") as conn:  # serialized against other writers
    ...     conn.exec_driver_sql("SELECT 1").scalar_one()
    1

Schema changes are alembic revisions in ``storage/migrations/versions``; :func:`upgrade` runs
them programmatically (no ``alembic.ini``) and is safe to call from many processes at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from ferryml.errors import FerryError, ServiceUnavailableError, StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

VERSION_TABLE = "ferryml_alembic_version"
"""Not alembic's default ``alembic_version``: a team may point ferryml and MLflow (which also
uses alembic) at the same PostgreSQL database, and the two histories must not collide."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another process's write lock before giving up."""

SQLITE_MMAP_BYTES = 1 << 30
"""How much of a SQLite file the serving stores map into memory (address space, not resident
memory): pages are then read without a ``read()`` call each."""

DEFAULT_CONNECT_TIMEOUT_S = 5
"""PostgreSQL connect timeout: a wrong host fails in seconds instead of hanging for minutes."""

_MIGRATION_LOCK = "migrations"
_SQLITE_BEGIN = "ferryml_sqlite_begin"  # execution option read by the `begin` listener
_POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def make_engine(url: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_S) -> Engine:
    """Create an engine for ``url`` and check that the database answers.

    ``sqlite:///path/ferryml.db`` (parent directories are created; WAL, foreign keys and a busy
    timeout are set on every connection) or ``postgresql://user:pw@host:port/db`` (normalized to
    the psycopg driver). Raises :class:`ServiceUnavailableError` when the database does not answer.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        # A connect_timeout given in the URL's query wins over the default.
        timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": connect_timeout}
        engine = create_engine(
            parsed,
            pool_pre_ping=True,  # a pooled connection may have died with a server restart
            connect_args=timeout,
        )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa_exc.SQLAlchemyError as exc:
        engine.dispose()
        _raise_unavailable(engine, exc)
    return engine


def normalize_url(url: str) -> URL:
    """Parse ``url``; bare ``postgresql://`` and ``postgres://`` get the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise StorageError(
            f"invalid database URL {url!r}",
            hint="use sqlite:///path/to/ferryml.db or postgresql://user:password@host:5432/db",
        ) from exc
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in {"sqlite", "sqlite+pysqlite", "postgresql+psycopg"}:
        raise StorageError(
            f"unsupported database URL {mask_url(parsed)!r}: ferryml runs on SQLite "
            "(sqlite:///path) or PostgreSQL through psycopg 3 (postgresql://…)",
            hint="set storage.database_url to a sqlite:/// or postgresql:// URL",
        )
    return parsed


def mask_url(url: URL | Engine) -> str:
    """``url`` as a string with its password replaced by ``***``."""
    target = url.url if isinstance(url, Engine) else url
    return target.render_as_string(hide_password=True)


@contextmanager
def transaction(
    engine: Engine, *, lock: str | None = None, purpose: str = "database operation"
) -> Iterator[Connection]:
    """Yield a connection inside a transaction that commits on success, rolls back on error.

    With ``lock``, the transaction is serialized against every other transaction holding the
    same lock, in any process: PostgreSQL takes ``pg_advisory_xact_lock`` on a stable 64-bit key
    of ``lock``; SQLite starts with ``BEGIN IMMEDIATE`` (SQLite has one writer at a time anyway,
    so the lock covers the whole file). Locks are released at commit or rollback.

    Driver errors leave as ferryml errors; ``purpose`` names the operation in their message.
    """
    backend = engine.dialect.name
    try:
        conn = engine.connect()
    except sa_exc.SQLAlchemyError as exc:
        _raise_unavailable(engine, exc)
    try:
        with conn:
            if lock is not None and backend == "sqlite":
                conn.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
            with conn.begin():
                if lock is not None and backend == "postgresql":
                    key = bindparam("lock_key", lock_key(lock), type_=BigInteger)
                    conn.execute(select(func.pg_advisory_xact_lock(key)))
                yield conn
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            _raise_unavailable(engine, exc)
        raise _storage_error(engine, purpose, exc) from exc
    except sa_exc.SQLAlchemyError as exc:
        raise _storage_error(engine, purpose, exc) from exc


def insert_new(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, keys: Sequence[str]
) -> int:
    """Insert ``rows``, skipping those whose ``keys`` (a unique constraint of ``table``) are
    already stored: ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite alike.
    Returns how many rows were new."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return int(conn.execute(statement, list(rows)).rowcount or 0)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint).

    Derived from sha256 rather than :func:`hash`, which is salted per process: every process
    and every machine must agree on the key.

    >>> lock_key("audit:fraud") == lock_key("audit:fraud") != lock_key("audit:churn")
    True
    """
    digest = hashlib.sha256(f"ferryml:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def upgrade(engine: Engine) -> str:
    """Migrate the database to the newest schema; return that revision. Idempotent.

    Concurrent callers (several serving workers starting at once) are serialized by a lock,
    so the loser finds the schema already current instead of failing on ``CREATE TABLE``.
    """
    with transaction(engine, lock=_MIGRATION_LOCK, purpose="migrating the schema") as conn:
        command.upgrade(alembic_config(conn), "head")
        revision = _current_revision(conn)
    if revision is None:  # pragma: no cover - alembic just wrote it
        raise StorageError(f"migrating {mask_url(engine)} left no schema revision behind")
    return revision


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at; ``None`` for a database never migrated."""
    with transaction(engine, purpose="reading the schema revision") as conn:
        return _current_revision(conn)


def head_revision() -> str:
    """The newest schema revision this version of ferryml ships."""
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise StorageError(f"no migrations found in {MIGRATIONS_DIR}", hint="reinstall ferryml")
    return head


def _current_revision(conn: Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def alembic_config(conn: Connection | None) -> Config:
    """An alembic config for the shipped migrations, running on ``conn`` (for new revisions)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py runs on this connection, inside the caller's (locked) transaction.
    config.attributes["connection"] = conn
    return config


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or database.startswith("file:")
    if not in_memory:
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the directory of the SQLite database {database}: {exc.strerror}",
                hint="choose a writable path in storage.database_url or the workspace root",
            ) from exc
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from emitting its own BEGIN (it skips SELECTs and DDL, so reads would not
        # be repeatable and BEGIN IMMEDIATE would be impossible); `_on_begin` emits it instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                # WAL: readers never block the writer, nor it them; persistent in the file.
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))

    return engine


def _raise_unavailable(engine: Engine, exc: sa_exc.SQLAlchemyError) -> NoReturn:
    url = engine.url
    reason = _reason(engine, exc)
    if engine.dialect.name == "sqlite":
        raise ServiceUnavailableError(
            f"cannot open the SQLite database {mask_url(url)}: {reason}",
            hint="check that the file's directory exists and is writable, "
            "or set storage.database_url",
        ) from exc
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    raise ServiceUnavailableError(
        f"PostgreSQL at {mask_url(url)} does not answer: {reason}",
        hint=f"is PostgreSQL running at {where}? start it with `{_POSTGRES_START}`; "
        "check storage.database_url (user, password, database name)",
    ) from exc


def _storage_error(engine: Engine, purpose: str, exc: sa_exc.SQLAlchemyError) -> FerryError:
    return StorageError(f"{purpose} failed on {mask_url(engine)}: {_reason(engine, exc)}")


def _reason(engine: Engine, exc: sa_exc.SQLAlchemyError) -> str:
    # The driver's own message, not SQLAlchemy's, which appends the SQL and its parameters
    # (audit details, possibly personal data) to the text.
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    reason = "; ".join(line.strip() for line in text if line.strip()) or type(exc).__name__
    password = engine.url.password
    if password:
        reason = reason.replace(str(password), "***")
    return reason


__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "lock_key",
    "make_engine",
    "mask_url",
    "normalize_url",
    "transaction",
    "upgrade",
]
