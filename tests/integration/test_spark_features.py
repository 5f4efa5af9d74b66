"""The Spark engine builds the local engine's training set: same rows, values and fitted states.

Both engines run on the same generated events (Spark reads the Hive-partitioned Parquet itself,
with its JVM in a non-UTC zone: see conftest), with a fit window that ends mid-period and a
column that goes missing for a few days, so that nulls reach the encodings.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from conftest import SPARK_JVM_TIMEZONE
from ferryml.config.loader import load_config
from ferryml.data.synth import generate
from ferryml.errors import InvalidInputError
from ferryml.features.graph import FeatureSet, compile_features
from ferryml.features.offline import asof_join, build_training_set
from ferryml.features.spark_engine import (
    asof_join_spark,
    build_training_set_spark,
    require_utc_session,
)
from ferryml.features.transforms.base import MICROS_PER_DAY
from ferryml.features.values import arrow_to_array

FLOAT_TOLERANCE = 1e-9
VIEW_TOLERANCE = 1e-12
FIT_DAYS = 10


def _feature_set() -> FeatureSet:
    config = load_config(None).config
    # compiled once per engine: fitting mutates the transforms
    return compile_features(config.project.name, config.features, config.schema_)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    synth = load_config(None).config.data.synth
    start = synth.start
    scenarios = synth.scenarios.model_copy(
        update={
            "bad_data": synth.scenarios.bad_data.model_copy(update={"enabled": False}),
            "missing_data": synth.scenarios.missing_data.model_copy(
                update={
                    "enabled": True,
                    "column": "merchant_category",
                    "start": start + timedelta(days=3),
                    "end": start + timedelta(days=5),
                    "null_rate": 0.2,
                }
            ),
        }
    )
    small = synth.model_copy(
        update={
            "days": 15,
            "customers": 300,
            "merchants": 40,
            "transactions_per_day": 300,
            "scenarios": scenarios,
        }
    )
    root = tmp_path_factory.mktemp("spark_features") / "raw"
    generate(small, root)
    return root


def test_both_engines_build_the_same_training_set(spark: Any, raw: Path) -> None:
    assert spark._jvm.java.util.TimeZone.getDefault().getID() == SPARK_JVM_TIMEZONE
    columns = list(load_config(None).config.schema_.columns)
    events = ds.dataset(raw / "transactions", format="parquet", partitioning="hive").to_table()
    events = events.select([name for name in events.column_names if name in columns])
    assert pc.sum(pc.is_null(events["merchant_category"])).as_py() > 0  # nulls reach the fits
    profiles = {
        "customer_profile": pq.read_table(raw / "customers.parquet"),
        "card_profile": pq.read_table(raw / "cards.parquet"),
    }
    first_day = pc.min(events["event_time"]).as_py().timestamp() * 1e6 // MICROS_PER_DAY
    fit_until_us = (first_day + FIT_DAYS) * MICROS_PER_DAY

    local = build_training_set(_feature_set(), events, profiles, fit_until_us=fit_until_us)
    frame = spark.read.parquet(str(raw / "transactions"))
    frame = frame.select(*(name for name in frame.columns if name in columns))
    built = build_training_set_spark(
        spark, _feature_set(), frame, profiles, fit_until_us=fit_until_us
    )
    assert built.fitted == local.fitted  # fitted before any row is computed
    remote = built.collect()

    assert remote.fitted == local.fitted
    assert remote.feature_set_version == local.feature_set_version
    assert remote.fit_until_us == local.fit_until_us
    _assert_same_rows(local.table, remote.table, "transaction_id", FLOAT_TOLERANCE)
    for name in local.views.tables:
        assert remote.views.time_columns[name] == local.views.time_columns[name]
        key = local.views.tables[name].column_names[0]
        _assert_same_rows(
            _keyed(local.views.tables[name], key, local.views.time_columns[name]),
            _keyed(remote.views.tables[name], key, remote.views.time_columns[name]),
            "__key",
            VIEW_TOLERANCE,
        )
    # the as-of joins found snapshots and profiles for most events, so the comparison has teeth
    for feature in ("merchant_risk", "customer_age", "card_age_days"):
        assert pc.sum(pc.is_nan(remote.table[feature])).as_py() < remote.table.num_rows / 2


def test_asof_join_matches_duckdb_on_ties_nulls_and_misses(spark: Any, tmp_path: Path) -> None:
    view = pa.table(
        {
            "k": ["a", "a", "a", "b", None],
            "t": [10.0, 20.0, 30.0, 5.0, 1.0],
            "x": [1.0, None, 3.0, 4.0, 9.0],  # the latest row's nulls win over older values
            "s": ["p", None, "r", "q", "z"],
        }
    )
    keys = np.array(["a", "a", "a", "a", "b", "c", None], dtype=object)
    times = np.array([5.0, 10.0, 25.0, 40.0, 5.0, 100.0, 50.0])  # before, tie, between, after
    local = asof_join(keys, times, view, "k", "t", tmp_path)

    left = spark.createDataFrame(
        pa.table({"row": np.arange(len(keys)), "k": pa.array(keys, pa.string()), "at": times})
    )
    joined = asof_join_spark(left, spark.createDataFrame(view), "k", "t", left_time="at")
    remote = joined.orderBy("row").toArrow()
    assert remote.column_names == ["row", "k", "at", "x", "s"]
    nan = float("nan")
    np.testing.assert_array_equal(local["x"], [nan, 1.0, nan, 3.0, 4.0, nan, nan])
    np.testing.assert_array_equal(arrow_to_array(remote["x"]), local["x"])  # NaN == NaN
    expected = [None, "p", None, "r", "q", None, None]
    assert remote["s"].to_pylist() == local["s"].tolist() == expected


def test_a_session_outside_utc_is_refused(spark: Any) -> None:
    key = "spark.sql.session.timeZone"
    spark.conf.set(key, "America/Sao_Paulo")
    try:
        with pytest.raises(InvalidInputError, match="time zone is 'America/Sao_Paulo'"):
            require_utc_session(spark)
    finally:
        spark.conf.set(key, "UTC")
    require_utc_session(spark)


def _keyed(table: pa.Table, key: str, time_column: str) -> pa.Table:
    """``table`` with one text key per row: its entity key and its time."""
    joined = pc.binary_join_element_wise(
        pc.cast(table[key], pa.string()), pc.cast(table[time_column], pa.string()), "@"
    )
    return table.append_column("__key", joined)


def _assert_same_rows(expected: pa.Table, actual: pa.Table, key: str, tolerance: float) -> None:
    assert actual.column_names == expected.column_names
    assert actual.num_rows == expected.num_rows
    assert pc.count_distinct(expected[key]).as_py() == expected.num_rows
    expected, actual = expected.sort_by(key), actual.sort_by(key)
    assert actual[key].equals(expected[key])  # the same rows
    for name in expected.column_names:
        want, got = expected[name], actual[name]
        if pa.types.is_floating(want.type):
            assert pa.types.is_floating(got.type), name
            want_values = want.to_numpy(zero_copy_only=False)
            got_values = np.asarray(got.to_numpy(zero_copy_only=False), dtype=np.float64)
            np.testing.assert_allclose(
                got_values, want_values, rtol=0, atol=tolerance, err_msg=name
            )
        else:
            assert got.cast(want.type).equals(want), name  # ints, strings, times: exactly
            assert _kind(got.type) == _kind(want.type), name


def _kind(kind: pa.DataType) -> str:
    for name, test in (
        ("int", pa.types.is_integer),
        ("string", lambda k: pa.types.is_string(k) or pa.types.is_large_string(k)),
        ("timestamp", pa.types.is_timestamp),
    ):
        if test(kind):
            return name
    return str(kind)
