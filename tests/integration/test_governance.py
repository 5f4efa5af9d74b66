"""Governance on a real project (`ferry quickstart`): lineage from a logged prediction back to
its dataset versions and forward again, the policy that gates promotion on approvals, and the
model card written at registration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import TRAINABLE_SETTINGS
from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.features.build import read_events
from ferryml.pipeline import ProjectContext, resolve_version
from ferryml.serving.app import create_app
from ferryml.serving.service import ScoringService

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("governance") / "ws"
    sets = [arg for setting in TRAINABLE_SETTINGS for arg in ("--set", setting)]
    result = runner.invoke(cli, ["quickstart", "--workspace", str(root), *sets])
    assert result.exit_code == 0, result.output
    return root


def ferry(workspace: Path, *args: str) -> Any:
    sets = [arg for setting in TRAINABLE_SETTINGS for arg in ("--set", setting)]
    config = str(workspace / "configs" / "ferry.yaml")
    return runner.invoke(cli, [*args, "--config", config, *sets])


@pytest.fixture(scope="module")
def context(workspace: Path) -> Iterator[ProjectContext]:
    loaded = load_config(workspace / "configs" / "ferry.yaml", overrides=list(TRAINABLE_SETTINGS))
    context = ProjectContext.open(loaded)
    yield context
    context.close()


@pytest.fixture(scope="module")
def answered(context: ProjectContext) -> dict[str, Any]:
    """One transaction scored through the API, its record shipped to the platform DB."""
    service = ScoringService.open(context)
    dataset = resolve_version(context, "transactions")
    row = read_events(service.deployment.feature_set, dataset.path).slice(0, 1).to_pylist()[0]
    body = {k: v for k, v in row.items() if k in service.fields.names and v is not None}
    body["event_time"] = row["event_time"].isoformat()
    with TestClient(create_app(lambda: service)) as client:
        answer = client.post("/v1/score", json=body).json()
        service.shipper.ship_once()
    assert "request_id" in answer, answer
    return dict(answer)


def test_the_lineage_of_a_logged_prediction_reaches_its_dataset_versions(
    workspace: Path, context: ProjectContext, answered: dict[str, Any]
) -> None:
    result = ferry(workspace, "lineage", "show", answered["request_id"], "--json")
    assert result.exit_code == 0, result.output
    tree = json.loads(result.output)["lineage"]
    kinds = []

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        kinds.append(node["kind"])
        yield node
        for upstream in node["upstream"]:
            yield from walk(upstream)

    nodes = list(walk(tree))
    assert kinds[:4] == ["prediction", "model_version", "training_run", "feature_build"]
    assert tree["details"]["decision"] == answered["decision"]
    model = nodes[1]
    assert model["id"] == f"fraud@{answered['model']['version']}"
    assert "champion" in model["details"]["aliases"]
    run = nodes[2]["details"]
    for key in ("git_sha", "lock_sha256", "config_sha256", "seed", "feature_set_version"):
        assert run.get(key), key
    assert run["gate_results"], "the run's gate results are part of its lineage"
    datasets = [node for node in nodes if node["kind"] == "dataset"]
    assert datasets, kinds
    latest = resolve_version(context, "transactions")
    (served,) = [node for node in datasets if node["id"] == latest.ref]
    assert served["details"]["content_hash"] == latest.content_hash
    assert served["details"]["rows"] == latest.rows
    # the same walk as a tree for people
    result = ferry(workspace, "lineage", "show", answered["request_id"])
    assert result.exit_code == 0 and latest.ref in result.output


def test_a_dataset_version_leads_forward_to_the_models_and_traffic_that_used_it(
    workspace: Path, context: ProjectContext, answered: dict[str, Any]
) -> None:
    ref = resolve_version(context, "transactions").ref
    result = ferry(workspace, "lineage", "show", ref, "--json")
    assert result.exit_code == 0, result.output
    used_by = json.loads(result.output)["used_by"]
    assert used_by["dataset"] == ref
    served = [run for run in used_by["runs"] if "champion" in run["aliases"]]
    assert len(served) == 1, used_by["runs"]
    assert served[0]["registered_version"] == answered["model"]["version"]
    assert served[0]["predictions"] >= 1
    assert len(used_by["runs"]) >= 3  # quickstart trains three kinds on it


def test_lineage_refuses_what_it_cannot_resolve(workspace: Path) -> None:
    result = ferry(workspace, "lineage", "show", "0" * 32)
    assert result.exit_code == 1 and "no prediction with request id" in result.output
    result = ferry(workspace, "lineage", "show", "not a thing!")
    assert result.exit_code == 1 and "is not a request id" in result.output
