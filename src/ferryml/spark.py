"""A SparkSession configured the way ferryml's computations need it.

pyspark is an optional extra (``pip install 'ferryml[spark]'``) and is imported only here, on
first use. Two settings are not negotiable:

- ``spark.sql.session.timeZone=UTC``: otherwise Arrow conversions shift timestamps into the
  JVM's zone and hour-of-day and weekday features differ between Spark and the local engine;
- ``PYSPARK_PYTHON`` = this interpreter: otherwise workers run the system Python, which lacks
  ferryml and its pinned libraries.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ferryml._optional import require


def spark_session(
    master: str = "local[*]",
    *,
    app_name: str = "ferryml",
    shuffle_partitions: int | None = None,
    conf: dict[str, str] | None = None,
) -> Any:
    """Get or create a SparkSession (typed ``Any``: pyspark is optional and untyped here)."""
    sql = require("pyspark.sql", extra="spark", purpose="Spark computation")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        sql.SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        # Parquet timestamps as instants in µs (Spark's default INT96 reads back as naive ns)
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    )
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
