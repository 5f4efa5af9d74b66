"""A process killed mid-ingest leaves no version visible, and a rerun succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferryml.cli import app

pytestmark = pytest.mark.faults

runner = CliRunner()


def test_a_killed_ingest_publishes_nothing_and_a_rerun_succeeds(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(root), "--project", "demo"]).exit_code == 0
    config = str(root / "configs" / "ferry.yaml")
    sizes = ["--set", "data.synth.start=2025-12-01", "--set", "data.synth.days=20"]
    assert runner.invoke(app, ["generate", "-c", config, *sizes]).exit_code == 0

    staging = root / "data" / "processed" / ".staging"
    env = {**os.environ, "FERRY_DATA__INGEST__CHUNK_ROWS": "200"}  # many small chunks: slow
    process = subprocess.Popen(
        [sys.executable, "-m", "ferryml", "ingest", "-c", config],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(staging.glob("staged-*/part-*.parquet"))) < 3:
            assert process.poll() is None, "ingest finished before it could be killed"
            assert time.monotonic() < deadline, "ingest never started staging"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    versions = root / "data" / "processed" / "transactions"
    assert not versions.exists() or not any(versions.iterdir())
    listed = runner.invoke(app, ["data", "list", "-c", config])
    assert "transactions@" not in listed.output
    assert list(staging.glob("staged-*"))  # the killed run's staging directory is still there

    rerun = runner.invoke(app, ["ingest", "-c", config])
    assert rerun.exit_code == 0, rerun.output
    assert len(list(versions.iterdir())) == 1
    assert not list(staging.glob("staged-*"))  # swept: its process is gone
