"""Feature store: training-set build for 1M events, and the full feature vector of one request.

Claims (issue: feature store):

1. Training set for 1M events: ``build_training_set`` (DuckDB as-of joins, windows, label
   rates, encodings, derived features) in rows/s. Its point-in-time joins (profiles and
   label-rate snapshots, DuckDB ``ASOF JOIN``) are timed beside the anchor: Feast's
   ``get_historical_features`` over the same views and events (Feast's file offline store).
   Feast is run on ``FEAST_ROWS`` events when 1M would not fit the time budget; the per-row
   rate is what is compared, and the row counts are in the result.
2. The full feature vector of one request (online reads of the batch views, request-time
   transforms, window read+update): p50 and p99 on SQLite and on Redis
   (``online_sqlite_p50_us``, ``online_redis_p50_us``; goals 300 and 500 µs). Anchor: Feast's
   ``get_online_features`` of the same batch views for the same entity (which alone does less).

Run: ``python benchmarks/features.py`` (needs Redis at 127.0.0.1:6379).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from _harness import measure, write_result
from ferryml.config.loader import LoadedConfig, load_config
from ferryml.data.synth import generate
from ferryml.data.versioning import DatasetStore, DatasetVersion
from ferryml.features.build import read_events, read_profiles
from ferryml.features.offline import asof_join, batch_views, build_training_set
from ferryml.features.project_store import ProjectFeatureStore
from ferryml.features.values import arrow_to_columns
from ferryml.storage.db import make_engine, upgrade

BIG = [  # ~1M events over 90 days
    "data.synth.days=90",
    "data.synth.customers=40000",
    "data.synth.merchants=4000",
    "data.synth.transactions_per_day=11000",
    "data.synth.scenarios.bad_data.enabled=false",
]
SMALL = [  # the online benchmark's history
    "data.synth.days=30",
    "data.synth.customers=5000",
    "data.synth.merchants=800",
    "data.synth.transactions_per_day=2000",
    "data.synth.scenarios.bad_data.enabled=false",
]
FEAST_ROWS = int(os.environ.get("FERRY_BENCH_FEAST_ROWS", "200000"))
REQUESTS, WARMUP, BLOCK = 3000, 300, 100


def workspace(root: Path, sizes: list[str], *extra: str) -> tuple[LoadedConfig, DatasetVersion]:
    """Generated data published as a dataset version (ingestion is benchmarked elsewhere)."""
    loaded = load_config(None, overrides=[f"paths.root={root}", *sizes, *extra])
    raw = root / "data/raw/synth"
    generate(loaded.config.data.synth, raw)
    schema = loaded.config.schema_
    events = ds.dataset(raw / "transactions", format="parquet", partitioning="hive").to_table()
    events = events.select([name for name in schema.columns if name in events.column_names])
    engine = make_engine(f"sqlite:///{root / 'ferryml.db'}")
    upgrade(engine)
    store = DatasetStore(engine, loaded.config.project.name, root / "data/processed")
    staged = store.new_staging_dir()
    pq.write_table(events, staged / "part-0.parquet")
    version = store.publish("transactions", staged, key_columns=["transaction_id"], source={})
    return loaded, version.version


def offline(root: Path) -> tuple[dict[str, float], dict[str, float]]:
    loaded, version = workspace(root, BIG)
    store = ProjectFeatureStore(loaded, root)
    feature_set = store.feature_set
    events = read_events(feature_set, version.path)
    profiles = read_profiles(feature_set, root)
    rows = events.num_rows
    build = measure(
        lambda: build_training_set(feature_set, events, profiles, spill_dir=root), repeat=1
    )
    columns = arrow_to_columns(events, list(feature_set.event_columns))
    views = batch_views(feature_set, columns, profiles)
    times = columns[feature_set.event_time_column]

    def duckdb_joins(n: int) -> None:
        for node in feature_set.joined_views:
            asof_join(
                columns[node.key_column][:n],
                times[:n],
                views.tables[node.name],
                node.key_column,
                views.time_columns[node.name],
                root,
            )

    joins = measure(lambda: duckdb_joins(rows), repeat=3)
    joins_feast_rows = measure(lambda: duckdb_joins(FEAST_ROWS), repeat=3)
    built = store.build(version)  # writes the views Feast reads, applies the registry
    entity_df = (
        events.slice(0, FEAST_ROWS)
        .select(
            [node.key_column for node in feature_set.joined_views] + [feature_set.event_time_column]
        )
        .to_pandas()
        .rename(columns={feature_set.event_time_column: "event_timestamp"})
    )
    refs = [
        f"{node.name}:{field}"
        for node in feature_set.joined_views
        for field in (node.definition.columns if hasattr(node, "definition") else [node.name])
    ]
    feast = measure(lambda: store.repo.historical(entity_df, refs), repeat=1, warmup=0)
    figure = {
        "rows": rows,
        "training_set_s": build.median,
        "training_set_rows_per_s": rows / build.median,
        "duckdb_asof_joins_s": joins.median,
        "duckdb_asof_rows_per_s": rows / joins.median,
        "duckdb_asof_rows_per_s_at_feast_rows": FEAST_ROWS / joins_feast_rows.median,
    }
    anchor = {
        "feast_rows": FEAST_ROWS,
        "feast_historical_s": feast.median,
        "feast_historical_rows_per_s": FEAST_ROWS / feast.median,
    }
    del built
    return figure, anchor


def online(root: Path, store_type: str) -> tuple[float, float, float]:
    """p50, p99 of the full vector, and Feast get_online_features p50 (µs)."""
    extra = (
        []
        if store_type == "sqlite"
        else [f"project.name=bench{os.getpid()}", "features.store.online_store.type=redis"]
    )
    loaded, version = workspace(root, SMALL, *extra)
    store = ProjectFeatureStore(loaded, root)
    build = store.build(version)
    store.materialize(build)
    serving = ProjectFeatureStore(loaded, root)
    vectors = serving.online(build)
    training = pq.read_table(build.training_path)
    events = pq.read_table(next(Path(version.path).glob("*.parquet"))).to_pylist()
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(events), REQUESTS + WARMUP)
    last = float(
        arrow_to_columns(training, [serving.feature_set.event_time_column])[
            serving.feature_set.event_time_column
        ].max()
    )
    feast_store = serving.repo.store()
    keys = [(node.key_column, node.name) for node in serving.feature_set.joined_views]
    refs = [
        f"{node.name}:{field}"
        for node in serving.feature_set.joined_views
        for field in (node.definition.columns if hasattr(node, "definition") else [node.name])
    ]
    # ferryml and the anchor alternate in blocks of BLOCK requests, so that both meet the same
    # drifts of a shared machine without one evicting the other's caches on every call; the
    # anchor does less (reads only, no windows, no transforms).
    samples, feast_samples = [], []
    for begin in range(0, len(picks), BLOCK):
        block = [
            (begin + offset, dict(events[int(index)]))
            for offset, index in enumerate(picks[begin : begin + BLOCK])
        ]
        for number, event in block:
            event["transaction_id"] = f"bench-{number}"
            event["event_time"] = last + 1_000_000.0 * (number + 1)  # after the history
            start = time.perf_counter()
            vectors.vector(event)
            samples.append(time.perf_counter() - start)
        for _, event in block:
            rows = [{key: event[key] for key, _ in keys}]
            start = time.perf_counter()
            feast_store.get_online_features(features=refs, entity_rows=rows).to_dict()
            feast_samples.append(time.perf_counter() - start)
    measured = np.array(samples[WARMUP:]) * 1e6
    if store_type == "redis":
        serving.repo.teardown()
        with serving.window_store() as windows:
            windows.clear()
    return (
        float(np.percentile(measured, 50)),
        float(np.percentile(measured, 99)),
        statistics.median(feast_samples[WARMUP:]) * 1e6,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sqlite_p50, sqlite_p99, feast_sqlite = online(base / "online-sqlite", "sqlite")
        redis_p50, redis_p99, feast_redis = online(base / "online-redis", "redis")
        figure, anchor = offline(base / "offline")
    figure.update(
        online_sqlite_p50_us=sqlite_p50,
        online_sqlite_p99_us=sqlite_p99,
        online_redis_p50_us=redis_p50,
        online_redis_p99_us=redis_p99,
    )
    anchor.update(
        feast_get_online_features_sqlite_p50_us=feast_sqlite,
        feast_get_online_features_redis_p50_us=feast_redis,
    )
    ratio = (
        anchor["feast_historical_s"]
        / FEAST_ROWS
        / (1 / figure["duckdb_asof_rows_per_s_at_feast_rows"])
    )
    write_result(
        "features",
        figure=figure,
        anchor=anchor,
        ratio=1 / ratio,
        anchor_description=(
            "point-in-time joins: Feast get_historical_features (file offline store) on the "
            "same views and the first feast_rows events vs DuckDB ASOF JOIN on the same rows; "
            "online: Feast get_online_features of the same batch views for one entity"
        ),
        notes=(
            f"online: {REQUESTS} requests after {WARMUP} warm-up, each a new event after a "
            "30-day history (5,000 customers, 800 merchants), window state updated; ratio = "
            "DuckDB as-of time / Feast historical time per row (lower is better)"
        ),
    )


if __name__ == "__main__":
    main()
