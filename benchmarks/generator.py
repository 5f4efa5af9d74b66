"""Claim: ferryml generates 1M realistic card transactions, Parquet included, in <= 10 s.

Figure: ``ferryml.data.synth.generate`` end to end (entities, traffic, fraud patterns, day
partitions, sha256 manifest) for ~1M transactions: 100 days x 10,000 per day.
Anchor: the floor cost of the same job without realism: draw the same number of rows and
columns with numpy (uniform ints and floats, ids from a counter, strings taken from
vocabularies as large as the generated data's), convert them to Arrow and write the same 100
day partitions with pyarrow. Ratio = ferryml / anchor.

    python benchmarks/generator.py          # writes benchmarks/results/generator.json
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure, write_result
from ferryml.data.synth import TRANSACTION_SCHEMA, SynthConfig, generate

DAYS = 100
PER_DAY = 10_000
CONFIG = SynthConfig(
    seed=1, days=DAYS, transactions_per_day=PER_DAY, customers=50_000, merchants=5_000
)


# Distinct values per string column in the generated data (customers, cards, merchants, …).
CARDINALITY = {
    "customer_id": 50_000,
    "card_id": 75_000,
    "card_number": 75_000,
    "merchant_id": 5_000,
    "merchant_category": 16,
    "merchant_country": 10,
    "channel": 3,
    "transaction_type": 3,
    "beneficiary_id": 30_000,
    "currency": 4,
    "device_id": 67_000,
    "ip_country": 18,
    "fraud_pattern": 3,
}


def run_ferryml(out: Path) -> int:
    return generate(CONFIG, out).rows["transactions"]


def run_anchor(out: Path, rows: int) -> None:
    """Same rows, same column count and types, same partitioning; random values only."""
    rng = np.random.default_rng(1)
    # As many distinct values per column as the generated data has: the same encoding work.
    vocabularies = {
        name: pc.cast(pa.array(np.arange(size)), pa.string()) for name, size in CARDINALITY.items()
    }
    per_day = rows // DAYS
    start = np.datetime64(CONFIG.start, "us")
    for day in range(DAYS):
        n = per_day + (rows % DAYS if day == DAYS - 1 else 0)
        columns: dict[str, pa.Array] = {}
        for field in TRANSACTION_SCHEMA:
            if field.name == "transaction_id":
                ids = np.arange(day * per_day, day * per_day + n)
                columns[field.name] = pc.cast(pa.array(ids), pa.string())
            elif pa.types.is_string(field.type):
                vocab = vocabularies[field.name]
                columns[field.name] = vocab.take(pa.array(rng.integers(0, len(vocab), size=n)))
            elif pa.types.is_timestamp(field.type):
                us = start + np.timedelta64(day, "D") + rng.integers(0, 86_400_000_000, size=n)
                columns[field.name] = pa.array(us.astype(np.int64)).cast(field.type)
            elif field.type == pa.int8():
                columns[field.name] = pa.array(rng.integers(0, 2, size=n, dtype=np.int8))
            else:
                columns[field.name] = pa.array(rng.random(n))
        day_name = (CONFIG.start + timedelta(days=day)).isoformat()
        path = out / "transactions" / f"date={day_name}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns), path, compression="snappy")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ferry-bench-") as tmp:
        root = Path(tmp)
        rows = run_ferryml(root / "warm")
        shutil.rmtree(root / "warm")
        ours = measure(lambda: run_ferryml(root / "synth"), repeat=3, warmup=0)
        anchor_dir = root / "anchor"
        anchor = measure(
            lambda: (shutil.rmtree(anchor_dir, ignore_errors=True), run_anchor(anchor_dir, rows)),
            repeat=3,
            warmup=1,
        )
    seconds_1m = ours.median * 1_000_000 / rows
    anchor_1m = anchor.median * 1_000_000 / rows
    write_result(
        "generator",
        figure={
            "seconds_1m": round(seconds_1m, 3),
            "rows": rows,
            "seconds": round(ours.median, 3),
            "seconds_best": round(ours.best, 3),
            "rows_per_second": round(rows / ours.median),
        },
        anchor={
            "seconds_1m": round(anchor_1m, 3),
            "seconds": round(anchor.median, 3),
            "rows_per_second": round(rows / anchor.median),
        },
        ratio=seconds_1m / anchor_1m,
        anchor_description=(
            "numpy random columns of the same schema and string cardinalities, written with "
            "pyarrow to the same "
            f"{DAYS} day partitions (no realism, no manifest)"
        ),
        notes=f"{DAYS} days x {PER_DAY} transactions/day, {date.today().isoformat()} run; "
        "median of 3 after a warm-up; target seconds_1m <= 10",
    )


if __name__ == "__main__":
    main()
