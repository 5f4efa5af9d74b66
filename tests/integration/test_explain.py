"""`ferry explain` on a real project: a workspace trained, gated and promoted by `ferry
quickstart`, its champion explained on its held-out rows; the report on disk, on the model's
MLflow run and on the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TRAINABLE_SETTINGS, Quickstarted
from ferryml.cli import app as cli
from ferryml.config.loader import load_config
from ferryml.explain.project import held_out_rows
from ferryml.explain.report import SECTIONS
from ferryml.pipeline import ProjectContext
from ferryml.registered import load_registered
from ferryml.registry import ModelRegistry
from ferryml.training.project import tracker_for

SETS = [arg for setting in TRAINABLE_SETTINGS for arg in ("--set", setting)]


@pytest.fixture(scope="module")
def context(
    quickstarted: Quickstarted, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProjectContext]:
    root = quickstarted.copy(tmp_path_factory.mktemp("explain") / "ws")
    loaded = load_config(root / "configs" / "ferry.yaml", overrides=list(TRAINABLE_SETTINGS))
    context = ProjectContext.open(loaded)
    yield context
    context.close()


def explain(context: ProjectContext, *args: str) -> Any:
    config = context.workspace.root / "configs" / "ferry.yaml"
    return CliRunner().invoke(cli, ["explain", "-c", str(config), *SETS, *args])


@pytest.fixture(scope="module")
def low_scored_event(context: ProjectContext) -> str:
    """An event of the champion's held-out period that no default pick would explain."""
    loaded, root = context.loaded, context.workspace.root
    registry = ModelRegistry(tracker_for(loaded, root), loaded.config.project.name)
    champion = load_registered(loaded, root, registry, "champion")
    run_id = registry.get(champion.version).run_id
    assert run_id is not None
    data, ids = held_out_rows(loaded, champion, registry, run_id)
    return ids[int(np.argmin(champion.model.predict(data.x)))]


@pytest.fixture(scope="module")
def summary(context: ProjectContext, low_scored_event: str) -> dict[str, Any]:
    result = explain(context, "--rows", "600", "--seed", "3", "--row", low_scored_event, "--json")
    assert result.exit_code == 0, result.output
    text = result.stdout
    return dict(json.loads(text[text.index("{") :]))


def test_report_holds_every_section_and_the_fidelity(
    summary: dict[str, Any], low_scored_event: str
) -> None:
    html, json_path = Path(summary["html"]), Path(summary["json"])
    assert html.parent.name == "explain" and html.parent.parent.name == "reports"
    assert html.name.startswith(f"{summary['model']['name']}-v{summary['model']['version']}-")
    page = html.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    fidelity = summary["surrogate_fidelity"]
    assert 0.0 <= fidelity <= 1.0
    assert f"Fidelity: <b>{100 * fidelity:.1f}%</b>" in page
    facts = json.loads(json_path.read_text())
    assert facts["rows"] == 600 and facts["seed"] == 3
    assert facts["local_rows"][0] == low_scored_event
    assert facts["shap"]["space"] == "log-odds" and facts["shap"]["method"].startswith("exact")
    assert facts["shap"]["waterfalls"][0]["row_id"] == low_scored_event
    assert facts["surrogate"]["fidelity"] == pytest.approx(fidelity)
    assert facts["surrogate"]["rules"].startswith("|---")
    assert facts["permutation"]["features"] and facts["partial_dependence"]
    assert facts["ebm"]["importances"]
    assert {"threshold", "pairs"} <= set(facts["correlation_warning"])


def test_report_is_on_the_models_run_and_the_audit_trail(
    context: ProjectContext, summary: dict[str, Any]
) -> None:
    loaded, root = context.loaded, context.workspace.root
    tracker = tracker_for(loaded, root)
    stored = {a.path for a in tracker.client.list_artifacts(summary["run_id"], "explain")}
    assert f"explain/{Path(summary['html']).name}" in stored
    assert f"explain/{Path(summary['json']).name}" in stored
    model = summary["model"]
    entries = [e for e in context.audit.entries() if e.action == "model.explain"]
    assert entries, "no model.explain entry on the audit trail"
    entry = entries[-1]
    assert entry.object == f"{model['name']}@{model['version']}"
    assert entry.actor.startswith("user:")
    assert entry.details["run"] == summary["run_id"]
    assert entry.details["surrogate_fidelity"] == pytest.approx(summary["surrogate_fidelity"])
    assert entry.details["report"] == Path(summary["html"]).relative_to(root).as_posix()
    assert context.audit.verify() >= len(entries)


def test_the_same_seed_gives_the_same_lime(
    context: ProjectContext, summary: dict[str, Any], low_scored_event: str
) -> None:
    result = explain(context, "--rows", "600", "--seed", "3", "--row", low_scored_event, "--json")
    assert result.exit_code == 0, result.output
    text = result.stdout
    again = json.loads(text[text.index("{") :])
    assert again["html"] != summary["html"]  # a new report, not an overwritten one
    first = json.loads(Path(summary["json"]).read_text())
    second = json.loads(Path(again["json"]).read_text())
    assert second["lime"] == first["lime"]
    assert second["surrogate"] == first["surrogate"]


def test_an_unknown_event_is_a_located_error(context: ProjectContext) -> None:
    result = explain(context, "--row", "tx-does-not-exist")
    assert result.exit_code == 1
    assert "tx-does-not-exist" in result.output and "held-out period" in result.output
