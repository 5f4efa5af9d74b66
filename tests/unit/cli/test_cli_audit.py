"""`ferry audit show|log|verify|anchor` through CliRunner, on a workspace `ferry init` made."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferryml.cli import app
from ferryml.clock import ManualClock
from ferryml.config.loader import load_config
from ferryml.pipeline import ProjectContext

runner = CliRunner()
START = datetime(2030, 3, 1, tzinfo=UTC)  # after the init entries, whatever today is
ENTRIES = [  # actor, action, object; one an hour from START
    ("user:ana", "model.train", "fraud/1"),
    ("user:bo", "model.promote", "fraud/1"),
    ("admin@10.0.0.1", "serving.pin", "fraud/1"),
    ("user:ana", "data.ingest", "transactions@ab12"),
    ("canary", "serving.canary.rollback", "fraud/2"),
]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "ws"
    assert invoke("init", str(root), "--project", "demo")[0] == 0
    config = root / "configs" / "ferry.yaml"
    clock = ManualClock(START)
    context = ProjectContext.open(load_config(config), clock)
    for actor, action, obj in ENTRIES:
        context.audit.append(actor, action, obj, {"hour": clock.now().hour})
        clock.advance(timedelta(hours=1))
    context.close()
    return root, str(config)


def _shown(config: str, *filters: str) -> list[tuple[int, str]]:
    code, output = invoke("audit", "show", "-c", config, "--json", *filters)
    assert code == 0, output
    return [(entry["seq"], entry["action"]) for entry in json.loads(output)]


def test_show_filters_by_object_actor_action_and_time(workspace: tuple[Path, str]) -> None:
    _, config = workspace
    # seq 1-2: config.change and workspace.init from `ferry init`; ENTRIES follow from seq 3
    assert _shown(config, "--object", "fraud/1") == [
        (3, "model.train"),
        (4, "model.promote"),
        (5, "serving.pin"),
    ]
    assert _shown(config, "--object", "fraud/*", "--actor", "user:*") == [
        (3, "model.train"),
        (4, "model.promote"),
    ]
    assert _shown(config, "--action", "serving.*") == [
        (5, "serving.pin"),
        (7, "serving.canary.rollback"),
    ]
    since, until = "2030-03-01T01:00", "2030-03-01T04:00+01:00"  # 01:00 to 03:00 UTC
    assert _shown(config, "--since", since, "--until", until) == [
        (4, "model.promote"),
        (5, "serving.pin"),
    ]
    assert _shown(config, "--limit", "2") == [(6, "data.ingest"), (7, "serving.canary.rollback")]
    (entry,) = json.loads(invoke("audit", "show", "-c", config, "--json", "--limit", "1")[1])
    assert entry["details"] == {"hour": 4} and entry["scheme"] == "hmac-sha256"


def test_show_and_log_print_tables(workspace: tuple[Path, str]) -> None:
    _, config = workspace
    code, output = invoke("audit", "show", "-c", config, "--actor", "user:bo", "--details")
    assert code == 0, output
    assert "model.promote" in output and '{"hour": 1}' in output
    assert "audit trail (1 entries)" in output
    code, output = invoke("audit", "log", "-c", config, "--limit", "2")
    assert code == 0, output
    assert "data.ingest" in output and "model.train" not in output


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_bad_time_is_a_clear_error(workspace: tuple[Path, str], option: str) -> None:
    _, config = workspace
    code, output = invoke("audit", "show", "-c", config, option, "last tuesday")
    assert code == 1
    text = " ".join(output.split())
    assert f"{option} 'last tuesday' is not an ISO 8601 date or time" in text
    assert "2026-03-01T12:00" in text  # the hint shows the format


def test_verify_reports_the_checkpoint_and_a_deleted_tail(workspace: tuple[Path, str]) -> None:
    root, config = workspace
    code, output = invoke("audit", "verify", "-c", config)
    assert code == 0, output
    assert "7 audit entries verified" in output
    assert "seq 7 is in the chain" in " ".join(output.split())

    with sqlite3.connect(root / "ferryml.db") as db:
        db.execute("DELETE FROM audit_log WHERE seq >= 6")
    code, output = invoke("audit", "verify", "-c", config)
    assert code == 1
    assert "entries seq 6..7 were deleted" in " ".join(output.split())
    assert invoke("audit", "anchor", "-c", config)[0] == 1  # a truncation is not papered over

    code, output = invoke("audit", "anchor", "-c", config, "--force")
    assert code == 0, output
    assert "replaced:" in output
    assert invoke("audit", "verify", "-c", config)[0] == 0
    assert _shown(config, "--action", "audit.anchor") == [(6, "audit.anchor")]


def test_a_lost_checkpoint_file_fails_until_anchored(workspace: tuple[Path, str]) -> None:
    root, config = workspace
    (root / ".ferryml-audit-head.json").unlink()
    code, output = invoke("audit", "verify", "-c", config)
    assert code == 1
    assert "is missing" in output and "ferry audit anchor" in output
    code, output = invoke("audit", "anchor", "-c", config)
    assert code == 0, output
    assert (root / ".ferryml-audit-head.json").exists()
    assert invoke("audit", "verify", "-c", config)[0] == 0


def test_verify_names_an_edited_entry(workspace: tuple[Path, str]) -> None:
    root, config = workspace
    with sqlite3.connect(root / "ferryml.db") as db:
        db.execute("UPDATE audit_log SET object = 'fraud/9' WHERE seq = 4")
    code, output = invoke("audit", "verify", "-c", config)
    assert code == 1
    assert "(seq 4): its object column differs from its signed entry" in " ".join(output.split())


def test_verify_with_another_key_names_the_first_entry(workspace: tuple[Path, str]) -> None:
    _, config = workspace
    env = {"FERRY_AUDIT_KEY": "not-this-workspaces-key-0123456789"}
    code, output = invoke("audit", "verify", "-c", config, env=env)
    assert code == 1
    text = " ".join(output.split())
    assert "(seq 1): it was signed with another key" in text


def test_a_config_change_is_recorded_before_the_next_action(workspace: tuple[Path, str]) -> None:
    _, config = workspace
    recorded = _shown(config, "--action", "config.change")
    assert recorded == [(1, "config.change")]  # `ferry init`; ENTRIES ran on the same config

    context = ProjectContext.open(load_config(Path(config)))
    context.audit.append("user:ana", "test.same", "x")  # same config: nothing new
    context.close()
    changed = load_config(Path(config), overrides=["training.seed=7"])
    context = ProjectContext.open(changed)
    context.audit.append("user:ana", "test.changed", "x")
    context.audit.append("user:ana", "test.changed", "y")  # recorded once per context
    context.close()
    (first, second) = json.loads(
        invoke("audit", "show", "-c", config, "--json", "--action", "config.change")[1]
    )
    assert second["seq"] == 9 and second["object"] == config
    assert second["details"]["previous_sha256"] == first["details"]["config_sha256"]
    assert second["details"]["config_sha256"] != first["details"]["config_sha256"]
    assert _shown(config, "--object", "x") == [(8, "test.same"), (10, "test.changed")]
