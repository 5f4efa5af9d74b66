"""Spark reads the generator's Hive-partitioned Parquet as the local engine does, in UTC."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds

from conftest import SPARK_JVM_TIMEZONE
from ferryml.data.synth import SynthConfig, generate


def test_spark_and_arrow_agree_on_rows_days_and_hours(spark: Any, tmp_path: Path) -> None:
    config = SynthConfig(start=date(2025, 3, 29), days=3, customers=300, transactions_per_day=400)
    manifest = generate(config, tmp_path / "synth")
    transactions = str(tmp_path / "synth" / "transactions")

    assert spark._jvm.java.util.TimeZone.getDefault().getID() == SPARK_JVM_TIMEZONE
    frame = spark.read.parquet(transactions)
    assert frame.count() == manifest.rows["transactions"]

    by_spark = {
        (row["date"].isoformat(), row["hour"]): row["n"]
        for row in frame.selectExpr("date", "hour(event_time) AS hour")
        .groupBy("date", "hour")
        .count()
        .withColumnRenamed("count", "n")
        .collect()
    }
    local = ds.dataset(transactions, format="parquet", partitioning="hive").to_table().to_pandas()
    event_time = pd.to_datetime(local["event_time"], utc=True)
    by_arrow = (
        pd.DataFrame({"date": event_time.dt.date.astype(str), "hour": event_time.dt.hour})
        .value_counts()
        .to_dict()
    )
    assert by_spark == by_arrow  # a JVM timezone leak would shift hours and days
    assert {d for d, _ in by_spark} == {"2025-03-29", "2025-03-30", "2025-03-31"}
