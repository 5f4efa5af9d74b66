"""CLI commands on a PostgreSQL platform DB leave no connection open behind them: a process
that runs many commands (a test session, a notebook, a scheduler) must not accumulate them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from conftest import RUN_ID, fresh_database
from ferryml.cli import app

pytestmark = pytest.mark.postgres


def _connections_to(name: str) -> int:
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres") as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_command_closes_the_platform_database_connections_it_opened(tmp_path: Path) -> None:
    name = f"ferryml_cli_{RUN_ID}"
    with fresh_database(name) as url:
        runner = CliRunner()
        assert runner.invoke(app, ["init", str(tmp_path / "ws")]).exit_code == 0
        config = str(tmp_path / "ws" / "configs" / "ferry.yaml")
        sets = ["--set", f"storage.database_url={url}", "--set", "data.synth.customers=100"]
        for _ in range(3):
            result = runner.invoke(app, ["generate", "-c", config, "--days", "1", *sets])
            assert result.exit_code == 0, result.output
            assert _connections_to(name) == 0
        failed = runner.invoke(app, ["ingest", "nothing", "-c", config, *sets])
        assert failed.exit_code == 1, failed.output  # an error ends the command too
        assert _connections_to(name) == 0
