"""`ferry ingest` with the reference Great Expectations suite, end to end through the CLI:
the generator's injected defects are quarantined with their reasons, counts reconcile, reports
are written, an `error` rule rejects the input and nothing is published."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
from typer.testing import CliRunner

from ferryml.cli import app

runner = CliRunner()
# Three days that hold the reference config's bad-data window (2025-11-10..12).
BAD_DAYS = ("--set", "data.synth.start=2025-11-10", "--set", "data.synth.days=3")
AS_OF = ("--as-of", "2025-11-13")


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def workspace(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "ws"
    assert invoke("init", str(root), "--project", "demo")[0] == 0
    config = str(root / "configs" / "ferry.yaml")
    code, output = invoke("generate", "-c", config, *BAD_DAYS)
    assert code == 0, output
    return root, config


def test_injected_defects_are_quarantined_with_reasons(tmp_path: Path) -> None:
    root, config = workspace(tmp_path)
    code, output = invoke("ingest", "-c", config, *AS_OF, "--set", "data.ingest.chunk_rows=2500")
    assert code == 0, output
    defects = json.loads((root / "data" / "raw" / "synth" / "manifest.json").read_text())[
        "bad_data"
    ]
    [version] = list((root / "data" / "processed" / "transactions").iterdir())
    summary = json.loads(
        (
            root / "reports" / "validation" / "transactions" / version.name / "summary.json"
        ).read_text()
    )
    failed = {r["rule"]: r["failed"] for r in summary["rules"] if r["status"] == "failed"}
    assert failed == {
        "range:amount": defects["negative_amount"],
        "not_in_future:event_time": defects["future_event_time"],
        "allowed_values:merchant_country": defects["unknown_country"],
        "unique:transaction_id": defects["duplicate_transaction_id"],
        "withdrawal_has_no_beneficiary": defects["withdrawal_with_beneficiary"],
    }
    assert summary["rows_in"] == summary["accepted"] + summary["quarantined"]
    assert summary["rejected"] is False

    quarantine = root / "data" / "quarantine" / "transactions" / version.name
    reasons = json.loads((quarantine / "reasons.json").read_text())
    assert (
        reasons["rows"]
        == summary["quarantined"]
        == pq.read_metadata(quarantine / "rows.parquet").num_rows
    )
    published = sum(pq.read_metadata(p).num_rows for p in version.glob("part-*.parquet"))
    assert published == summary["accepted"]

    docs = list((root / "reports" / "validation").rglob("index.html"))
    assert docs
    assert "fraud_transactions" in docs[0].read_text()
    assert f"{summary['quarantined']:,} quarantined" in output

    with sqlite3.connect(root / "ferryml.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert actions[-2:] == ["data.ingest", "data.validate"]

    # No raw PII anywhere ingestion and validation wrote: stored and quarantined rows,
    # the summary, the reasons, the Data Docs.
    raw = ds.dataset(root / "data" / "raw" / "synth" / "transactions", partitioning="hive")
    secrets = {
        v
        for c in raw.to_table(columns=["card_number", "device_id"]).columns
        for v in c.to_pylist()
        if v
    }
    written = [*version.glob("part-*.parquet"), quarantine / "rows.parquet"]
    values = {
        str(v) for path in written for c in pq.read_table(path).columns for v in c.to_pylist()
    }
    assert not secrets & values
    texts = [p.read_text(errors="replace") for p in (root / "reports").rglob("*") if p.is_file()]
    texts.append((quarantine / "reasons.json").read_text())
    assert not [s for s in secrets if any(s in text for text in texts)]


def test_an_error_rule_rejects_the_input_and_publishes_nothing(tmp_path: Path) -> None:
    root, config = workspace(tmp_path)
    text = Path(config).read_text()
    strict = text.replace("max: 50000, severity: warn}", "max: 50000, severity: error}")
    assert strict != text
    Path(config).write_text(strict)
    code, output = invoke("ingest", "-c", config, *AS_OF)
    assert code == 1
    assert "rejected" in output
    assert "range:amount" in output
    assert not (root / "data" / "processed" / "transactions").exists()
    with sqlite3.connect(root / "ferryml.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert actions[-1] == "data.ingest.refused"


def test_validate_rechecks_a_stored_version_against_todays_rules(tmp_path: Path) -> None:
    root, config = workspace(tmp_path)
    assert invoke("ingest", "-c", config, *AS_OF)[0] == 0
    code, output = invoke("validate", "transactions", "-c", config, *AS_OF)
    assert code == 0, output
    assert "would quarantine 0" in output  # what was accepted passes the rules it passed

    text = Path(config).read_text()
    stricter = text.replace(
        "values: [EUR, GBP, CHF, USD], severity: warn}", "values: [GBP], severity: error}"
    )
    assert stricter != text
    Path(config).write_text(stricter)
    code, output = invoke("validate", "transactions", "-c", config, *AS_OF)
    assert code == 1
    assert "allowed_values:currency" in output
    assert "would be rejected today" in output
    summaries = list((root / "reports" / "validation").rglob("*/summary.json"))
    assert len(summaries) == 3  # the ingest's and one per `ferry validate`
