"""Shared fixtures for tests that use real services: PostgreSQL, Redis, a migrated SQLite file.

Service fixtures connect to the services on this machine (127.0.0.1:5432 as ``postgres``,
127.0.0.1:6379). When one does not answer, its tests are skipped with a loud reason locally,
and **fail** when ``CI`` is ``true``/``1``: CI must never pass by silently skipping them.

- ``postgres_url``: a fresh database ``ferryml_test_<random>`` for the session, dropped at the end.
- ``redis_client`` / ``redis_project``: a client, and per-test project names under a session
  prefix whose keys are deleted at the end.
- ``sqlite_engine``: a migrated SQLite platform DB in ``tmp_path``.
- ``spark``: one SparkSession (``local[2]``, UTC) for the whole session.
- ``mlflow_backend``: an MLflow tracking URI per test, on SQLite (a database migrated once per
  session and copied per test) or on PostgreSQL (one database per session, migrated once;
  tests keep apart by experiment and model names).
- ``labeled_events``: a small training set with delayed labels (a table factory).
- ``own_redis`` / ``own_postgres``: a redis-server / a PostgreSQL cluster this session starts
  on a free loopback port (never the machine's shared ones), for fault tests that stop them.
- ``quickstarted``: copies of a workspace that ``ferry quickstart`` generated, ingested,
  trained, gated and promoted (about a minute of work, done once per session per settings).

A test module that needs a trained project copies the template instead of running the
quickstart again (a workspace works wherever it is copied: :mod:`ferryml.relocation`)::

    @pytest.fixture(scope="module")
    def workspace(quickstarted: Quickstarted, tmp_path_factory: pytest.TempPathFactory) -> Path:
        return quickstarted.copy(tmp_path_factory.mktemp("mine") / "ws")

(``from conftest import Quickstarted``.) ``quickstarted.output()`` is what the template's
quickstart printed. A copy's config is ``configs/ferry.yaml``; open it with
``TRAINABLE_SETTINGS`` (and the module's ``extra`` settings, if it passed any:
``quickstarted.copy(dest, extra=(...))`` builds, once, a template of its own for them). Each
copy is the module's own, to change at will; the template itself is never handed out. A
copy's audit trail holds one more entry than a fresh quickstart's: its ``workspace.relocate``.
A module whose project must differ in ways a setting does not say at quickstart time (a
PostgreSQL platform DB, a Redis online store, its own project name) still runs its own
quickstart.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
import redis
from psycopg import sql
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine

from ferryml.storage.db import make_engine, upgrade

POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER = "127.0.0.1", 5432, "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''"

SPARK_JVM_TIMEZONE = "America/Sao_Paulo"

RUN_ID = secrets.token_hex(4)

TRAINABLE_SETTINGS = (
    # Enough history for a time split, with frequent and quickly confirmed fraud: a small
    # reference project trains, gates and promotes in seconds.
    "data.synth.start=2025-10-01",
    "data.synth.days=40",
    "data.synth.transactions_per_day=300",
    "data.synth.customers=1500",
    "data.synth.merchants=200",
    "data.synth.base_fraud_rate=0.03",
    "data.synth.label_delay_days.max=7",
    "training.label_maturity_days=7",
    "training.split.validation_days=7",
    "training.split.test_days=7",
    "training.models.ebm.outer_bags=1",
    # fraud ten times as common: error rates, and their gaps across segments, grow with it
    "gates.fairness.limits.false_positive_rate.max_difference=0.15",
    # a loaded CI machine must not change which model becomes champion (a LightGBM that misses
    # the p99 under load left a logistic champion, and tests written for one kind failed);
    # the latency gate has its own tests (tests/integration/test_gates.py)
    "gates.latency.p99_ms=1000",
    "gates.latency.min_rows_per_second=1",
)
"""``--set`` values for CLI tests that run the whole lifecycle (``from conftest import``)."""
"""Tags this session's databases and keys, so parallel sessions never touch each other's."""


_REDIS_INSTALL = "apt-get install redis-server"


def _service_missing(service: str, error: BaseException, start: str) -> NoReturn:
    detail = " ".join(str(error).split())  # driver messages span lines; keep the reason on one
    reason = f"!!! {service} is not reachable: {detail} — start it with `{start}` !!! (NOT run)"
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(f"CI={os.environ['CI']}: service tests must run. {reason}", pytrace=False)
    pytest.skip(reason)


TOOLS_DIR = Path(__file__).resolve().parents[1] / ".tools" / "bin"
"""Where ``make tools`` puts binaries taken from Debian's packages (scripts/fetch-debian-tool)."""


def require_tool(name: str, install: str) -> Path:
    """The executable ``name`` (on PATH, else in ``.tools/bin``); missing, its tests skip
    loudly, and fail under CI. ``install`` says how to get it."""
    found = shutil.which(name) or shutil.which(name, path=str(TOOLS_DIR))
    if found is None:
        _service_missing(f"the tool {name}", FileNotFoundError(name), install)
    return Path(found)


@contextmanager
def answering(
    command: list[str], ready_url: str, log: Path, *, timeout: float = 60, **popen: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` started (its output in ``log``) and waited for until ``ready_url`` answers
    200; it fails the test if the process exits or does not answer within ``timeout`` seconds.
    Stopped with SIGTERM at the end, killed after 30 s."""
    import httpx2 as httpx

    name = " ".join([Path(command[0]).name, *command[1:4]])
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **popen)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}: {log.read_text()}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer within {timeout:g} s: {log.read_text()}")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _postgres_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user=POSTGRES_USER,
        dbname="postgres",
        autocommit=True,  # CREATE / DROP DATABASE cannot run inside a transaction
        connect_timeout=3,
    )


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A new PostgreSQL database ``name``; its URL; dropped (FORCE) at the end."""
    try:
        with _postgres_admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        _service_missing(f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}", exc, POSTGRES_START)
    try:
        yield f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with _postgres_admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this session; dropped (FORCE) at the end."""
    with fresh_database(f"ferryml_test_{RUN_ID}") as url:
        yield url


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    """A client of the local Redis; every ``ferryml:t<RUN_ID>…`` key is deleted at the end."""
    client = redis.Redis.from_url(
        REDIS_URL, socket_connect_timeout=2, socket_timeout=5, retry=Retry(NoBackoff(), 1)
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _service_missing("Redis at 127.0.0.1:6379", exc, REDIS_START)
    try:
        yield client
    finally:
        stale = list(client.scan_iter(match=f"ferryml:t{RUN_ID}*", count=500))
        if stale:
            client.unlink(*stale)
        client.close()


_project_numbers = itertools.count(1)


@pytest.fixture
def redis_project(redis_client: redis.Redis) -> str:
    """A project name no other test or session uses: ``t<RUN_ID>-<n>``."""
    return f"t{RUN_ID}-{next(_project_numbers)}"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite platform DB in ``tmp_path``."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ferryml.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _migrated_mlflow(uri: str) -> None:
    """Create MLflow's tables at ``uri`` (its migrations take seconds: once per session)."""
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri=uri).search_experiments(max_results=1)


@pytest.fixture(scope="session")
def _mlflow_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    _migrated_mlflow(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _mlflow_postgres() -> Iterator[str]:
    with fresh_database(f"ferryml_mlflow_{RUN_ID}") as url:
        _migrated_mlflow(url)
        yield url


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def mlflow_backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A tracking URI: a copy of the migrated SQLite template, or the session's PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "mlflow.db"
        shutil.copyfile(request.getfixturevalue("_mlflow_sqlite_template"), target)
        return f"sqlite:///{target}"
    uri: str = request.getfixturevalue("_mlflow_postgres")
    return uri


@pytest.fixture
def labeled_events() -> Callable[..., Any]:
    """``make(days=60, per_day=40, seed=1)``: events from 2025-01-01, every 8th a fraud whose
    chargeback arrives 5 days later; columns event_time, is_fraud, label_time, amount, hour."""
    import numpy as np
    import pyarrow as pa

    def make(days: int = 60, per_day: int = 40, seed: int = 1) -> pa.Table:
        rng = np.random.default_rng(seed)
        n = days * per_day
        start = datetime(2025, 1, 1, tzinfo=UTC)
        times = [start + timedelta(days=i / per_day) for i in range(n)]
        fraud = np.arange(n) % 8 == 0
        return pa.table(
            {
                "event_time": pa.array(times, pa.timestamp("us", tz="UTC")),
                "is_fraud": fraud.astype(np.int64),
                "label_time": pa.array(
                    [
                        t + timedelta(days=5) if f else None
                        for t, f in zip(times, fraud, strict=True)
                    ],
                    pa.timestamp("us", tz="UTC"),
                ),
                "amount": rng.gamma(2.0, 30.0, n) + 40.0 * fraud * rng.random(n),
                "hour": rng.integers(0, 24, n).astype(float),
            }
        )

    return make


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One SparkSession for the whole test session: ``local[2]``, 2 shuffle partitions, UTC."""
    pytest.importorskip(
        "pyspark", reason="pyspark is an optional extra: pip install 'ferryml[spark]'"
    )
    if shutil.which("java") is None:
        _service_missing(
            "Java (needed by Spark)",
            FileNotFoundError("java"),
            "apt-get install openjdk-17-jre-headless",
        )
    from ferryml.spark import spark_session

    # The JVM runs in a non-UTC zone on purpose: a computation that forgets ferryml's UTC
    # session time zone then shifts hours and days, and the tests see it.
    session = spark_session(
        "local[2]",
        app_name="ferryml-tests",
        shuffle_partitions=2,
        conf={"spark.driver.extraJavaOptions": f"-Duser.timezone={SPARK_JVM_TIMEZONE}"},
    )
    try:
        yield session
    finally:
        session.stop()


class Quickstarted:
    """Quickstarted template workspaces, one per tuple of extra settings, built on first use;
    tests get copies (:meth:`copy`)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._templates: dict[tuple[str, ...], Path] = {}
        self._outputs: dict[tuple[str, ...], str] = {}

    def _template(self, extra: tuple[str, ...]) -> Path:
        if extra not in self._templates:
            from typer.testing import CliRunner

            from ferryml.cli import app

            root = self._factory.mktemp("quickstarted-template") / "ws"
            sets = [arg for setting in (*TRAINABLE_SETTINGS, *extra) for arg in ("--set", setting)]
            result = CliRunner().invoke(
                app, ["quickstart", "--no-loop", "--workspace", str(root), *sets]
            )
            assert result.exit_code == 0, result.output
            self._templates[extra], self._outputs[extra] = root, result.output
        return self._templates[extra]

    def output(self, extra: tuple[str, ...] = ()) -> str:
        """What the template's quickstart printed (it ran in a new, empty directory)."""
        self._template(extra)
        return self._outputs[extra]

    def copy(self, destination: Path, extra: tuple[str, ...] = ()) -> Path:
        """A copy of the template quickstarted with ``TRAINABLE_SETTINGS`` and ``extra``, at
        ``destination`` (which must not exist), opened once so that it relocates there now
        (not in two serving workers at once)."""
        from ferryml.config.loader import load_config
        from ferryml.pipeline import ProjectContext

        shutil.copytree(self._template(extra), destination, symlinks=True)
        loaded = load_config(
            destination / "configs" / "ferry.yaml", overrides=[*TRAINABLE_SETTINGS, *extra]
        )
        ProjectContext.open(loaded, create=False).close()
        return destination


@pytest.fixture(scope="session")
def quickstarted(tmp_path_factory: pytest.TempPathFactory) -> Quickstarted:
    """Copies of quickstarted workspaces (see the module's docstring)."""
    return Quickstarted(tmp_path_factory)


def register_run(registry: Any, run: Any) -> Any:
    """A new registered version of a training run's model (a second version to serve)."""
    tags = run.data.tags
    return registry.register(
        tags["ferryml.model_uri"],
        tags["ferryml.model_sha256"],
        run_id=run.info.run_id,
        tags={k: tags[k] for k in ("ferryml.model_kind", "ferryml.threshold")},
    )


@dataclass
class OwnRedis:
    """A redis-server this test session started on a free loopback port — never the machine's
    shared one — for tests that pause, stop and restart it."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def pause(self) -> None:
        """SIGSTOP: connections stay open, nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Gone: connections refused (its data with it: it keeps nothing on disk)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    """A private redis-server for fault tests, started once per session."""
    if shutil.which("redis-server") is None:
        _service_missing("redis-server (binary)", FileNotFoundError("not on PATH"), _REDIS_INSTALL)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = OwnRedis(port, tmp_path_factory.mktemp("own-redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


POSTGRES_LIB = Path("/usr/lib/postgresql")
_POSTGRES_INSTALL = "apt-get install postgresql"


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster this test session made (``initdb`` in a temp dir, trust auth) and
    runs on a free loopback port — never the machine's shared one — for tests that stop it.
    PostgreSQL refuses to run as root: then every command runs as ``postgres`` (``runuser``).
    """

    bin_dir: Path
    directory: Path
    port: int
    as_owner: tuple[str, ...]
    """``runuser -u postgres --`` when this session is root, else nothing."""

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_owner, str(self.bin_dir / tool), *args]
        done = subprocess.run(  # in a directory the user postgres may enter
            command, capture_output=True, text=True, timeout=120, check=False, cwd=self.directory
        )
        if done.returncode != 0:
            log = self.directory / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)}: {done.stdout}{done.stderr}{tail}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start (again) on the same port, with the data it had: it waits until it answers."""
        # sockets in the cluster's own directory, not the shared /var/run/postgresql; no
        # fsync: these tests stop the server, never the machine
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Unreachable, its data kept: ``fast`` shuts down cleanly (clients disconnected),
        ``immediate`` is a crash (it recovers from its WAL on :meth:`start`)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self, name: str) -> str:
        """A new database ``name`` in this cluster; its SQLAlchemy URL."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


def _postgres_bin_dir() -> Path | None:
    """The newest server binaries (Debian keeps them off PATH, one directory per version)."""
    found = [path for path in POSTGRES_LIB.glob("*/bin") if (path / "pg_ctl").is_file()]
    found.sort(key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and (Path(on_path).parent / "initdb").is_file() else None


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[OwnPostgres]:
    """A private PostgreSQL cluster for fault tests, made and started once per session;
    stopped and removed at the end."""
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        _service_missing(
            "PostgreSQL server binaries (initdb, pg_ctl)",
            FileNotFoundError(f"none in {POSTGRES_LIB}/*/bin or on PATH"),
            _POSTGRES_INSTALL,
        )
    as_owner: tuple[str, ...] = ()
    # the directory is made with mkdtemp in /tmp, not pytest's tmp_path: the user postgres
    # could not enter pytest's directory (0700, root's)
    directory = Path(tempfile.mkdtemp(prefix=f"ferryml-pg-{RUN_ID}-"))
    if os.geteuid() == 0:
        try:
            shutil.chown(directory, "postgres", "postgres")
        except LookupError as exc:
            shutil.rmtree(directory)
            _service_missing("a user `postgres` (PostgreSQL refuses root)", exc, _POSTGRES_INSTALL)
        as_owner = ("runuser", "-u", "postgres", "--")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = OwnPostgres(bin_dir, directory, port, as_owner)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
