"""The second project: subscriber churn (configs/churn.yaml) through the same pipeline as fraud,
by configuration alone — `ferry init --template churn`, generate, ingest (validation), features,
train, gate and promote through the CLI on the first twelve weeks; then the champion scores the
last week through the FastAPI app (Starlette's TestClient) as production traffic, with the
cancellations posted as they come in, and the monitor judges that week: the price increase that
starts with it shows as data drift on the price."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.monitoring.project import MonitorRun, monitor_project
from ferryml.pipeline import ProjectContext
from ferryml.serving.app import create_app
from ferryml.serving.service import ScoringService
from ferryml.serving.simulate import ReplayStats, replay

SETTINGS = (
    # 13 weeks of 1,200 subscribers. The first 12 are ingested: four to train, two to
    # validate, two to test, four (the labels' horizon) left to mature. The last is the
    # production traffic replayed after the promotion: the price rises as it begins.
    "data.synth.days=91",
    "data.synth.customers=1200",
    "data.synth.signups_per_day=2",
    "data.synth.scenarios.price_increase.start=2025-03-26",
    "data.synth.scenarios.competitor_launch.start=2025-03-26",
    "training.split.validation_days=14",
    "training.split.test_days=14",
    "training.split.min_train_days=21",
    "training.models.lightgbm.n_estimators=40",
    # a loaded CI machine must not fail the latency gate (it has its own tests)
    "gates.latency.p99_ms=1000",
    "gates.latency.repetitions=100",
    "gates.latency.batch_rows=1000",
    "gates.champion.resamples=200",
)
SETS = tuple(arg for setting in SETTINGS for arg in ("--set", setting))
REPLAY_FROM = datetime(2025, 3, 26, tzinfo=UTC)
REPLAY_TO = datetime(2025, 4, 2, tzinfo=UTC)  # the period's end (excluded): one window


@dataclass
class Churn:
    root: Path
    config: Path
    generated: Path
    outputs: dict[str, str]
    promoted: dict[str, Any]


def ferry(*args: str) -> str:
    """Run a `ferry` command; its standard output (MLflow logs to standard error)."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Churn:
    root = tmp_path_factory.mktemp("churn") / "retention"
    outputs = {"init": ferry("init", str(root), "--project", "retention", "--template", "churn")}
    config = str(root / "configs" / "ferry.yaml")
    generated = root / "data" / "raw" / "generated"
    outputs["generate"] = ferry("generate", "-c", config, "--out", str(generated), *SETS)
    source = root / "data" / "raw" / "synth"  # where configs/churn.yaml reads from
    (source / "usage").mkdir(parents=True)
    shutil.copy(generated / "customers.parquet", source / "customers.parquet")
    for day in (generated / "usage").iterdir():  # what had arrived before the replay
        if date.fromisoformat(day.name.removeprefix("date=")) < REPLAY_FROM.date():
            shutil.copytree(day, source / "usage" / day.name)
    outputs["ingest"] = ferry("ingest", "usage", "-c", config, *SETS)
    outputs["features"] = ferry("features", "build", "-c", config, *SETS)
    trained = json.loads(ferry("train", "--json", "-c", config, *SETS))
    gated = json.loads(
        ferry("gate", "--training", trained["training_id"], "--promote", "--json", "-c", config,
              *SETS)
    )  # fmt: skip
    return Churn(root, Path(config), generated, outputs, {"training": trained, "gates": gated})


@pytest.fixture(scope="module")
def context(churn: Churn) -> Iterator[ProjectContext]:
    context = ProjectContext.open(load_config(churn.config, overrides=list(SETTINGS)))
    yield context
    context.close()


@pytest.fixture(scope="module")
def service(context: ProjectContext) -> ScoringService:
    return ScoringService.open(context)


@pytest.fixture(scope="module")
def client(service: ScoringService) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: service)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def events(churn: Churn) -> list[dict[str, Any]]:
    """The week after the promotion: raw usage summaries, in event-time order."""
    table = ds.dataset(churn.generated / "usage", partitioning="hive").to_table()
    table = table.filter(pc.greater_equal(table["event_time"], REPLAY_FROM))
    return table.sort_by([("event_time", "ascending"), ("event_id", "ascending")]).to_pylist()


@pytest.fixture(scope="module")
def replayed(
    client: TestClient, service: ScoringService, events: list[dict[str, Any]]
) -> ReplayStats:
    stats = replay(
        client,
        events,
        fields=service.fields.names,
        time_field="event_time",
        id_field="event_id",
        label_field="churned",
        label_time_field="label_time",
    )
    service.log.flush()
    service.shipper.ship_once()
    return stats


@pytest.fixture(scope="module")
def monitored(context: ProjectContext, replayed: ReplayStats) -> MonitorRun:
    return monitor_project(
        context, start=REPLAY_FROM, end=REPLAY_TO, cutoff=REPLAY_TO + timedelta(days=28)
    )


def test_the_churn_data_is_generated_validated_and_versioned(churn: Churn) -> None:
    assert "churn rate:" in churn.outputs["generate"]
    assert "price_increase, competitor_launch" in churn.outputs["generate"]
    manifest = json.loads((churn.generated / "manifest.json").read_text())
    assert manifest["kind"] == "churn" and 0.01 < manifest["positive_rate"] < 0.2
    arrived = ds.dataset(churn.root / "data/raw/synth/usage", partitioning="hive").count_rows()
    assert f"{arrived:,} rows in, {arrived:,} accepted, 0 quarantined" in churn.outputs["ingest"]
    assert "feature set" in churn.outputs["features"]


def test_a_version_is_promoted_because_its_gates_passed(
    churn: Churn, context: ProjectContext
) -> None:
    trained, gated = churn.promoted["training"], churn.promoted["gates"]
    assert set(trained["models"]) == {"lightgbm", "logistic"}
    passed = [c for c in gated["candidates"] if c["passed"]]
    assert passed, gated
    best = next(c for c in passed if c["candidate"]["run_id"] == gated["best"])
    # every gate the churn config enables was judged; the first version has no champion
    assert best["gates"] == {
        "quality": "passed",
        "latency": "passed",
        "fairness": "passed",
        "edge_cases": "passed",
        "champion": "skipped",
    }
    promotions = [e for e in context.audit.entries() if e.action == "model.promote"]
    assert [(e.object, e.details["run"], e.details["gates"]) for e in promotions] == [
        (f"retention@{gated['promoted']}", gated["best"], "passed")
    ]


def test_a_subscriber_is_scored_with_a_decision_by_the_champion(
    client: TestClient, service: ScoringService, events: list[dict[str, Any]], churn: Churn
) -> None:
    event = events[-1]
    body = {k: v for k, v in event.items() if k in service.fields.names and v is not None}
    body["event_time"] = event["event_time"].isoformat()
    response = client.post("/v1/score", content=orjson.dumps(body))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == {
        "name": "retention",
        "version": churn.promoted["gates"]["promoted"],
        "alias": "champion",
    }
    assert 0.0 <= answer["score"] <= 1.0
    assert answer["decision"] == ("block" if answer["score"] >= answer["threshold"] else "approve")
    refused = client.post("/v1/score", content=orjson.dumps({"sessions": "many"}))
    assert refused.status_code == 422  # the churn schema, not the fraud one, checks requests


def test_a_replay_is_answered_and_its_labels_arrive(
    replayed: ReplayStats, events: list[dict[str, Any]]
) -> None:
    assert replayed.sent == len(events) > 500
    assert replayed.answered == replayed.sent and replayed.failed == 0
    assert 0 < replayed.blocked < replayed.answered  # some subscribers get an offer, not all
    assert replayed.labels_new == replayed.labels_sent > 0  # cancellations inside the replay


def test_the_monitor_reports_drift_on_the_price_increase(
    monitored: MonitorRun, events: list[dict[str, Any]]
) -> None:
    windows = monitored.report.windows
    assert len(windows) == 1 and windows[0].rows == len(events)
    for window in windows:
        columns = {c.column: c for c in window.data.columns}
        assert {"price", "week_sessions", "tenure_days"} <= set(columns)
        assert columns["price"].drifted  # standard and premium cost 20 % more since 1 March
        assert columns["price"].effects and columns["price"].p_values
        assert window.prediction.current_rows == window.rows
        assert window.labels  # label drift judged on the cancellations that came in
