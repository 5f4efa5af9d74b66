"""The validation engine on real Great Expectations, against the generator's bad_data truth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ferryml.config import load_config
from ferryml.config.schema import SchemaConfig
from ferryml.data.synth import SynthConfig, SynthManifest, generate
from ferryml.data.synth.writer import TRANSACTION_SCHEMA
from ferryml.data.validate import (
    BROKEN_RULES_COLUMN,
    ChunkValidator,
    ChunkVerdict,
    SummaryBuilder,
    ValidationConfig,
    quarantine_duplicates,
    validate_chunk,
    validate_whole,
    write_quarantine,
)

CHUNK_ROWS = 400


def _schema() -> SchemaConfig:
    return load_config(environ={}).config.schema_


def _config() -> ValidationConfig:
    return load_config(environ={}).config.validation


def _read(manifest: SynthManifest) -> pa.Table:
    parts = sorted((manifest.out_dir / "transactions").glob("date=*/*.parquet"))
    tables = []
    for part in parts:
        table = pq.read_table(part)
        index = table.schema.get_field_index("amount")
        table = table.set_column(index, "amount", pc.cast(table["amount"], pa.float64()))
        tables.append(table.cast(TRANSACTION_SCHEMA))
    return pa.concat_tables(tables)


def _as_of(manifest: SynthManifest) -> datetime:
    return datetime.combine(manifest.period_end + timedelta(days=1), time(), tzinfo=UTC)


def _generate(out: Path, *, bad: bool) -> SynthManifest:
    scenarios = {"bad_data": {"enabled": True, "defect_rate": 0.02}} if bad else {}
    config = SynthConfig(days=4, customers=300, transactions_per_day=300, scenarios=scenarios)
    return generate(config, out)


@pytest.fixture(scope="module")
def validator() -> ChunkValidator:
    return ChunkValidator(_config(), _schema())


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthManifest, pa.Table]:
    manifest = _generate(tmp_path_factory.mktemp("bad") / "synth", bad=True)
    return manifest, _read(manifest)


def _run(
    table: pa.Table, validator: ChunkValidator, as_of: datetime, staged: Path
) -> Iterator[ChunkVerdict]:
    staged.mkdir(parents=True, exist_ok=True)
    for index, start in enumerate(range(0, table.num_rows, CHUNK_ROWS)):
        chunk = table.slice(start, CHUNK_ROWS)
        verdict = validate_chunk(chunk, validator, row_offset=start, as_of=as_of)
        pq.write_table(verdict.accepted, staged / f"part-{index:06d}.parquet")
        yield verdict


def test_each_rule_catches_its_defect(
    bad: tuple[SynthManifest, pa.Table], validator: ChunkValidator, tmp_path: Path
) -> None:
    manifest, table = bad
    assert all(v > 0 for v in manifest.bad_data.values()), manifest.bad_data
    builder = SummaryBuilder(validator)
    quarantined = []
    for verdict in _run(table, validator, _as_of(manifest), tmp_path / "staged"):
        assert verdict.errors == []
        assert verdict.accepted.num_rows + verdict.quarantined.num_rows == verdict.rows_in
        builder.add_chunk(verdict)
        quarantined.append(verdict.quarantined)
    summary = builder.build()
    failed = {r.rule: r.failed for r in summary.rules}
    truth = manifest.bad_data
    assert failed["range:amount"] == truth["negative_amount"]
    assert failed["not_in_future:event_time"] == truth["future_event_time"]
    assert failed["allowed_values:merchant_country"] == truth["unknown_country"]
    assert failed["withdrawal_has_no_beneficiary"] == truth["withdrawal_with_beneficiary"]
    row_level = [
        "negative_amount",
        "future_event_time",
        "unknown_country",
        "withdrawal_with_beneficiary",
    ]
    assert summary.quarantined == sum(truth[k] for k in row_level)  # defects hit disjoint rows
    assert summary.rows_in == table.num_rows == summary.accepted + summary.quarantined
    assert summary.rejected is False

    rows = pa.concat_tables(quarantined)
    counts = write_quarantine(rows, tmp_path / "quarantine")
    assert counts["range:amount"] == truth["negative_amount"]
    assert (tmp_path / "quarantine" / "rows.parquet").exists()
    assert set(pq.read_table(tmp_path / "quarantine" / "rows.parquet").column_names) >= {
        BROKEN_RULES_COLUMN
    }


def test_duplicates_over_the_whole_match_the_manifest(
    bad: tuple[SynthManifest, pa.Table], validator: ChunkValidator, tmp_path: Path
) -> None:
    manifest, table = bad
    staged = tmp_path / "staged"
    staged.mkdir()
    for index, start in enumerate(range(0, table.num_rows, CHUNK_ROWS)):  # every row staged
        pq.write_table(table.slice(start, CHUNK_ROWS), staged / f"part-{index:06d}.parquet")
    verdict = validate_whole(staged, validator.whole_checks)
    (dups,) = verdict.duplicates
    assert dups.rows.num_rows == manifest.bad_data["duplicate_transaction_id"]
    removed = quarantine_duplicates(staged, verdict)
    assert removed is not None
    assert removed.num_rows == dups.rows.num_rows
    left = pa.concat_tables(pq.read_table(p) for p in sorted(staged.glob("*.parquet")))
    assert left.num_rows + removed.num_rows == table.num_rows
    assert pc.count_distinct(left["transaction_id"]).as_py() == left.num_rows
    assert validate_whole(staged, validator.whole_checks).duplicates[0].rows.num_rows == 0


def test_clean_data_passes(validator: ChunkValidator, tmp_path: Path) -> None:
    manifest = _generate(tmp_path / "synth", bad=False)
    table = _read(manifest)
    builder = SummaryBuilder(validator)
    for verdict in _run(table, validator, _as_of(manifest), tmp_path / "staged"):
        builder.add_chunk(verdict)
    reference = table.slice(0, table.num_rows // 2)
    whole = validate_whole(tmp_path / "staged", validator.whole_checks, reference=reference)
    builder.add_whole(whole)
    summary = builder.build()
    assert summary.quarantined == 0
    assert summary.accepted == table.num_rows
    assert summary.rejected is False
    assert whole.failures == []
    assert whole.distributions[0].value < 0.05

    shifted = reference.set_column(
        reference.schema.get_field_index("amount"),
        "amount",
        pc.multiply(reference["amount"], 3.0),
    )
    drifted = validate_whole(tmp_path / "staged", validator.whole_checks, reference=shifted)
    assert [f.rule for f in drifted.failures] == ["distribution:amount"]


def test_error_rule_failure_is_reported_with_global_rows(
    bad: tuple[SynthManifest, pa.Table], validator: ChunkValidator
) -> None:
    manifest, table = bad
    chunk = table.slice(0, 50)
    ids = chunk["transaction_id"].to_pylist()
    ids[3] = ids[7] = None
    chunk = chunk.set_column(0, "transaction_id", pa.array(ids, type=pa.string()))
    verdict = validate_chunk(chunk, validator, row_offset=1000, as_of=_as_of(manifest))
    (error,) = verdict.errors
    assert error.rule == "not_null:transaction_id"
    assert (error.count, error.sample_rows) == (2, [1003, 1007])
    assert verdict.quarantined.num_rows == 2


def test_missing_column_is_an_error(
    bad: tuple[SynthManifest, pa.Table], validator: ChunkValidator
) -> None:
    manifest, table = bad
    chunk = table.slice(0, 20).drop_columns(["amount"])
    verdict = validate_chunk(chunk, validator, row_offset=0, as_of=_as_of(manifest))
    assert "type:amount" in {e.rule for e in verdict.errors}
    assert verdict.accepted.num_rows == 0


def test_duplicate_across_a_chunk_boundary(
    bad: tuple[SynthManifest, pa.Table], validator: ChunkValidator, tmp_path: Path
) -> None:
    _, table = bad
    first = table.slice(0, 10)
    second = table.slice(10, 10)
    ids = second["transaction_id"].to_pylist()
    ids[4] = first["transaction_id"][9].as_py()
    second = second.set_column(0, "transaction_id", pa.array(ids, type=pa.string()))
    pq.write_table(first, tmp_path / "part-000000.parquet")
    pq.write_table(second, tmp_path / "part-000001.parquet")
    (dups,) = validate_whole(tmp_path, validator.whole_checks).duplicates
    assert dups.rows.column("_global_row").to_pylist() == [14]
    assert dups.failure().sample_values == [ids[4]]


def test_data_docs_are_built(
    bad: tuple[SynthManifest, pa.Table], validator: ChunkValidator, tmp_path: Path
) -> None:
    manifest, table = bad
    frame = table.slice(0, 500).to_pandas()
    index = validator.suite.build_data_docs(frame, as_of=_as_of(manifest), directory=tmp_path)
    assert index.name == "index.html"
    assert index.exists()
    assert "fraud_transactions" in index.read_text()
