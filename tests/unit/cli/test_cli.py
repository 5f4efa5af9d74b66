"""The `ferry` command through Typer's CliRunner: exit codes, located errors, real work."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import TRAINABLE_SETTINGS, Quickstarted
from ferryml import __version__
from ferryml.cli import app
from ferryml.errors import ConfigError

runner = CliRunner()
# Three days inside the reference config's holiday season, so its scenarios stay in the period.
SMALL_PERIOD = ("--set", "data.synth.start=2025-12-10", "--set", "data.synth.days=3")
TRAINABLE = tuple(arg for key in TRAINABLE_SETTINGS for arg in ("--set", key))


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_version() -> None:
    code, output = invoke("--version")
    assert code == 0
    assert __version__ in output


def test_help_teaches_the_first_steps() -> None:
    code, output = invoke("--help")
    assert code == 0
    text = " ".join(output.split())  # rich wraps to the terminal's width
    assert "ferry quickstart" in text
    assert "ferry init DIR" in text


def test_unknown_command_is_a_usage_error() -> None:
    code, _ = invoke("no-such-command")
    assert code == 2


def test_config_error_exits_1_with_location_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("project:\n  name: demo\nlogging:\n  levle: INFO\n")
    code, output = invoke("config", "validate", str(path))
    assert code == 1
    assert f"{path}:4:3: logging.levle" in output
    assert "did you mean 'level'" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("project: [unclosed\n", "not valid YAML"),
        ("project:\n  name: 12\n", "project.name"),
    ],
)
def test_malformed_and_mistyped_configs_exit_1(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, output = invoke("config", "validate", str(path))
    assert code == 1
    assert message in output


def test_missing_config_file_exits_1(tmp_path: Path) -> None:
    code, output = invoke("config", "validate", str(tmp_path / "absent.yaml"))
    assert code == 1
    assert "config file not found" in output


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "config", "validate", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)


def test_config_show_applies_environment_then_set(tmp_path: Path) -> None:
    env = {"FERRY_LOGGING__LEVEL": "ERROR", "FERRY_LOGGING__FORMAT": "json"}
    code, output = invoke("config", "show", "--set", "logging.level=WARNING", env=env)
    assert code == 0, output
    assert "level: WARNING" in output
    assert "format: json" in output


def test_init_lays_out_the_workspace(tmp_path: Path) -> None:
    target = tmp_path / "my-fraud"
    code, output = invoke("init", str(target))
    assert code == 0, output
    for sub in ("configs/ferry.yaml", "data/raw", "data/processed", "data/models", "reports"):
        assert (target / sub).exists(), sub
    assert (target / "ferryml.db").exists()
    code, output = invoke("config", "validate", str(target / "configs" / "ferry.yaml"))
    assert code == 0, output
    assert "project my-fraud" in output


def test_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, output = invoke("init", str(tmp_path))
    assert code == 1
    assert "not empty" in output
    assert "--force" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_init_rejects_a_bad_project_name_and_writes_nothing(tmp_path: Path) -> None:
    code, output = invoke("init", str(tmp_path / "ws"), "--project", "Fraud EU")
    assert code == 1
    assert "invalid project name" in output
    assert not (tmp_path / "ws").exists()


def test_generate_writes_data_and_audits_it(tmp_path: Path) -> None:
    invoke("init", str(tmp_path / "ws"), "--project", "demo")
    config = str(tmp_path / "ws" / "configs" / "ferry.yaml")
    code, output = invoke(
        "generate", "--config", config, "--days", "2", "--seed", "3", *SMALL_PERIOD
    )
    assert code == 0, output
    manifest = json.loads(
        (tmp_path / "ws" / "data" / "raw" / "synth" / "manifest.json").read_text()
    )
    assert manifest["rows"]["transactions"] > 0
    assert "fraud rate" in output
    code, output = invoke("audit", "log", "--config", config)
    assert code == 0
    assert "data.generate" in output
    assert "workspace.init" in output


def test_audit_verify_fails_on_an_edited_entry(tmp_path: Path) -> None:
    invoke("init", str(tmp_path / "ws"), "--project", "demo")
    config = str(tmp_path / "ws" / "configs" / "ferry.yaml")
    assert invoke("audit", "verify", "--config", config)[0] == 0
    with sqlite3.connect(tmp_path / "ws" / "ferryml.db") as db:
        db.execute("UPDATE audit_log SET actor = 'mallory'")
    code, output = invoke("audit", "verify", "--config", config)
    assert code == 1
    assert "audit" in output.lower()


def test_quickstart_runs_what_exists_and_says_what_does_not(
    quickstarted: Quickstarted, tmp_path: Path
) -> None:
    output = quickstarted.output()  # `ferry quickstart --workspace NEW` with TRAINABLE
    assert "fraud rate" in output
    # config, init, generate, ingest, validate, features build, materialize, model train,
    # a gate per model, register, the explanation report and the stand-in approval the
    # high-risk policy asks for, promote
    assert "audit trail verified: 15 entries" in output
    assert "approved by demo:approver-1: a stand-in" in " ".join(output.split())
    assert "transactions@" in output
    text = " ".join(output.split())
    assert "feature set " in text and "window state customer_amount" in text
    for model in ("lightgbm", "logistic", "ebm"):
        assert model in text
    assert "champion: none yet" in text
    assert re.search(r"✓ promoted fraud version 1 \((lightgbm|logistic|ebm) [0-9a-f]{8}\)", text)
    assert "Stopped after the first champion (--no-loop)" in text and "ferry monitor" in text
    assert "quarantined" in output
    # a second run reuses the workspace and extends the same chain; the same data and seed
    # retrain the same model, which is not better than the champion: nothing is promoted
    workspace = quickstarted.copy(tmp_path / "qs")
    code, output = invoke("quickstart", "--no-loop", "--workspace", str(workspace), *TRAINABLE)
    assert code == 0, output
    text = " ".join(output.split())
    assert "reused" in output
    assert "unchanged: same content as before, nothing written" in text
    assert "champion: champion v1" in text
    assert "pr_auc better = 0 (limit delta > 0)" in text
    assert "nothing promoted" in text
    # 15 entries of the first run, the copy's workspace.relocate, 9 of this run (the same
    # config: recorded once)
    assert "audit trail verified: 25 entries" in output
    # the run ended by anchoring the verified head in MLflow too (it had loaded MLflow anyway)
    code, output = invoke("audit", "verify", "-c", str(workspace / "configs" / "ferry.yaml"))
    text = " ".join(output.split())
    assert code == 0 and "MLflow tag ferryml.audit_head of experiment 'fraud': seq 25 is" in text


def test_a_workspace_belongs_to_one_project(tmp_path: Path) -> None:
    invoke("init", str(tmp_path / "ws"), "--project", "demo")
    config = str(tmp_path / "ws" / "configs" / "ferry.yaml")
    code, output = invoke("generate", "-c", config, "--set", "project.name=other", *SMALL_PERIOD)
    assert code == 1
    assert "belongs to project 'demo'" in output
    assert not (tmp_path / "ws" / "data" / "raw" / "synth").exists()


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (
            ["--log-format", "json"],
            {"FERRY_LOGGING__FORMAT": "text", "FERRY_LOGGING__LEVEL": "INFO"},
        ),
        ([], {"FERRY_LOGGING__FORMAT": "json", "FERRY_LOGGING__LEVEL": "INFO"}),
    ],
)
def test_json_logs_from_flag_or_config(
    tmp_path: Path, flags: list[str], env: dict[str, str]
) -> None:
    invoke("init", str(tmp_path / "ws"), "--project", "demo")
    config = str(tmp_path / "ws" / "configs" / "ferry.yaml")
    result = CliRunner().invoke(app, [*flags, "generate", "-c", config, *SMALL_PERIOD], env=env)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert any(r["message"] == "generated synthetic data" for r in records)


@pytest.mark.redis
def test_doctor_reports_each_service(tmp_path: Path, redis_client: object) -> None:
    invoke("init", str(tmp_path / "ws"), "--project", "demo")
    config = str(tmp_path / "ws" / "configs" / "ferry.yaml")
    code, output = invoke("doctor", "-c", config)
    assert code == 0, output
    assert output.count("ok") >= 3

    code, output = invoke(
        "doctor", "-c", config, "--set", "storage.redis_url=redis://127.0.0.1:1/0"
    )
    assert code == 1
    assert "FAIL" in output
    assert "127.0.0.1:1" in output


@pytest.mark.parametrize("name", ["no", "null", "on"])
def test_project_names_that_look_like_yaml_words_stay_names(tmp_path: Path, name: str) -> None:
    code, output = invoke("init", str(tmp_path / "ws"), "--project", name)
    assert code == 0, output
    code, output = invoke("config", "validate", str(tmp_path / "ws" / "configs" / "ferry.yaml"))
    assert code == 0, output
    assert f"project {name}" in output


def test_init_force_cannot_give_a_workspace_to_another_project(tmp_path: Path) -> None:
    invoke("init", str(tmp_path / "ws"), "--project", "demo")
    config = tmp_path / "ws" / "configs" / "ferry.yaml"
    before = config.read_text()
    code, output = invoke("init", str(tmp_path / "ws"), "--project", "other", "--force")
    assert code == 1
    assert "workspace of project 'demo'" in output
    assert config.read_text() == before


def test_quickstart_never_fills_a_directory_of_the_users(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, output = invoke("quickstart", "--no-loop", "--workspace", str(tmp_path), *SMALL_PERIOD)
    assert code == 1
    assert "not empty" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_read_only_commands_do_not_create_a_workspace(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("project:\n  name: demo\n")
    code, output = invoke("audit", "verify", "-c", str(config))
    assert code == 1
    assert "no ferryml workspace" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.yaml"]
