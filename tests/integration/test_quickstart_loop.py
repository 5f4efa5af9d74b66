"""The closed loop end to end: a reduced ``ferry quickstart`` (the period cut short after the
loop closes) against a real ``ferry serve`` it starts itself, then every stage's artifact, the
injected drift detected, and the challenger promoted only because its gates, its shadow and its
canary let it through — read back from the workspace, the platform DB, the registry and the
audit trail, not from what the command printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ferryml.cli import app as cli
from ferryml.config.loader import LoadedConfig, load_config
from ferryml.governance.audit import AuditEntry
from ferryml.pipeline import ProjectContext
from ferryml.storage.db import transaction
from ferryml.storage.tables import labels, predictions

pytestmark = pytest.mark.timeout(1200)  # a whole quickstart: minutes on a loaded machine

REDUCED = (
    "data.synth.days=105",  # to 2025-12-14: the loop has closed by then, the holiday begun
    "training.models.ebm.outer_bags=1",
    # a loaded CI machine must not decide which model wins (tests/integration/test_gates.py
    # tests the latency gate itself)
    "gates.latency.p99_ms=1000",
    "gates.latency.min_rows_per_second=1",
    "gates.latency.max_ratio_to_champion=1000",
)


@dataclass(frozen=True)
class Story:
    root: Path
    output: str
    loaded: LoadedConfig
    context: ProjectContext
    audit: list[AuditEntry]

    def actions(self, action: str) -> list[AuditEntry]:
        return [entry for entry in self.audit if entry.action == action]

    def first(self, action: str, **details: Any) -> AuditEntry:
        found = [
            entry
            for entry in self.actions(action)
            if all(entry.details.get(k) == v for k, v in details.items())
        ]
        assert found, f"no {action} {details} on the audit trail"
        return found[0]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    root = tmp_path_factory.mktemp("loop") / "ws"
    sets = [arg for setting in REDUCED for arg in ("--set", setting)]
    result = CliRunner().invoke(cli, ["quickstart", "--workspace", str(root), *sets])
    assert result.exit_code == 0, result.output
    loaded = load_config(root / "configs" / "ferry.yaml", overrides=list(REDUCED))
    context = ProjectContext.open(loaded, create=False)
    try:
        yield Story(root, result.output, loaded, context, context.audit.entries())
    finally:
        context.close()


def test_every_stage_left_its_artifact(story: Story) -> None:
    root, reports = story.root, story.root / "reports"
    manifest = json.loads((root / "data/raw/generated/manifest.json").read_text())
    assert manifest["rows"]["transactions"] > 20_000
    # the source holds only the days the story reached: no future was ingested
    landed = sorted(p.name for p in (root / "data/raw/synth/transactions").iterdir())
    assert landed[0] == "date=2025-09-01" and landed[-1] < "date=2025-12-14"
    assert any((root / "data/quarantine/transactions").rglob("*.parquet"))  # the bad rows
    assert list((reports / "validation").rglob("summary.json"))
    assert len(list((reports / "training").glob("*.html"))) >= 2  # first champion, retraining
    assert len(list((reports / "gates").glob("*.html"))) >= 4
    assert list((reports / "explain").glob("*.html"))
    assert list((reports / "cards").glob("*.html"))
    assert len(list((reports / "monitoring").glob("*.html"))) >= 3
    assert "audit trail verified" in story.output
    # what the server answered reached the platform DB, with the labels that came in later
    project = story.context.workspace.project
    with transaction(story.context.engine, purpose="test") as conn:
        answered = conn.execute(
            select(func.count()).where(
                predictions.c.project == project,
                predictions.c.arm.in_(("champion", "challenger")),
                predictions.c.status == 200,
            )
        ).scalar_one()
        shadowed = conn.execute(
            select(func.count()).where(
                predictions.c.project == project, predictions.c.arm == "shadow"
            )
        ).scalar_one()
        labelled = conn.execute(
            select(func.count()).where(labels.c.project == project)
        ).scalar_one()
    assert answered > 5_000 and shadowed > 100 and labelled > 50


def test_the_injected_drift_was_detected(story: Story) -> None:
    alerts = []
    for path in (story.root / "reports" / "monitoring").glob("*.json"):
        alerts.extend(json.loads(path.read_text()).get("alerts", []))
    rules = {alert["rule"] for alert in alerts}
    # the new fraud pattern: the champion misses it once its chargebacks are in
    assert rules & {"performance-drop", "concept-drift"}, rules
    retrain = story.actions("monitor.retrain")
    assert retrain and set(retrain[0].details["asked_by"]) & {"performance-drop", "concept-drift"}


def test_the_challenger_became_champion_only_through_its_gates_shadow_and_canary(
    story: Story,
) -> None:
    from ferryml.evaluation.project import GATES_CHAMPION_TAG, GATES_TAG
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    challenger = story.actions("monitor.retrain")[0].details["challenger"]
    assert challenger is not None, "the retraining entered no challenger"
    tracker = tracker_for(story.loaded, story.root)
    registry = ModelRegistry(tracker, story.loaded.config.project.name)
    assert registry.get("champion").version == challenger != "1"
    run = tracker.client.get_run(registry.get(challenger).run_id)
    assert run.data.tags[GATES_TAG] == "passed"
    assert run.data.tags[GATES_CHAMPION_TAG] == "1"  # gated against the first champion
    # in order: entered as challenger, shadowed, ramped, the ramp held, then promoted
    seq = {entry.seq: entry for entry in story.audit}
    entered = story.first("model.promote", alias="challenger").seq
    shadow = story.first("serving.routing", strategy="shadow").seq
    canary = story.first("serving.routing", strategy="canary").seq
    complete = story.actions("serving.canary.complete")[0].seq
    promoted = story.first("model.promote", alias="champion", previous="1")
    assert entered < shadow < canary < complete < promoted.seq
    assert promoted.details["gates"] == "passed" and promoted.details["override_reason"] is None
    assert not story.actions("serving.canary.rollback")
    advances = [e.details["weight"] for e in story.actions("serving.canary.advance")]
    assert advances == story.loaded.config.serving.canary.steps[1:]
    assert seq[promoted.seq].object.endswith(f"@{challenger}")
