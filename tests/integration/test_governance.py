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

from conftest import TRAINABLE_SETTINGS, Quickstarted
from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.features.build import read_events
from ferryml.pipeline import ProjectContext, resolve_version
from ferryml.serving.app import create_app
from ferryml.serving.service import ScoringService

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(quickstarted: Quickstarted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quickstarted.copy(tmp_path_factory.mktemp("governance") / "ws")


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


def test_the_champion_carries_its_model_card_and_the_quickstart_approval(
    workspace: Path, context: ProjectContext
) -> None:
    from ferryml.governance.policy import approvals_of
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    tracker = tracker_for(context.loaded, context.workspace.root)
    champion = ModelRegistry(tracker, "fraud").get("champion")
    (approval,) = approvals_of(champion)
    assert approval.approver == "demo:approver-1" and "stand-in" in approval.note
    # the explanation report the high-risk policy requires was made before the promotion
    explained = [a.path for a in tracker.client.list_artifacts(champion.run_id, "explain")]
    assert any(path.endswith(".html") for path in explained), explained
    assert champion.tags["ferryml.registered_by"] != approval.approver
    stored = {a.path for a in tracker.client.list_artifacts(champion.run_id, "model_card")}
    assert stored == {"model_card/model_card.md", "model_card/model_card.html"}
    markdown = (workspace / "reports" / "cards" / f"fraud-v{champion.version}.md").read_text()
    html = (workspace / "reports" / "cards" / f"fraud-v{champion.version}.html").read_text()
    for section in (
        "## Intended use",
        "Risk tier: **high**",
        "## Data",
        "## Metrics",
        "## Gates: passed",
        "### Subpopulations",
        "## Features",
        "### Reason codes",
        "## Limitations",
        "## Owners and approvals",
    ):
        assert section in markdown, section
    assert "Approved by demo:approver-1" in markdown
    assert "Explanation reports stored with the run:" in markdown
    assert "The amount ({value} EUR) is unusual for this card" in markdown  # curated reason
    assert "age_band: false_positive_rate difference" in markdown  # per subpopulation
    assert champion.tags["ferryml.threshold"][:6] in markdown
    # the schema's personal data is named, and that no feature derives from it (the reference
    # project's features read neither the card number nor the device id)
    assert "Personal data in the schema (pseudonymized at ingestion): card_number, device_id" in (
        markdown
    )
    features = markdown.split("## Features")[1].split("## Explanations")[0]
    rows = [line for line in features.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 20 and all(row.split("|")[3].strip() == "none" for row in rows[1:])
    assert "<table>" in html and "<h2>Intended use</h2>" in html and "<script" not in html


def test_the_policy_blocks_promotion_until_someone_other_than_the_owner_approves(
    workspace: Path, context: ProjectContext
) -> None:
    from ferryml.governance.policy import approvals_of
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    tracker = tracker_for(context.loaded, context.workspace.root)
    registry = ModelRegistry(tracker, "fraud")
    before = registry.get("champion")
    runs = tracker.client.search_runs([tracker.experiment_id()])
    run_id = next(r.info.run_id for r in runs if r.info.run_id != before.run_id)
    reason = "a second model kind, promoted to test the approval policy (test)"
    result = ferry(workspace, "promote", run_id, "--override-reason", reason)
    flat = " ".join(result.output.split())
    assert result.exit_code == 1 and "may not become the champion" in flat, flat
    assert "1 approval(s) for a high-risk model, it has 0" in flat
    assert "an explanation report (`ferry explain --version" in flat
    assert registry.get("champion").version == before.version
    version = registry.version_of_run(run_id)
    assert version is not None  # registered, to be approved
    assert version.tags["ferryml.registered_by"].startswith("user:")

    # the owner (who registered it) may not approve their own model
    owner = version.tags["ferryml.registered_by"]
    result = runner.invoke(
        cli,
        ["approve", version.version, "-c", str(workspace / "configs" / "ferry.yaml")]
        + [arg for setting in TRAINABLE_SETTINGS for arg in ("--set", setting)],
        env={"FERRY_ACTOR": owner},
    )
    assert result.exit_code == 1 and "may not approve it" in " ".join(result.output.split())
    # when approvers are named, only they may
    only = "governance.policy.roles.approvers=[user:risk-officer]"
    result = runner.invoke(
        cli,
        ["approve", version.version, "-c", str(workspace / "configs" / "ferry.yaml")]
        + [arg for setting in (*TRAINABLE_SETTINGS, only) for arg in ("--set", setting)],
        env={"FERRY_ACTOR": "user:someone-else"},
    )
    assert result.exit_code == 1 and "is not an approver" in result.output
    assert approvals_of(registry.get(version.version)) == []

    result = runner.invoke(
        cli,
        ["approve", version.version, "--note", "card and reasons read", "-c"]
        + [str(workspace / "configs" / "ferry.yaml")]
        + [arg for setting in (*TRAINABLE_SETTINGS, only) for arg in ("--set", setting)],
        env={"FERRY_ACTOR": "user:risk-officer"},
    )
    assert result.exit_code == 0, result.output
    (approval,) = approvals_of(registry.get(version.version))
    assert approval.approver == "user:risk-officer" and approval.note == "card and reasons read"
    entries = [e for e in context.audit.entries() if e.action == "model.approve"]
    assert entries[-1].actor == "user:risk-officer"
    assert entries[-1].object == f"fraud@{version.version}"

    result = ferry(workspace, "explain", "--version", version.version, "--rows", "300")
    assert result.exit_code == 0, result.output
    # this run's own fairness verdict may have failed: the policy would (rightly) still
    # refuse it, so the fairness requirement is lifted here to isolate the approval
    lifted = ["--set", "governance.policy.requirements.high.fairness_gate=false"]
    result = ferry(workspace, "promote", run_id, "--override-reason", reason, *lifted)
    assert result.exit_code == 0, result.output
    assert registry.get("champion").version == version.version
    card = (workspace / "reports" / "cards" / f"fraud-v{version.version}.md").read_text()
    assert "Approved by user:risk-officer" in card and "champion" in card

    result = ferry(workspace, "governance", "review", *lifted)
    assert result.exit_code == 0, result.output
    assert "everything in production meets the policy" in result.output
    result = ferry(
        workspace, "governance", "review", "--set", "governance.policy.use_case.risk_tier=limited"
    )
    fairness = tracker.get_run(run_id).data.tags.get("ferryml.gate.fairness")
    assert result.exit_code == (0 if fairness == "passed" else 1), result.output


@pytest.mark.parametrize(
    ("setting", "refusal"),
    [
        ("governance.gdpr.training_purpose=marketing", "purpose limitation: training for"),
        ("governance.gdpr.allowed_features=[amount_eur, 'customer_amount_*']", "data minimization"),
    ],
)
def test_training_refuses_data_outside_its_purpose_and_features_outside_the_allow_list(
    workspace: Path, context: ProjectContext, setting: str, refusal: str
) -> None:
    runs_before = len(context.audit.find(action="model.train"))
    result = ferry(workspace, "train", "--set", setting)
    assert result.exit_code == 1 and refusal in " ".join(result.output.split()), result.output
    assert len(context.audit.find(action="model.train")) == runs_before  # nothing trained
