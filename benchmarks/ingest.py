"""Claim: ferryml ingests ~1M transactions end to end at a stated rows/s, in bounded memory.

Figure: ``ferryml.data.ingest.job.ingest_dataset`` of the generated Parquet directory (~1M
transactions: 100 days x 10,000 per day) end to end: stream in chunks of 100,000 rows, cast to
the reference fraud schema, HMAC-pseudonymize the PII columns (card_number, device_id), write
staged Parquet, content-hash it, publish it into a fresh ``DatasetStore`` (SQLite in a temp dir)
each repetition. Store set-up (engine, migrations) is done before the clock starts. Reported:
``rows_per_s_without_validation``, seconds, and the share of time per phase from one
instrumented re-run of the same loop (see ``phase_breakdown``). ``rows_per_s`` (the issue's
figure) is one run of the same ingest *with* the reference project's Great Expectations suite,
and ``gx_share`` the part of that run spent inside GX.

Anchor: the floor of the same job with raw pyarrow: ``pyarrow.dataset`` read of the same
directory (the schema's 18 columns, the ``date`` partition key left out as ferryml drops it) and
``pyarrow.parquet.write_table`` of it to a temp dir: no cast, no pseudonymization, no hash, no
store. Ratio = ferryml seconds / anchor seconds.

Bounded memory: the same rows written as CSV (1M rows, and 5M rows by repeating them with
``-r<k>`` suffixed transaction ids; every schema column), each ingested with ``CsvSource`` and
chunk_rows=100,000 in a subprocess; the subprocess's peak RSS is its ``ru_maxrss`` as returned
by ``os.wait4`` (the per-child form of ``getrusage(RUSAGE_CHILDREN)``). Bounded means the 5M
peak is close to the 1M peak, not 5x. The child also reports its peak at the end of the
streaming phase (read, cast, pseudonymize, stage), before publish (hash, DB), to show where
memory grows if it does. The CSV files are deleted afterwards.

    python benchmarks/ingest.py             # writes benchmarks/results/ingest.json
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure, write_result
from ferryml.config.loader import load_config
from ferryml.config.schema import SchemaConfig
from ferryml.data.ingest.arrow_schema import arrow_schema
from ferryml.data.ingest.job import Validation, ingest_dataset, key_columns
from ferryml.data.ingest.sources import CsvSource, ParquetSource, SourceConfig, open_source
from ferryml.data.pseudonymize import Pseudonymizer
from ferryml.data.synth import SynthConfig, generate
from ferryml.data.validate import ChunkValidator
from ferryml.data.versioning import DatasetStore, content_hash
from ferryml.storage.db import make_engine, upgrade

DAYS = 100
PER_DAY = 10_000
CHUNK_ROWS = 100_000
CSV_REPEATS = 5  # 5 x ~1M rows
PII_KEY = b"benchmark-key-0123456789abcdef0123456789"
DATASET = "transactions"
REPEAT = 3
WARMUP = 1


def reference_schema() -> SchemaConfig:
    return load_config(environ={}).config.schema_


def fresh_store(root: Path) -> DatasetStore:
    """An empty store with its own migrated SQLite database under ``root``."""
    engine = make_engine(f"sqlite:///{root}/ferryml.db")
    upgrade(engine)
    return DatasetStore(engine, "fraud", root / "processed")


def run_ingest(source: SourceConfig, store: DatasetStore, schema: SchemaConfig) -> int:
    result = ingest_dataset(
        DATASET,
        source,
        base_dir=store.root,
        schema=schema,
        store=store,
        chunk_rows=CHUNK_ROWS,
        pii_key=PII_KEY,
    )
    assert result.created, "each repetition publishes into a fresh store"
    return result.rows


def run_validated_ingest(
    source: SourceConfig, root: Path, schema: SchemaConfig
) -> dict[str, float]:
    """One ingest with the reference project's Great Expectations suite, timed whole.

    The validator (GX import + suite) is built before the clock and reported on its own.
    """
    store = fresh_store(root)
    started = time.perf_counter()
    validator = ChunkValidator(load_config(environ={}).config.validation, schema)
    build_s = time.perf_counter() - started
    validation = Validation(
        validator=validator,
        as_of=datetime(2026, 1, 1, tzinfo=UTC),
        quarantine_root=root / "quarantine",
        reports_root=root / "reports",
    )
    started = time.perf_counter()
    result = ingest_dataset(
        DATASET,
        source,
        base_dir=store.root,
        schema=schema,
        store=store,
        chunk_rows=CHUNK_ROWS,
        pii_key=PII_KEY,
        validation=validation,
    )
    seconds = time.perf_counter() - started
    assert result.validation is not None
    return {
        "rows": result.rows,
        "seconds": seconds,
        "gx_seconds": result.validation.gx_seconds,
        "validator_build_s": build_s,
        "quarantined": result.validation.quarantined,
    }


def run_anchor(src: Path, out: Path, columns: list[str]) -> int:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    table = ds.dataset(src, format="parquet", partitioning="hive").to_table(columns=columns)
    pq.write_table(table, out / "part-0.parquet")
    return int(table.num_rows)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def phase_breakdown(src: Path, schema: SchemaConfig, work: Path) -> dict[str, float]:
    """Seconds per phase from one instrumented re-run of ``ingest_dataset``'s loop.

    Same calls as ``ingest_dataset`` (reader, ``Pseudonymizer.apply``, ``pq.write_table`` per
    chunk, then ``DatasetStore.publish``), each timed with perf_counter; the content hash is
    ``content_hash`` re-run alone on the published directory (publish computes it once), and
    publish bookkeeping (manifest, rename, DB row) is publish minus that hash time.
    """
    store = fresh_store(work / "store")
    reader = open_source(ParquetSource(path=src))
    pseudonymizer = Pseudonymizer(PII_KEY)
    pii = schema.pii_columns
    staged = store.new_staging_dir()
    read = pseudo = stage = 0.0
    batches: Iterator[pa.RecordBatch] = iter(
        reader.batches(arrow_schema(schema.columns), CHUNK_ROWS)
    )
    index = 0
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        read += time.perf_counter() - start
        if batch is None:
            break
        batch, seconds = _timed(lambda b=batch: pseudonymizer.apply(b, pii))
        pseudo += seconds
        path = staged / f"part-{index:06d}.parquet"
        _, seconds = _timed(lambda b=batch, p=path: pq.write_table(pa.Table.from_batches([b]), p))
        stage += seconds
        index += 1
    keys = key_columns(schema)
    published, publish = _timed(
        lambda: store.publish(DATASET, staged, key_columns=keys, source=reader.describe())
    )
    hashes = measure(lambda: content_hash(published.version.path, keys), repeat=3, warmup=0)
    return {
        "read_cast_s": read,
        "pseudonymize_s": pseudo,
        "stage_write_s": stage,
        "content_hash_s": hashes.median,
        "publish_other_s": max(publish - hashes.median, 0.0),
    }


def write_csv(table: pa.Table, path: Path, repeats: int) -> int:
    """``table`` ``repeats`` times as CSV, batch by batch; transaction ids get ``-r<k>``."""
    rows = 0
    tid = table.schema.get_field_index("transaction_id")
    with pcsv.CSVWriter(path, table.schema) as writer:
        for k in range(repeats):
            for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
                ids = pc.binary_join_element_wise(batch.column(tid), f"-r{k}", "")
                writer.write_batch(batch.set_column(tid, table.schema.field(tid), ids))
                rows += batch.num_rows
    return rows


def csv_child(csv_path: Path, work: Path) -> None:
    """Subprocess entry: ingest one CSV; print seconds, rows and peaks (MiB) as JSON."""
    schema = reference_schema()
    store = fresh_store(work)
    stage_peak = [0.0]

    def progress(_rows: int) -> None:  # after each staged chunk: the streaming phase's peak
        stage_peak[0] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    result = ingest_dataset(
        DATASET,
        CsvSource(path=csv_path),
        base_dir=work,
        schema=schema,
        store=store,
        chunk_rows=CHUNK_ROWS,
        pii_key=PII_KEY,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "rows": result.rows,
                "seconds": seconds,
                "stream_peak_mb": stage_peak[0],
                "self_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def run_csv_child(csv_path: Path, work: Path) -> dict[str, float]:
    """Run :func:`csv_child` in a fresh interpreter; add its peak RSS as seen by the parent."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--csv-child", str(csv_path), str(work)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"CSV ingest subprocess failed ({proc.returncode}): {out}")
    child = json.loads(out.strip().splitlines()[-1])
    child["peak_rss_mb"] = usage.ru_maxrss / 1024
    child["rusage_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return child


def main() -> None:
    begun = time.perf_counter()
    schema = reference_schema()
    names = list(arrow_schema(schema.columns).names)
    with tempfile.TemporaryDirectory(prefix="ferry-bench-ingest-") as tmp:
        root = Path(tmp)
        config = SynthConfig(start=date(2025, 1, 1), days=DAYS, transactions_per_day=PER_DAY)
        generate(config, root / "synth")
        src = root / "synth" / "transactions"
        source = ParquetSource(path=src)

        # ferryml: a fresh, migrated store per run, set up before the clock starts.
        stores = [fresh_store(root / f"store-{i}") for i in range(WARMUP + REPEAT)]
        pending = iter(stores)
        counted: list[int] = []
        ours = measure(
            lambda: counted.append(run_ingest(source, next(pending), schema)),
            repeat=REPEAT,
            warmup=WARMUP,
        )
        rows = counted[-1]
        for i in range(WARMUP + REPEAT):
            shutil.rmtree(root / f"store-{i}")
        validated = run_validated_ingest(source, root / "validated", schema)
        shutil.rmtree(root / "validated")
        phases = phase_breakdown(src, schema, root / "phases")
        shutil.rmtree(root / "phases")

        anchor = measure(
            lambda: run_anchor(src, root / "anchor", names), repeat=REPEAT, warmup=WARMUP
        )
        shutil.rmtree(root / "anchor")

        # Bounded memory: 1M and 5M rows of CSV, each ingested in its own subprocess.
        table = ds.dataset(src, format="parquet", partitioning="hive").to_table(columns=names)
        table_mb = table.nbytes / 2**20
        csv_1m, csv_5m = root / "tx-1m.csv", root / "tx-5m.csv"
        write_csv(table, csv_1m, 1)
        rows_5m = write_csv(table, csv_5m, CSV_REPEATS)
        del table
        csv_1m_mb, csv_5m_mb = csv_1m.stat().st_size / 2**20, csv_5m.stat().st_size / 2**20
        child_1m = run_csv_child(csv_1m, root / "csv-1m")
        csv_1m.unlink()
        shutil.rmtree(root / "csv-1m")
        child_5m = run_csv_child(csv_5m, root / "csv-5m")
        csv_5m.unlink()
        shutil.rmtree(root / "csv-5m")
    assert child_5m["rows"] == rows_5m, (child_5m["rows"], rows_5m)

    instrumented = sum(phases.values())
    shares = {name.removesuffix("_s") + "_share": s / instrumented for name, s in phases.items()}
    figure: dict[str, Any] = {
        # ingest + validate, the figure; one run (GX makes it slow, see gx_share)
        "rows_per_s": round(validated["rows"] / validated["seconds"]),
        "seconds_with_validation": round(validated["seconds"], 3),
        "gx_seconds": round(validated["gx_seconds"], 3),
        "gx_share": round(validated["gx_seconds"] / validated["seconds"], 3),
        "validator_build_s": round(validated["validator_build_s"], 3),
        "quarantined_rows": int(validated["quarantined"]),
        # ingest alone (read, cast, pseudonymize, stage, hash, publish): median of REPEAT
        "rows_per_s_without_validation": round(rows / ours.median),
        "rows": rows,
        "seconds": round(ours.median, 3),
        "seconds_best": round(ours.best, 3),
        **{k: round(v, 3) for k, v in phases.items()},
        **{k: round(v, 3) for k, v in shares.items()},
        "peak_rss_mb_5m_csv": round(child_5m["peak_rss_mb"], 1),
        "peak_rss_mb_1m_csv": round(child_1m["peak_rss_mb"], 1),
        "peak_ratio_5m_over_1m": round(child_5m["peak_rss_mb"] / child_1m["peak_rss_mb"], 2),
        "stream_phase_peak_mb_5m_csv": round(child_5m["stream_peak_mb"], 1),
        "stream_phase_peak_mb_1m_csv": round(child_1m["stream_peak_mb"], 1),
        "csv_5m_rows": rows_5m,
        "csv_5m_size_mb": round(csv_5m_mb, 1),
        "csv_1m_size_mb": round(csv_1m_mb, 1),
        "arrow_1m_table_mb": round(table_mb, 1),
        "csv_5m_seconds": round(child_5m["seconds"], 3),
        "csv_5m_rows_per_s": round(child_5m["rows"] / child_5m["seconds"]),
        "csv_1m_seconds": round(child_1m["seconds"], 3),
    }
    total = time.perf_counter() - begun
    write_result(
        "ingest",
        figure=figure,
        anchor={
            "rows_per_s": round(rows / anchor.median),
            "seconds": round(anchor.median, 3),
            "seconds_best": round(anchor.best, 3),
        },
        ratio=validated["seconds"] / anchor.median,
        anchor_description=(
            "pyarrow.dataset read of the same Parquet directory (the schema's 18 columns) and "
            "pyarrow.parquet.write_table of it to a temp dir: no cast, no pseudonymization, "
            "no content hash, no store"
        ),
        notes=(
            f"{DAYS} days x {PER_DAY} transactions/day, chunk_rows={CHUNK_ROWS}, median of "
            f"{REPEAT} after a warm-up, fresh SQLite-backed DatasetStore per run (set up outside "
            "the clock). rows_per_s and ratio: one ingest with the reference Great Expectations "
            "suite (validator built outside the clock, validator_build_s); gx_share = time "
            "inside GX / that run. rows_per_s_without_validation: read, cast, pseudonymize, "
            "stage, hash, publish. Phase seconds and shares come from one "
            "instrumented re-run of ingest_dataset's loop (reader next(), Pseudonymizer.apply, "
            "pq.write_table per chunk, DatasetStore.publish), content hash re-timed alone on the "
            "published dir (median of 3), publish_other = publish - hash; shares are of the "
            "instrumented total. Peak RSS: os.wait4 ru_maxrss of a subprocess ingesting the CSV "
            "with CsvSource (MiB); stream_phase_peak is the child's ru_maxrss at its last "
            f"progress callback, before publish. Script wall time {total:.0f} s, "
            f"{date.today().isoformat()} run."
        ),
    )
    peak_1m, peak_5m = child_1m["peak_rss_mb"], child_5m["peak_rss_mb"]
    phase_text = ", ".join(f"{k.removesuffix('_share')} {v:.0%}" for k, v in shares.items())
    print(
        f"\nferryml ingest + validate: {validated['rows']:,} rows in {validated['seconds']:.2f} s "
        f"= {validated['rows'] / validated['seconds']:,.0f} rows/s, "
        f"{validated['gx_seconds']:.1f} s in GX "
        f"({validated['gx_seconds'] / validated['seconds']:.0%}); anchor "
        f"{anchor.median:.2f} s; ratio {validated['seconds'] / anchor.median:.1f}x"
        f"\ningest without validation: {rows / ours.median:,.0f} rows/s "
        f"({ours.median / anchor.median:.2f}x the anchor)"
        f"\nphases without validation: {phase_text}"
        f"\npeak RSS of CSV ingest: 1M rows {peak_1m:.0f} MiB, 5M rows {peak_5m:.0f} MiB "
        f"({peak_5m / peak_1m:.2f}x); at the end of streaming (before publish) "
        f"{child_1m['stream_peak_mb']:.0f} / {child_5m['stream_peak_mb']:.0f} MiB; "
        f"5M CSV {csv_5m_mb:.0f} MiB on disk, 1M Arrow table {table_mb:.0f} MiB"
        f"\nwall time {total:.0f} s"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--csv-child":
        csv_child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
