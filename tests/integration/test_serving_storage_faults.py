"""The scoring service when its storage fails, against a PostgreSQL cluster and a filesystem
the test owns (never the machine's shared ones):

- its platform DB stopped mid-traffic: every request is still answered (200), the answers wait
  in the local prediction log, and ship by themselves once PostgreSQL is back — the table then
  holds exactly the answers acknowledged, each once;
- the prediction log's disk full: an answer that cannot be logged is refused (503, saying so,
  counted), never acknowledged; nothing acknowledged is lost, and answers resume when space
  returns;
- a new version whose model files were corrupted, on disk or in the registry, is refused by
  the hot reload; the version before keeps serving.

One workspace for the module, quickstarted with its platform DB in the session's own cluster.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from conftest import RUN_ID, TRAINABLE_SETTINGS, OwnPostgres, register_run
from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.errors import FerryError
from ferryml.features.build import FITTED_FILE, read_events
from ferryml.pipeline import ProjectContext, resolve_version
from ferryml.registry import SHA_TAG
from ferryml.serving.app import create_app
from ferryml.serving.service import ScoringService
from ferryml.storage.db import transaction
from ferryml.storage.tables import predictions
from ferryml.training.tracking import model_sha256

pytestmark = [pytest.mark.slow, pytest.mark.faults]

SHIP_MS = 100
"""serving.prediction_log.ship_interval_ms here: the tests wait for shipments."""
ALIAS_POLL_MS = 100
"""serving.alias_poll_ms here: a promotion is seen at once."""


@pytest.fixture(scope="module")
def settings(own_postgres: OwnPostgres) -> list[str]:
    url = own_postgres.create_database(f"ferryml_storage_faults_{RUN_ID}")
    return [
        *TRAINABLE_SETTINGS,
        f"storage.database_url={url}",
        f"serving.prediction_log.ship_interval_ms={SHIP_MS}",
        f"serving.alias_poll_ms={ALIAS_POLL_MS}",
    ]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, settings: list[str]) -> Path:
    root = tmp_path_factory.mktemp("storage-faults") / "ws"
    sets = [arg for setting in settings for arg in ("--set", setting)]
    result = CliRunner().invoke(cli, ["quickstart", "--no-loop", "--workspace", str(root), *sets])
    assert result.exit_code == 0, result.output
    return root


@contextlib.contextmanager
def serving(
    workspace: Path, settings: list[str], log_directory: Path
) -> Iterator[tuple[ScoringService, TestClient]]:
    """The champion served in process (its lifespan runs: shipper, follower), its prediction
    log in ``log_directory``."""
    overrides = [*settings, f"serving.prediction_log.directory={log_directory}"]
    loaded = load_config(workspace / "configs" / "ferry.yaml", overrides=overrides)
    context = ProjectContext.open(loaded, create=False)
    try:
        service = ScoringService.open(context)
        with TestClient(create_app(lambda: service)) as client:
            yield service, client
    finally:
        context.close()


def real_events(service: ScoringService, count: int) -> list[dict[str, Any]]:
    dataset = resolve_version(service.context, "transactions")
    table = read_events(service.deployment.feature_set, dataset.path)
    table = table.slice(table.num_rows - count)
    fields = service.fields.names
    return [
        {
            **{k: v for k, v in row.items() if k in fields and v is not None},
            "event_time": row["event_time"].isoformat(),
        }
        for row in table.to_pylist()
    ]


def post(client: TestClient, event: dict[str, Any], transaction_id: str) -> Any:
    body = {**event, "transaction_id": transaction_id}
    return client.post("/v1/score", content=orjson.dumps(body))


def stored(engine: Engine, project: str) -> tuple[int, set[str]]:
    """The number of rows of ``project`` in ``predictions``, and their distinct request ids
    (one statement: the shipper may be inserting meanwhile)."""
    with transaction(engine, purpose="list predictions") as conn:
        query = select(predictions.c.request_id).where(predictions.c.project == project)
        listed = list(conn.execute(query).scalars())
    return len(listed), set(listed)


def metric(client: TestClient, name: str) -> float:
    """The sum of a metric's samples in /metrics."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in client.get("/metrics").text.splitlines()
        if line.startswith((f"{name} ", f"{name}{{"))
    )


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(FerryError):  # the database may still be coming back
            if condition():
                return
        time.sleep(0.1)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


def logged_lines(directory: Path) -> list[dict[str, Any]]:
    """Every line of the prediction log's segments, parsed (a partial line fails here)."""
    return [
        orjson.loads(line)
        for segment in sorted(directory.glob("predictions-*.jsonl"))
        for line in segment.read_bytes().splitlines()
    ]


def all_shipped(
    service: ScoringService, before: set[str], acknowledged: list[str]
) -> Callable[[], bool]:
    def check() -> bool:
        return stored(service.engine, service.project)[1] - before == set(acknowledged)

    return check


# -- PostgreSQL unreachable ----------------------------------------------------------------


def test_answers_go_on_while_postgres_is_down_and_ship_once_it_is_back(
    own_postgres: OwnPostgres, workspace: Path, settings: list[str], tmp_path: Path
) -> None:
    directory = tmp_path / "predictions"
    with serving(workspace, settings, directory) as (service, client):
        events = real_events(service, 160)
        rows_before, before = stored(service.engine, service.project)
        acknowledged: list[str] = []

        def score(batch: list[dict[str, Any]], tag: str) -> None:
            for index, event in enumerate(batch):
                response = post(client, event, f"{tag}-{index}")
                assert response.status_code == 200, response.text  # never a 5xx
                acknowledged.append(response.json()["request_id"])

        score(events[:30], "up")
        wait_for(all_shipped(service, before, acknowledged), "the first answers shipped")
        failures_before = metric(client, "ferry_prediction_log_ship_failures_total")

        own_postgres.stop()  # unreachable (connections refused); its data kept
        try:
            score(events[30:130], "down")
            down = acknowledged[30:]
            time.sleep(5 * SHIP_MS / 1000)  # a few shipments tried and failed
            ready = client.get("/health/ready")
            backlog = metric(client, "ferry_prediction_log_backlog_bytes")
            failed = metric(client, "ferry_prediction_log_ship_failures_total") - failures_before
            waiting = {line["request_id"] for line in logged_lines(directory)}
        finally:
            own_postgres.start()

        # the answers of the outage are on disk; the metrics say that they wait, and why
        assert set(down) <= waiting
        assert backlog > 0 and failed >= 2, (backlog, failed)
        # readiness checks the platform DB: it said so (a balancer would stop sending traffic
        # that this worker could still answer; see the report of issue 13)
        assert ready.status_code == 503 and "does not answer" in ready.json()["reason"]

        # back: shipped by the service itself, nothing lost, nothing twice
        wait_for(all_shipped(service, before, acknowledged), "the outage's answers shipped")
        score(events[130:160], "again")
        wait_for(all_shipped(service, before, acknowledged), "the answers after it shipped")
        rows_after, after = stored(service.engine, service.project)
        assert len(acknowledged) == len(set(acknowledged)) == 160
        assert rows_after - rows_before == len(acknowledged)  # exactly, request ids unique
        assert after - before == set(acknowledged)
        wait_for(lambda: metric(client, "ferry_prediction_log_backlog_bytes") == 0, "no backlog")
        assert client.get("/health/ready").status_code == 200


# -- the prediction log's disk full ----------------------------------------------------------


@contextlib.contextmanager
def tmpfs(directory: Path, size: str) -> Iterator[None]:
    """A tmpfs of ``size`` mounted at ``directory``; skips when mounting is not permitted."""
    directory.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"!!! mounting a tmpfs is not permitted here ({mounted.stderr.strip()}): the full "
            "disk is tested with RLIMIT_FSIZE only !!!"
        )
    try:
        yield
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


def fill(filesystem: Path) -> Path:
    """A file that takes every free byte of ``filesystem``; removing it frees them."""
    filler = filesystem / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * block)
    finally:
        os.close(fd)
    with pytest.raises(OSError) as full:
        (filesystem / "probe").write_bytes(b"x" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Files of this process cannot grow past ``limit`` bytes (EFBIG; Python ignores the
    signal SIGXFSZ, so ``write`` fails instead of killing the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@pytest.mark.parametrize("fault", ["tmpfs", "file-size-limit"])
def test_a_full_disk_refuses_the_answers_it_cannot_log_and_recovers(
    fault: str, workspace: Path, settings: list[str], tmp_path: Path
) -> None:
    """``tmpfs``: the log's directory on a 1 MiB tmpfs that a file fills (ENOSPC, needs root);
    ``file-size-limit``: RLIMIT_FSIZE stops the segment growing (EFBIG, any user)."""
    directory = tmp_path / "predictions"
    with contextlib.ExitStack() as stack:
        if fault == "tmpfs":
            stack.enter_context(tmpfs(directory, "1m"))
        service, client = stack.enter_context(serving(workspace, settings, directory))
        events = real_events(service, 100)
        rows_before, before = stored(service.engine, service.project)
        refused_before = metric(client, "ferry_prediction_log_write_errors_total")
        acknowledged: list[str] = []
        refused: list[Any] = []

        def score(batch: list[dict[str, Any]], tag: str) -> list[int]:
            statuses = []
            for index, event in enumerate(batch):
                response = post(client, event, f"{tag}-{index}")
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acknowledged.append(response.json()["request_id"])
                else:
                    refused.append(response)
            return statuses

        assert set(score(events[:20], "space")) == {200}
        with contextlib.ExitStack() as full:
            if fault == "tmpfs":
                filler = fill(directory)
                full.callback(filler.unlink)
            else:
                full.enter_context(file_size_limit(service.log.path.stat().st_size))
            # the segment's last page may still take a line or two, then nothing
            while_full = score(events[20:60], "full")
            ready = client.get("/health/ready")
        counted = metric(client, "ferry_prediction_log_write_errors_total") - refused_before
        assert set(score(events[60:100], "space-again")) == {200}  # recovered by itself

        assert set(while_full) <= {200, 503} and while_full[-10:] == [503] * 10, while_full
        why = "No space left on device" if fault == "tmpfs" else "File too large"
        for response in refused:
            assert response.status_code == 503
            assert response.json()["detail"].startswith("the prediction log cannot be written")
            assert why in response.json()["detail"], response.json()
            assert "free space" in response.json()["hint"]
        assert counted == len(refused) == while_full.count(503)
        assert ready.status_code == 200  # the platform DB answers; see the report of issue 13

        # every acknowledged answer is shipped, once; the refused left no line, whole or half
        wait_for(all_shipped(service, before, acknowledged), "every acknowledged answer shipped")
        rows_after, after = stored(service.engine, service.project)
        assert rows_after - rows_before == len(acknowledged) == 100 - len(refused)
        assert after - before == set(acknowledged)
        logged = [line["request_id"] for line in logged_lines(directory)]
        assert sorted(logged) == sorted(acknowledged)


# -- a corrupted model version ---------------------------------------------------------------


def test_a_version_corrupted_on_disk_or_in_the_registry_is_refused_and_the_old_one_serves(
    workspace: Path, settings: list[str], tmp_path: Path
) -> None:
    """The champion alias moved (as a promotion moves it) to a version whose model file was
    truncated on disk, to one whose recorded SHA-256 was changed in the registry, to one
    registered with damaged files (they verify, and do not load), and to one whose feature
    encodings in the workspace are unreadable: each is refused by the hot reload with the
    reason, and the version served before keeps answering."""
    with serving(workspace, settings, tmp_path / "predictions") as (service, client):
        follower = service.follower
        assert follower is not None
        registry = follower.registry
        tracker = registry.tracker
        served = registry.get("champion")
        runs = [
            run
            for run in tracker.client.search_runs([tracker.experiment_id()])
            if run.info.run_id != served.run_id and "ferryml.model_uri" in run.data.tags
        ]
        assert runs
        event = real_events(service, 1)[0]

        def answer(tag: str) -> str:
            response = post(client, event, tag)
            assert response.status_code == 200, response.text
            return str(response.json()["model"]["version"])

        def promoted_and_refused(version: str, reason: str) -> None:
            registry.set_alias("champion", version)
            time.sleep(2 * ALIAS_POLL_MS / 1000)
            assert follower.follow_once() is False
            models = client.get("/v1/models").json()
            assert reason in (models["reload_error"] or ""), models["reload_error"]
            assert answer(f"after-{version}") == served.version

        run = runs[0]
        model_id = run.data.tags["ferryml.model_uri"].removeprefix("models:/")
        location = Path(
            tracker.client.get_logged_model(model_id).artifact_location.removeprefix("file://")
        )
        model_file = next(location.rglob("model.*"))  # model.lgb, model.pkl (not MLmodel)
        original = model_file.read_bytes()

        # the model's file truncated where the registry keeps it
        truncated = register_run(registry, run)
        model_file.write_bytes(original[: len(original) // 2])
        try:
            promoted_and_refused(truncated.version, "refused")
        finally:
            model_file.write_bytes(original)

        # the hash recorded at registration changed in the registry
        edited = register_run(registry, run)
        tracker.client.set_model_version_tag(registry.name, edited.version, SHA_TAG, "0" * 64)
        promoted_and_refused(edited.version, "refused")

        # files damaged before they were registered: they verify, and do not load
        model_file.write_bytes(b"\0not a model\n" * 64)
        try:
            uri = run.data.tags["ferryml.model_uri"]
            as_served = tracker.download(uri, tmp_path / "damaged", "the damaged model")
            damaged = registry.register(
                uri,
                model_sha256(as_served),
                run_id=run.info.run_id,
                tags={k: run.data.tags[k] for k in ("ferryml.model_kind", "ferryml.threshold")},
            )
            promoted_and_refused(damaged.version, "cannot be loaded")
        finally:
            model_file.write_bytes(original)

        # the feature build's fitted encodings unreadable (the model's files are intact)
        intact = register_run(registry, run)
        build = workspace / run.data.tags["ferryml.feature_build"]
        fitted = build / FITTED_FILE
        encodings = fitted.read_bytes()
        fitted.write_bytes(encodings[: len(encodings) // 2])
        try:
            promoted_and_refused(intact.version, "cannot be read")
        finally:
            fitted.write_bytes(encodings)

        registry.set_alias("champion", served.version)
        assert answer("restored") == served.version
