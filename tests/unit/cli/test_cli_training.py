"""`ferry train` and `ferry ui` through CliRunner, on one small trained workspace."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from ferryml.cli import app

runner = CliRunner()
SIZES = (
    "data.synth.start=2025-10-01",
    "data.synth.days=40",
    "data.synth.transactions_per_day=250",
    "data.synth.customers=1200",
    "data.synth.merchants=150",
    "data.synth.base_fraud_rate=0.03",
    "data.synth.label_delay_days.max=7",
    "data.synth.scenarios.bad_data.enabled=false",
    "training.label_maturity_days=7",
    "training.split.validation_days=7",
    "training.split.test_days=7",
)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ...]:
    """A workspace with generated, ingested data and a feature build; its config flags."""
    root = tmp_path_factory.mktemp("train") / "ws"
    code, output = invoke("init", str(root), "--project", "demo")
    assert code == 0, output
    flags = ("-c", str(root / "configs" / "ferry.yaml"), *(a for s in SIZES for a in ("--set", s)))
    for command in (("generate",), ("ingest",), ("features", "build")):
        code, output = invoke(*command, *flags)
        assert code == 0, output
    return flags


def test_train_one_model_as_json_then_register_a_challenger(workspace: tuple[str, ...]) -> None:
    code, output = invoke("train", "--model", "logistic", "--json", *workspace)
    assert code == 0, output
    summary = json.loads(output[output.index("{") :])
    assert list(summary["models"]) == ["logistic"]
    assert summary["best"] == "logistic" and summary["alias"] == "challenger"
    assert 0.0 < summary["models"]["logistic"]["validation_pr_auc"] <= 1.0
    code, output = invoke("train", "--model", "logistic", "--model", "lightgbm", *workspace)
    assert code == 0, output
    assert "registered demo version 2 as challenger" in output
    assert "threshold" in output and "cost if" in output and "ferry ui" in output
    report = Path(output.split("report: ")[1].split(" ")[0])
    html = report.read_text()
    for expected in ("logistic", "lightgbm", "EUR", "data:image/png;base64,", "completeness"):
        assert expected in html
    assert "dataset_hash" in html and "git_sha" in html  # lineage


@pytest.mark.parametrize("model", ["lightgbm", "ebm"])
def test_from_run_rebuilds_the_same_model(workspace: tuple[str, ...], model: str) -> None:
    code, output = invoke("train", "--model", model, "--no-register", "--json", *workspace)
    assert code == 0, output
    run_id = json.loads(output[output.index("{") :])["models"][model]["run_id"]
    code, output = invoke("train", "--from-run", run_id, *workspace)
    assert code == 0, output
    assert f"run {run_id} ({model}) rebuilt as run" in output
    assert "largest test score difference 0" in output and "identical" in output
    code, output = invoke("train", "--from-run", "0123456789abcdef", *workspace)
    assert code == 1
    assert "no MLflow run '0123456789abcdef'" in output


def test_train_refusals_name_the_fix(workspace: tuple[str, ...]) -> None:
    code, output = invoke("train", "--model", "xgboost", *workspace)
    assert code == 1
    assert "no model named ['xgboost']" in output and "configured:" in output
    code, output = invoke(
        "train", *workspace, "--set", "training.split.test_days=60", "--no-register"
    )
    assert code == 1
    assert "too short for the split" in output and "hint:" in output
    code, output = invoke("train", *workspace, "--set", "training.models.lightgbm.num_leafs=3")
    assert code == 1
    assert "training.models.lightgbm" in output and "num_leafs" in output


def test_ui_serves_the_mlflow_ui(workspace: tuple[str, ...]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "ferryml", "ui", "--port", str(port), *workspace],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    assert answer.status == 200
                    assert b"MLflow" in answer.read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert psutil.Process(process.pid).children(recursive=True), "no MLflow server"
    finally:
        process.terminate()
        process.wait(timeout=30)
    # MLflow's server, its job runner and task consumers go with `ferry ui`: none is left
    deadline = time.monotonic() + 15
    while (left := mlflow_processes_since(started)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, left
    assert Path(workspace[1]).exists()


def mlflow_processes_since(started: float) -> list[str]:
    """Command lines of MLflow server processes created after ``started`` (epoch seconds)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "create_time"]):
        line = " ".join(proc.info["cmdline"] or [])
        if proc.info["create_time"] >= started and ("mlflow.server" in line or "huey" in line):
            found.append(line[:120])
    return found
