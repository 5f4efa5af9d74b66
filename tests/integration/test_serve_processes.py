"""`ferry serve --workers 2` as real processes: answers from both workers; a worker
SIGKILLed under load loses no acknowledged prediction (the database holds every answer a
client received, once); blue/green switches, hot reloads and a shadow started under load fail
no request; a canary ramps up on answers pooled across both workers, and one that blocks
everyone, one that fails on real traffic and one that is slow are each rolled back on every
worker by themselves; /metrics exports every serving metric the alert rules and the dashboard
of deploy/ query."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import psutil
import pytest
from misbehaving import install_model_kinds
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import RUN_ID, TRAINABLE_SETTINGS, Quickstarted, fresh_database, register_run
from deploy_metrics import exported, from_monitor, referenced, unexported
from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.pipeline import ProjectContext
from ferryml.quickstart.server import free_port
from ferryml.serving.deployment import deployment_loader
from ferryml.serving.predlog import Shipper
from ferryml.storage.tables import predictions

pytestmark = pytest.mark.slow

EVENT = {
    "customer_id": "c-1",
    "card_id": "k-1",
    "merchant_id": "m-1",
    "merchant_category": "5411",
    "merchant_country": "FR",
    "channel": "pos",
    "transaction_type": "purchase",
    "amount": 42.0,
    "currency": "EUR",
}


def quickstart_into(root: Path, extra: tuple[str, ...]) -> Path:
    """A workspace of its own (one with a platform DB the template does not have)."""
    sets = [arg for setting in (*TRAINABLE_SETTINGS, *extra) for arg in ("--set", setting)]
    result = CliRunner().invoke(cli, ["quickstart", "--no-loop", "--workspace", str(root), *sets])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def workspace(quickstarted: Quickstarted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained, gated and promoted workspace, its platform DB a SQLite file."""
    return quickstarted.copy(tmp_path_factory.mktemp("serve") / "ws")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def any_workspace(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """The same on each platform DB, with the settings that say which: with PostgreSQL (a
    fresh database) the prediction log ships there and the shared routing state lives there."""
    if request.param == "sqlite":
        yield request.getfixturevalue("workspace"), ()
        return
    with fresh_database(f"ferryml_serve_{RUN_ID}") as url:
        extra = (f"storage.database_url={url}",)
        yield quickstart_into(tmp_path_factory.mktemp("serve-pg") / "ws", extra), extra


TOKEN = "admin-token-of-the-process-tests"


def start_server(
    workspace: Path, port: int, extra: tuple[str, ...] = (), *, pythonpath: str | None = None
) -> subprocess.Popen[bytes]:
    sets = [arg for setting in (*TRAINABLE_SETTINGS, *extra) for arg in ("--set", setting)]
    command = [
        sys.executable, "-m", "ferryml", "serve", "-c", str(workspace / "configs" / "ferry.yaml"),
        "--port", str(port), "--workers", "2", *sets,
    ]  # fmt: skip
    log = workspace / f"serve-{port}.log"
    with log.open("wb") as output:
        env = {**os.environ, "FERRY_ADMIN_TOKEN": TOKEN}
        if pythonpath is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"ferry serve exited with {server.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                workers = psutil.Process(server.pid).children(recursive=True)
                if len([w for w in workers if "multiprocessing" in " ".join(w.cmdline())]) >= 2:
                    return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    pytest.fail("ferry serve did not become ready within 120 s")


@pytest.mark.faults
def test_a_killed_worker_loses_no_acknowledged_prediction(
    any_workspace: tuple[Path, tuple[str, ...]],
) -> None:
    workspace, database = any_workspace
    port = free_port()
    server = start_server(workspace, port, database)
    acknowledged: list[str] = []
    pids: set[str] = set()
    failures: list[str] = []
    stop = threading.Event()

    def client(prefix: str) -> None:
        fresh = httpx.Limits(max_keepalive_connections=0)  # a connection per request: both
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, limits=fresh) as http:
            n = 0
            while not stop.is_set():
                n += 1
                body: dict[str, Any] = {**EVENT, "transaction_id": f"{prefix}-{n}"}
                try:
                    response = http.post("/v1/score", json=body)
                except httpx.HTTPError as exc:  # the killed worker's connections drop
                    failures.append(type(exc).__name__)
                    continue
                if response.status_code == 200:
                    acknowledged.append(response.json()["request_id"])
                    pids.add(response.headers.get("x-ferry-worker", ""))
                else:
                    failures.append(str(response.status_code))

    threads = [threading.Thread(target=client, args=(f"t{i}",)) for i in range(4)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(3)
        answering = sorted(pid for pid in pids if pid)
        assert answering, failures
        before_kill = len(acknowledged)
        os.kill(int(answering[0]), signal.SIGKILL)  # a worker that has acknowledged answers
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    assert before_kill > 20 and len(acknowledged) > before_kill
    assert not [f for f in failures if f.isdigit()], failures  # never an HTTP error status
    assert len(pids - {""}) >= 2  # both workers answered
    # /metrics pools every worker's counters, whichever worker answers the scrape
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in scrape.splitlines()
        if line.startswith("ferry_requests_total{") and 'status="200"' in line
    )
    assert counted >= len(acknowledged)
    # what a restarted server does first: ship whatever is left on disk, the victim's included
    loaded = load_config(
        workspace / "configs" / "ferry.yaml", overrides=[*TRAINABLE_SETTINGS, *database]
    )
    context = ProjectContext.open(loaded, create=False)
    engine = context.engine
    directory = context.workspace.root / loaded.config.serving.prediction_log.directory
    Shipper(directory, engine, context.workspace.project).ship_once()
    with engine.connect() as conn:
        stored = {
            row.request_id
            for row in conn.execute(
                select(predictions.c.request_id).where(predictions.c.status == 200)
            )
        }
    context.close()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged predictions are not in the database"
    assert len(acknowledged) == len(set(acknowledged))
    assert not list(directory.glob("*.jsonl")), "shipped segments of dead workers are removed"


def real_events(context: ProjectContext, count: int) -> list[dict[str, Any]]:
    """The project's latest transactions as a client sends them (real customers, merchants
    and amounts: scores spread as in production)."""
    from ferryml.features.build import read_events
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.pipeline import resolve_version

    feature_set = ProjectFeatureStore(context.loaded, context.workspace.root).feature_set
    table = read_events(feature_set, resolve_version(context, "transactions").path)
    table = table.slice(max(0, table.num_rows - count))
    fields = set(EVENT) | {"event_time"}
    return [
        {
            k: (v.isoformat() if k == "event_time" else v)
            for k, v in row.items()
            if k in fields and v is not None
        }
        for row in table.to_pylist()
    ]


def admin_call(base: str, path: str, body: dict[str, Any]) -> Any:
    """An admin call with the token; it must be accepted (202). Its answer."""
    headers = {"authorization": f"Bearer {TOKEN}"}
    response = httpx.post(base + path, json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def on_both_workers(base: str, check: Any, what: str) -> None:
    """Wait until the latest GET /v1/models of each of the two workers satisfies ``check``."""
    latest: dict[str, bool] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        response = httpx.get(base + "/v1/models", timeout=10)
        latest[response.headers["x-ferry-worker"]] = bool(check(response.json()))
        if len(latest) >= 2 and all(latest.values()):
            return
        time.sleep(0.2)
    pytest.fail(f"not on both workers within 90 s: {what} ({latest})")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()


def shadow_has_compared(base: str, at_least: int = 5) -> None:
    """Wait until the shadow has scored and compared ``at_least`` requests (its counter, pooled
    across processes in /metrics)."""
    deadline = time.monotonic() + 90
    compared = 0.0
    scrape = ""
    while time.monotonic() < deadline:
        scrape = httpx.get(base + "/metrics", timeout=10).text
        compared = sum(
            float(line.rsplit(" ", 1)[1])
            for line in scrape.splitlines()
            if line.startswith("ferry_shadow_compared_total{")
        )
        if compared >= at_least:
            return
        time.sleep(0.2)
    failures = [line for line in scrape.splitlines() if line.startswith("ferry_shadow_")]
    pytest.fail(f"the shadow compared {compared:.0f} requests within 90 s: {failures}")


def test_switches_reloads_and_a_shadow_under_load_fail_no_request(workspace: Path) -> None:
    loaded = load_config(workspace / "configs" / "ferry.yaml", overrides=list(TRAINABLE_SETTINGS))
    registry, _ = deployment_loader(loaded, workspace)
    blue = registry.get("champion")
    tracker = registry.tracker
    other = next(
        run
        for run in tracker.client.search_runs([tracker.experiment_id()])
        if run.info.run_id != blue.run_id and "ferryml.model_uri" in run.data.tags
    )
    green = register_run(registry, other).version
    cold = register_run(registry, other).version  # loaded from the registry when asked
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(workspace, port)
    answers: list[tuple[str, str]] = []  # (status or error, model version)
    stop = threading.Event()

    def load(prefix: str) -> None:
        fresh = httpx.Limits(max_keepalive_connections=0)  # a connection per request: both
        with httpx.Client(base_url=base, timeout=10, limits=fresh) as http:
            n = 0
            while not stop.is_set():
                n += 1
                body = {**EVENT, "transaction_id": f"{prefix}-{n}", "customer_id": f"c-{n % 40}"}
                try:
                    response = http.post("/v1/score", json=body)
                except httpx.HTTPError as exc:
                    answers.append((type(exc).__name__, ""))
                    continue
                ok = response.status_code == 200
                version = response.json()["model"]["version"] if ok else ""
                answers.append((str(response.status_code), version))

    def admin(path: str, body: dict[str, Any]) -> Any:
        return admin_call(base, path, body)

    def everywhere(check: Any, what: str) -> None:
        on_both_workers(base, check, what)

    def serving(version: str) -> Any:
        return lambda models: models["models"][0]["version"] == version

    threads = [threading.Thread(target=load, args=(f"s{i}",)) for i in range(3)]
    try:
        for thread in threads:
            thread.start()
        admin("/admin/routing", {"strategy": "blue_green", "challenger": green})
        everywhere(lambda m: [x["version"] for x in m["models"]] == [blue.version, green], "green")
        assert admin("/admin/switch", {})["pinned"] == green
        everywhere(serving(green), "switched to green")
        assert admin("/admin/switch", {})["pinned"] == blue.version
        everywhere(serving(blue.version), "switched back to blue")
        admin("/admin/routing", {"strategy": "single"})
        admin("/admin/reload", {"version": cold})  # a hot reload that loads
        everywhere(serving(cold), "reloaded")
        admin("/admin/reload", {})  # follow the alias again: blue, kept warm
        everywhere(serving(blue.version), "back on the alias")
        admin("/admin/routing", {"strategy": "shadow", "challenger": green})
        everywhere(lambda m: bool(m["shadow"] and m["shadow"]["ready"]), "shadow ready")
        shadow_has_compared(base)  # on two loaded cores the niced shadow may take a while
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        stop_server(server)
    failed = [status for status, _ in answers if status != "200"]
    assert len(answers) > 200 and not failed, f"{len(failed)} failed: {set(failed)}"
    assert {version for _, version in answers} == {blue.version, green, cold}
    context = ProjectContext.open(loaded, create=False)
    engine = context.engine
    directory = context.workspace.root / loaded.config.serving.prediction_log.directory
    Shipper(directory, engine, context.workspace.project).ship_once()
    with engine.connect() as conn:
        shadowed = [
            orjson.loads(record)
            for record in conn.execute(
                select(predictions.c.record).where(predictions.c.arm == "shadow")
            ).scalars()
        ]
    context.close()
    assert shadowed and {r["model"]["version"] for r in shadowed} == {green}
    assert all(r["champion"]["version"] == blue.version for r in shadowed)
    scored = [r for r in shadowed if r["status"] == 200]
    assert scored and all(isinstance(r["agree"], bool) for r in scored)
    assert all(r["features"] == "champion's" for r in scored)  # one feature set: reused
    # on two saturated cores the niced shadow falls behind: late requests expire, none fail
    late = [r for r in shadowed if r["status"] != 200]
    assert all(r["status"] == 504 and "in the queue" in r["error"] for r in late)


def test_a_canary_ramps_on_pooled_answers_and_a_bad_one_rolls_back_everywhere(
    any_workspace: tuple[Path, tuple[str, ...]],
) -> None:
    workspace, database = any_workspace
    loaded = load_config(
        workspace / "configs" / "ferry.yaml", overrides=[*TRAINABLE_SETTINGS, *database]
    )
    registry, _ = deployment_loader(loaded, workspace)
    champion = registry.get("champion")
    run = registry.tracker.get_run(champion.run_id or "")
    good = register_run(registry, run).version  # the same model: every guardrail holds
    tags = run.data.tags
    blocks_everyone = registry.register(
        tags["ferryml.model_uri"],
        tags["ferryml.model_sha256"],
        run_id=run.info.run_id,
        tags={"ferryml.model_kind": tags["ferryml.model_kind"], "ferryml.threshold": "0.0"},
    ).version
    canary = (
        "serving.canary.steps=[0.5,1.0]",
        "serving.canary.dwell_seconds=1",
        # the arms see different customers: their score distributions and approval rates differ
        # by chance, less so the more answers; 400 keeps a 5-point approval gap ~3 sigma away
        "serving.canary.min_requests=400",
        "serving.canary.max_p99_ratio=100",  # two loaded cores: latency is not the point here
    )
    context = ProjectContext.open(loaded, create=False)
    bodies = real_events(context, 2000)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(workspace, port, (*canary, *database))
    try:
        with Traffic(base, bodies) as traffic:
            route_canary(base, good)
            routing_everywhere(base, lambda r: r["strategy"] == "canary" and r["weight"] == 1.0)
            route_canary(base, blocks_everyone)
            routing_everywhere(base, lambda r: r["strategy"] == "single")
    finally:
        stop_server(server)
    assert traffic.statuses and set(traffic.statuses) == {"200"}
    assert {("challenger", good), ("challenger", blocks_everyone)} <= traffic.arms
    step = canary_step(context)
    context.close()
    assert step["status"] == "rolled back"
    assert any("approval" in reason for reason in step["reasons"]), step["reasons"]


class Traffic:
    """Three threads posting real events to ``/v1/score`` until the block ends (each thread
    its own events, new connections each time so both workers answer): the statuses, the
    (arm, version) pairs that answered, and for each answer (200) in the order they came, the
    worker that gave it and whether it was degraded."""

    def __init__(self, base: str, bodies: list[dict[str, Any]], threads: int = 3) -> None:
        self.base, self.bodies = base, bodies
        self.statuses: list[str] = []
        self.arms: set[tuple[str, str]] = set()
        self.degraded: list[tuple[str, bool]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._post, args=(i,)) for i in range(threads)]

    def _post(self, offset: int) -> None:
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.base, timeout=10, limits=fresh) as http:
            n = 0
            while not self._stop.is_set():
                n += 1
                event = self.bodies[(len(self._threads) * n + offset) % len(self.bodies)]
                body = {**event, "transaction_id": f"c{offset}-{n}"}
                try:
                    response = http.post("/v1/score", json=body)
                except httpx.HTTPError as exc:
                    self.statuses.append(type(exc).__name__)
                    continue
                self.statuses.append(str(response.status_code))
                if response.status_code == 200:
                    answer = response.json()
                    self.arms.add((answer["arm"], answer["model"]["version"]))
                    worker = response.headers.get("x-ferry-worker", "")
                    self.degraded.append((worker, bool(answer["degraded"])))

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def route_canary(base: str, challenger: str) -> int:
    """Start a canary of ``challenger`` at half the traffic; the routing's revision."""
    body = {"strategy": "canary", "challenger": challenger, "weight": 0.5, "key": "customer_id"}
    return int(admin_call(base, "/admin/routing", body)["revision"])


def routing_everywhere(base: str, check: Any) -> None:
    on_both_workers(base, lambda models: check(models["routing"]), "routing")


def canary_step(context: ProjectContext) -> Any:
    """The canary's last step as the controller recorded it (status, reasons)."""
    from ferryml.serving.state import SharedState

    return SharedState(context.engine, context.workspace.project).read("canary")[1]


def metrics_with(base: str, names: list[str], bodies: list[dict[str, Any]]) -> str:
    """/metrics once every metric of ``names`` has a sample (within 90 s), scoring one of
    ``bodies`` before each look."""
    deadline = time.monotonic() + 90
    n = 0
    while True:
        n += 1
        body = {**bodies[n % len(bodies)], "transaction_id": f"m-{n}"}
        assert httpx.post(base + "/v1/score", json=body, timeout=10).status_code == 200
        scrape = httpx.get(base + "/metrics", timeout=10).text
        missing = [name for name in names if f"\n{name}{{" not in scrape]
        if not missing:
            return scrape
        if time.monotonic() > deadline:
            pytest.fail(f"no sample of {missing} in /metrics within 90 s")
        time.sleep(0.05)


def rolled_back(context: ProjectContext, revision: int) -> Any:
    """Wait until the canary that routing ``revision`` started is rolled back; its step."""
    deadline = time.monotonic() + 90
    step: Any = None
    while time.monotonic() < deadline:
        step = canary_step(context) or {}  # None until the first canary's first step
        if step.get("routing_revision") == revision and step.get("status") == "rolled back":
            return step
        time.sleep(0.2)
    pytest.fail(f"the canary of routing revision {revision} was not rolled back: {step}")


@pytest.mark.faults
def test_a_canary_whose_challenger_fails_or_slows_down_rolls_back_everywhere(
    workspace: Path, tmp_path: Path
) -> None:
    """Real workers load two challengers of kinds declared by a plugin (``misbehaving``): one
    raising on real traffic, one 100 ms slow. The champion answers the failing one's requests;
    each canary is rolled back by its own guardrail, the comparative ones being off. Then the
    slow one shadows the champion, and /metrics, now with challenger errors and shadow
    comparisons and failures, exports every metric deploy/'s alert rules and dashboard query
    (one server for both: starting one takes a while)."""
    loaded = load_config(workspace / "configs" / "ferry.yaml", overrides=list(TRAINABLE_SETTINGS))
    registry, _ = deployment_loader(loaded, workspace)
    run = registry.tracker.get_run(registry.get("champion").run_id or "")
    tags = run.data.tags

    def register_as(kind: str) -> str:
        return registry.register(
            tags["ferryml.model_uri"],
            tags["ferryml.model_sha256"],
            run_id=run.info.run_id,
            tags={"ferryml.model_kind": kind, "ferryml.threshold": tags["ferryml.threshold"]},
        ).version

    failing, slow = register_as("failing"), register_as("slow")
    canary = (
        "serving.canary.steps=[0.5,1.0]",
        "serving.canary.min_requests=100",
        "serving.canary.max_psi=100",  # only the error rate and the p99 may break
        "serving.canary.max_approval_delta=1",
    )
    plugins = install_model_kinds(tmp_path / "plugins")
    context = ProjectContext.open(loaded, create=False)
    bodies = real_events(context, 1000)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(workspace, port, canary, pythonpath=plugins)
    steps = []
    try:
        with Traffic(base, bodies) as traffic:
            for challenger in (failing, slow):
                steps.append(rolled_back(context, route_canary(base, challenger)))
                routing_everywhere(base, lambda r: r["strategy"] == "single")
        # without the load: two saturated cores starve the niced shadow process for a minute
        admin_call(base, "/admin/routing", {"strategy": "shadow", "challenger": slow})
        shadowed = ["ferry_shadow_compared_total", "ferry_shadow_failures_total"]
        scrape = metrics_with(base, shadowed, bodies)
    finally:
        stop_server(server)
    context.close()
    assert traffic.statuses and set(traffic.statuses) == {"200"}  # the champion stood in
    assert ("challenger", failing) not in traffic.arms and ("challenger", slow) in traffic.arms
    errors, latency = (step["reasons"] for step in steps)
    assert [reason.split(" ")[0] for reason in errors] == ["error"], errors
    assert errors[0].startswith("error rate 100.0%"), errors
    assert [reason.split(" ")[0] for reason in latency] == ["p99"], latency
    missing = unexported(
        exported(scrape), "a live `ferry serve`", lambda name: not from_monitor(name), referenced()
    )
    assert not missing, "\n".join(missing)
