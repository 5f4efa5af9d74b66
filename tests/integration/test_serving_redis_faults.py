"""Scoring with the online store and window state in a Redis that the test owns (its own
redis-server on a free port): paused mid-traffic, then stopped, the answers go on — degraded,
never an error — and come back to full features by themselves when Redis does; in process, and
with `ferry serve --workers 2` under concurrent load."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from test_serve_processes import Traffic, free_port, real_events, start_server, stop_server
from typer.testing import CliRunner

from conftest import TRAINABLE_SETTINGS, OwnRedis
from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.features.build import read_events
from ferryml.pipeline import ProjectContext, resolve_version
from ferryml.serving.app import create_app
from ferryml.serving.service import ScoringService

pytestmark = [pytest.mark.slow, pytest.mark.faults]


@pytest.fixture(scope="module")
def settings(own_redis: OwnRedis) -> list[str]:
    return [
        *TRAINABLE_SETTINGS,
        "features.store.online_store.type=redis",
        f"storage.redis_url={own_redis.url}",
    ]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, settings: list[str]) -> Path:
    root = tmp_path_factory.mktemp("redis-faults") / "ws"
    sets = [arg for setting in settings for arg in ("--set", setting)]
    result = CliRunner().invoke(cli, ["quickstart", "--no-loop", "--workspace", str(root), *sets])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def service(workspace: Path, settings: list[str]) -> Iterator[ScoringService]:
    loaded = load_config(workspace / "configs" / "ferry.yaml", overrides=settings)
    context = ProjectContext.open(loaded)
    yield ScoringService.open(context)
    context.close()


@pytest.fixture(scope="module")
def client(service: ScoringService) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: service)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def events(service: ScoringService) -> list[dict[str, Any]]:
    dataset = resolve_version(service.context, "transactions")
    table = read_events(service.deployment.feature_set, dataset.path)
    table = table.slice(table.num_rows - 200)
    fields = service.fields.names
    return [
        {
            **{k: v for k, v in row.items() if k in fields and v is not None},
            "event_time": row["event_time"].isoformat(),
        }
        for row in table.to_pylist()
    ]


def scored(client: TestClient, events: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    answers = []
    for index, event in enumerate(events):
        body = {**event, "transaction_id": f"{tag}-{index}"}
        response = client.post("/v1/score", content=orjson.dumps(body))
        assert response.status_code == 200, response.text  # never a 5xx
        answers.append(response.json())
    return answers


def breaker_open(client: TestClient) -> float:
    line = next(
        line
        for line in client.get("/metrics").text.splitlines()
        if line.startswith("ferry_store_breaker_open")
    )
    return float(line.rsplit(" ", 1)[1])


def recovered(client: TestClient, event: dict[str, Any], tag: str) -> bool:
    return not scored(client, [event], tag)[0]["degraded"]


def wait_until_recovered(client: TestClient, event: dict[str, Any]) -> None:
    deadline = time.monotonic() + 30
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        if recovered(client, event, f"probe-{time.monotonic_ns()}-{attempt}"):
            return
        time.sleep(0.2)
    pytest.fail("the answers did not come back to full features within 30 s")


def test_a_paused_then_stopped_redis_degrades_the_answers_and_they_recover(
    client: TestClient, own_redis: OwnRedis, events: list[dict[str, Any]]
) -> None:
    healthy = scored(client, events[:20], "healthy")
    assert not any(answer["degraded"] for answer in healthy)
    assert breaker_open(client) == 0

    own_redis.pause()  # a hung Redis: connections open, no answer
    try:
        paused = scored(client, events[20:60], "paused")
        open_while_paused = breaker_open(client)
    finally:
        own_redis.resume()
    assert all(answer["degraded"] for answer in paused)
    assert all(0.0 <= answer["score"] <= 1.0 for answer in paused)
    assert open_while_paused == 1  # the rest were answered without waiting for Redis
    wait_until_recovered(client, events[60])
    assert breaker_open(client) == 0

    own_redis.stop()  # gone: connections refused
    try:
        stopped = scored(client, events[61:100], "stopped")
    finally:
        own_redis.start()
    assert all(answer["degraded"] for answer in stopped)
    wait_until_recovered(client, events[100])  # a fresh, empty Redis: reachable again
    again = scored(client, events[101:120], "again")
    assert not any(answer["degraded"] for answer in again)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


def test_two_workers_under_load_answer_through_a_stopped_redis_and_recover(
    workspace: Path, settings: list[str], own_redis: OwnRedis
) -> None:
    """Three clients post real events to two workers while the test's Redis is stopped and
    started again: every request is answered (200, never a 5xx or a dropped connection), the
    answers while it is down are degraded, and both workers come back to full features."""
    loaded = load_config(workspace / "configs" / "ferry.yaml", overrides=settings)
    context = ProjectContext.open(loaded, create=False)
    bodies = real_events(context, 500)
    context.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(workspace, port, tuple(settings[len(TRAINABLE_SETTINGS) :]))

    def full_features_on_both(traffic: Traffic, since: int) -> bool:
        latest: dict[str, list[bool]] = {}
        for worker, degraded in traffic.degraded[since:]:
            latest.setdefault(worker, []).append(degraded)
        recent = [answers[-20:] for answers in latest.values() if len(answers) >= 20]
        return len(recent) >= 2 and not any(any(answers) for answers in recent)

    try:
        with Traffic(base, bodies) as traffic:
            wait_for(lambda: full_features_on_both(traffic, 0), "full features before the fault")
            before = len(traffic.degraded)
            own_redis.stop()
            try:
                wait_for(
                    lambda: sum(d for _, d in traffic.degraded[before:]) >= 100,
                    "100 degraded answers while Redis is stopped",
                )
            finally:
                own_redis.start()
            restarted = len(traffic.degraded)
            wait_for(lambda: full_features_on_both(traffic, restarted), "both workers recover")
        scrape = httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        stop_server(server)
    assert traffic.statuses and set(traffic.statuses) == {"200"}, set(traffic.statuses)
    assert not any(d for _, d in traffic.degraded[:before])
    while_down = traffic.degraded[before:restarted]
    assert len({worker for worker, degraded in while_down if degraded}) == 2
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in scrape.splitlines()
        if line.startswith("ferry_degraded_total")
    )
    assert counted >= sum(d for _, d in while_down)  # pooled across both workers
