"""`ferry ingest` and `ferry data …`: versions, idempotency, PII never stored, audit."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from ferryml.cli import app

runner = CliRunner()
SMALL = ("--set", "data.synth.start=2025-12-10", "--set", "data.synth.days=3")


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, " ".join(result.output.split())  # rich wraps to the terminal


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "ws"
    assert invoke("init", str(root), "--project", "demo")[0] == 0
    config = str(root / "configs" / "ferry.yaml")
    code, output = invoke("generate", "-c", config, *SMALL)
    assert code == 0, output
    return root, config


def test_ingest_publishes_once_and_then_writes_nothing(workspace: tuple[Path, str]) -> None:
    root, config = workspace
    code, output = invoke(
        "ingest", "transactions", "-c", config, "--set", "data.ingest.chunk_rows=2000"
    )
    assert code == 0, output
    assert "new version" in output
    [version_dir] = (root / "data" / "processed" / "transactions").iterdir()
    mtimes = {p.name: p.stat().st_mtime_ns for p in version_dir.iterdir()}
    assert len([p for p in mtimes if p.startswith("part-")]) > 1  # several chunks

    # different chunking, same content: the same version, nothing rewritten
    code, output = invoke("ingest", "-c", config, "--set", "data.ingest.chunk_rows=5000")
    assert code == 0, output
    assert "unchanged: same content as before, nothing written" in output
    assert {p.name: p.stat().st_mtime_ns for p in version_dir.iterdir()} == mtimes
    assert not any((root / "data" / "processed" / ".staging").glob("*"))

    code, output = invoke("data", "list", "-c", config)
    assert code == 0
    assert output.count("transactions@") == 1
    code, output = invoke("data", "show", "transactions", "-c", config)
    assert code == 0
    assert "key columns: transaction_id" in output

    code, output = invoke("audit", "log", "-c", config)
    assert output.count("data.ingest") == 2


def test_no_raw_pii_value_is_stored(workspace: tuple[Path, str]) -> None:
    root, config = workspace
    assert invoke("ingest", "-c", config)[0] == 0
    raw = ds.dataset(root / "data" / "raw" / "synth" / "transactions", partitioning="hive")
    raw_table = raw.to_table(columns=["card_number", "device_id"])
    secrets = {v for c in raw_table.columns for v in c.to_pylist() if v}
    assert secrets

    [version_dir] = (root / "data" / "processed" / "transactions").iterdir()
    stored = ds.dataset(sorted(version_dir.glob("part-*.parquet")), format="parquet").to_table()
    for column in stored.columns:
        assert not secrets & {str(v) for v in column.to_pylist()}
    texts = [(version_dir / "manifest.json").read_text()]
    with sqlite3.connect(root / "ferryml.db") as db:
        for table in ("datasets", "audit_log"):
            texts += [json.dumps(row, default=str) for row in db.execute(f"SELECT * FROM {table}")]
    joined = "\n".join(texts)
    assert not [s for s in secrets if s in joined]
    # pseudonyms are stable: the same card gets the same pseudonym in every row
    cards = stored.column("card_number").to_pylist()
    assert all(len(c) == 64 for c in cards)


def test_missing_pii_key_is_a_clear_error_and_publishes_nothing(
    workspace: tuple[Path, str],
) -> None:
    root, config = workspace
    (root / ".secrets" / "pii.key").unlink()
    code, output = invoke("ingest", "-c", config)
    assert code == 1
    assert "PII key file" in output
    assert "create one with" in output
    assert not (root / "data" / "processed" / "transactions").exists()


def test_unknown_dataset_suggests_the_declared_one(workspace: tuple[Path, str]) -> None:
    _, config = workspace
    code, output = invoke("ingest", "transaction", "-c", config)
    assert code == 1
    assert "did you mean 'transactions'" in output


def test_bad_input_publishes_nothing_and_keeps_the_earlier_version(
    workspace: tuple[Path, str], tmp_path: Path
) -> None:
    root, config = workspace
    assert invoke("ingest", "-c", config)[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("transaction_id,amount\nt1,12\n")
    code, output = invoke(
        "ingest",
        "-c",
        config,
        "--set",
        "data.sources.transactions={format: csv, path: " + str(bad) + "}",
    )
    assert code == 1
    assert "missing" in output.lower()
    assert len(list((root / "data" / "processed" / "transactions").iterdir())) == 1
    assert invoke("data", "list", "-c", config)[1].count("transactions@") == 1


def test_diff_between_two_versions(workspace: tuple[Path, str]) -> None:
    root, config = workspace
    assert invoke("ingest", "-c", config)[0] == 0
    assert (
        invoke("generate", "-c", config, "--set", "data.synth.start=2025-12-10", "--days", "4")[0]
        == 0
    )
    assert invoke("ingest", "-c", config)[0] == 0
    versions = sorted(p.name for p in (root / "data" / "processed" / "transactions").iterdir())
    assert len(versions) == 2
    code, output = invoke("data", "diff", "transactions", *versions, "-c", config)
    assert code == 0, output
    assert "only_in" in output
