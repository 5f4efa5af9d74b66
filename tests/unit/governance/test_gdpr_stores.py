"""GDPR rewrites of stores that need care: prediction-log segments that are being shipped,
SQLite files whose deleted rows stay in free pages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from ferryml.cli import app as cli
from ferryml.governance.gdpr.selection import ValueSelection
from ferryml.governance.gdpr.sqlite_files import compact
from ferryml.governance.gdpr.stores.predictions import _rewrite_segment
from ferryml.serving.predlog import PredictionLog, Shipper
from ferryml.storage.tables import predictions


def _record(n: int, customer: str) -> dict[str, object]:
    return {
        "request_id": f"r{n}",
        "ts": "2026-01-01T00:00:00+00:00",
        "event_id": f"tx-{n}",
        "status": 200,
        "request": {"customer_id": customer, "amount": float(n)},
    }


def test_a_segment_loses_the_subjects_lines_and_its_shipped_offset_follows(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    log = PredictionLog(tmp_path)
    shipper = Shipper(tmp_path, sqlite_engine, "fraud")
    for n, customer in enumerate(["C1", "C2", "C1", "C3"]):
        log.append(_record(n, customer))
    assert shipper.ship_once() == 4
    for n, customer in [(4, "C1"), (5, "C4")]:  # written, not shipped yet
        log.append(_record(n, customer))
    log.close()
    chosen = ValueSelection({"customer_id": frozenset({"C1"})})

    assert _rewrite_segment(log.path, chosen) == 3
    kept = [orjson.loads(line)["request_id"] for line in log.path.read_bytes().splitlines()]
    assert kept == ["r1", "r3", "r5"]
    assert int(log.path.with_suffix(".offset").read_text()) == sum(
        len(line) + 1 for line in log.path.read_bytes().splitlines()[:2]
    )
    # the shipper goes on from the right place: r5 once, r4 never
    assert shipper.ship_once() == 1
    with sqlite_engine.connect() as conn:
        shipped = sorted(conn.execute(select(predictions.c.request_id)).scalars())
    assert shipped == ["r0", "r1", "r2", "r3", "r5"]  # the table is erased by its own DELETE
    assert _rewrite_segment(log.path, chosen) == 0


def test_compacting_a_sqlite_file_removes_the_bytes_of_deleted_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as a busy server's file can be
    conn.execute("CREATE TABLE t (k TEXT, v BLOB)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(f"C{i:08d}", b"x" * 200) for i in range(500)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("DELETE FROM t WHERE k = 'C00000042'")

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.iterdir())

    try:
        assert b"C00000042" in on_disk()  # deleted, yet in the file until a checkpoint
        assert compact(path)
        assert b"C00000042" not in on_disk()
        assert b"C00000041" in on_disk()
    finally:
        conn.close()


def test_the_check_command_refuses_features_and_purposes_the_policy_does_not_allow() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["gdpr", "check"])
    assert result.exit_code == 0, result.output
    assert "may be used for training" in result.output
    narrow = ["--set", "governance.gdpr.allowed_features=[amount_eur, 'customer_amount_*']"]
    result = runner.invoke(cli, ["gdpr", "check", *narrow])
    assert result.exit_code == 1
    assert "data minimization" in result.output and "merchant_risk" in result.output
    result = runner.invoke(cli, ["gdpr", "check", "--set", "governance.gdpr.training_purpose=ads"])
    assert result.exit_code == 1
    assert "purpose limitation" in result.output
