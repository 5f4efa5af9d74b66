"""Claim: ferryml's online read of one entity fits the request budget (300 us on SQLite, 500 us
on Redis), and loading 10k entities into the online store takes about a second.

Figure: ``FeastRepo.read_online(view, [key])`` (a prebuilt ``EntityKey`` handed to the Feast
online store's ``online_read``, values converted to a dict), p50 and p99 over 5,000 reads of
random keys of a 4-feature view, on SQLite and on the local Redis; and
``FeastRepo.write_online`` of 10k entities (latest row per entity, older-than-stored rows
dropped, then Feast ``write_to_online_store``).
Anchor: Feast ``FeatureStore.get_online_features([...4 refs], [{key: k}]).to_dict()``, the
documented read, interleaved with the figure's reads; for writes, Feast
``write_to_online_store`` and ``materialize`` of the same 10k rows (every run writes rows newer
than the stored ones, so each one really writes). Ratio = SQLite read p50, ferryml / anchor.

    python benchmarks/feast_online.py       # writes benchmarks/results/feast_online.json
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import write_result
from ferryml.features.spec import BatchViewSpec, EntitySpec, FeatureSetSpec, FieldSpec
from ferryml.features.store import FeastRepo, RedisOnlineStoreConfig, SqliteOnlineStoreConfig

ENTITIES = 10_000
READS = 5_000
WARMUP = 500
WRITE_RUNS = 3
REDIS_URL = "redis://127.0.0.1:6379/0"
VIEW = "customer_profile"
REFS = [f"{VIEW}:{name}" for name in ("n_tx", "avg_amount", "segment", "first_seen")]
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def rows(shift_s: int) -> pa.Table:
    """10k entities, one row each, stamped ``shift_s`` seconds after the previous run's."""
    rng = np.random.default_rng(shift_s)
    stamps = [
        T0 + timedelta(seconds=shift_s, minutes=int(m)) for m in rng.integers(0, 600, ENTITIES)
    ]
    return pa.table(
        {
            "customer_id": [f"c{i:05d}" for i in range(ENTITIES)],
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "n_tx": rng.integers(0, 1_000, ENTITIES),
            "avg_amount": rng.random(ENTITIES) * 100,
            "segment": rng.choice(["new", "regular", "vip"], ENTITIES),
            "first_seen": rng.integers(0, 2**50, ENTITIES),
        }
    )


def make_repo(workdir: Path, kind: str) -> FeastRepo:
    source = workdir / f"{kind}.parquet"
    pq.write_table(rows(0), source)
    project = f"bench-{kind}-{secrets.token_hex(3)}"
    online = (
        RedisOnlineStoreConfig(url=REDIS_URL)
        if kind == "redis"
        else SqliteOnlineStoreConfig(path=Path("online.db"))
    )
    repo = FeastRepo(workdir / f"repo-{kind}", project, online, root=workdir)
    view = BatchViewSpec(
        name=VIEW,
        entity="customer",
        source=source,
        timestamp_column="ts",
        fields=(
            FieldSpec("n_tx", "int"),
            FieldSpec("avg_amount", "float"),
            FieldSpec("segment", "string"),
            FieldSpec("first_seen", "timestamp"),
        ),
    )
    spec = FeatureSetSpec(project, "bench", (EntitySpec("customer", "customer_id"),), (view,), ())
    repo.apply(spec)
    repo.write_online(VIEW, rows(0))
    return repo


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def writes(repo: FeastRepo, source: Path) -> dict[str, float]:
    """Median seconds of each way to load 10k entities; each run's rows are newer."""
    store = repo.store()
    shift = iter(range(1, 100))
    seconds: dict[str, list[float]] = {
        "write_online": [],
        "write_to_online_store": [],
        "materialize": [],
    }
    for _ in range(WRITE_RUNS):
        table = rows(next(shift) * 3_600)
        seconds["write_online"].append(timed(lambda t=table: repo.write_online(VIEW, t)))
        frame = rows(next(shift) * 3_600).to_pandas()
        seconds["write_to_online_store"].append(
            timed(lambda f=frame: store.write_to_online_store(VIEW, df=f))
        )
        table = rows(next(shift) * 3_600)
        pq.write_table(table, source)
        stamps = table.column("ts").to_pylist()
        with contextlib.redirect_stdout(io.StringIO()):  # materialize prints a progress bar
            seconds["materialize"].append(
                timed(
                    lambda a=min(stamps), b=max(stamps): store.materialize(
                        start_date=a, end_date=b + timedelta(seconds=1), feature_views=[VIEW]
                    )
                )
            )
    return {name: statistics.median(values) for name, values in seconds.items()}


def reads(repo: FeastRepo) -> dict[str, float]:
    """p50/p99 microseconds of one-entity reads, the two paths interleaved."""
    store = repo.store()
    keys = [f"c{random.randrange(ENTITIES):05d}" for _ in range(WARMUP + READS)]
    paths: dict[str, Callable[[str], Any]] = {
        "read_online": lambda k: repo.read_online(VIEW, [k]),
        "get_online_features": lambda k: store.get_online_features(
            features=REFS, entity_rows=[{"customer_id": k}]
        ).to_dict(),
    }
    assert paths["read_online"](keys[0])[0] is not None
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for i, key in enumerate(keys):
        for name, read in paths.items():
            start = time.perf_counter()
            read(key)
            if i >= WARMUP:
                samples[name].append(time.perf_counter() - start)
    out = {}
    for name, values in samples.items():
        values.sort()
        out[f"{name}_p50_us"] = values[len(values) // 2] * 1e6
        out[f"{name}_p99_us"] = values[int(len(values) * 0.99)] * 1e6
    return out


def main() -> None:
    load = os.getloadavg()[0]
    figure: dict[str, float] = {}
    anchor: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "redis"):
            repo = make_repo(Path(tmp), kind)
            try:
                read = reads(repo)
                write = writes(repo, Path(tmp) / f"{kind}.parquet")
            finally:
                repo.teardown()
            for stat in ("p50_us", "p99_us"):
                figure[f"{kind}_read_online_{stat}"] = round(read[f"read_online_{stat}"], 1)
                anchor[f"{kind}_get_online_features_{stat}"] = round(
                    read[f"get_online_features_{stat}"], 1
                )
            figure[f"{kind}_read_ratio_p50"] = round(
                read["read_online_p50_us"] / read["get_online_features_p50_us"], 3
            )
            figure[f"{kind}_write_online_10k_s"] = round(write["write_online"], 3)
            anchor[f"{kind}_write_to_online_store_10k_s"] = round(write["write_to_online_store"], 3)
            anchor[f"{kind}_materialize_10k_s"] = round(write["materialize"], 3)
    write_result(
        "feast_online",
        figure=figure,
        anchor=anchor,
        ratio=figure["sqlite_read_ratio_p50"],
        anchor_description=(
            "Feast get_online_features(...).to_dict() for the same key, interleaved; writes: "
            "Feast write_to_online_store and materialize of the same 10k entities"
        ),
        notes=(
            f"{READS} reads of one random entity of {ENTITIES} after {WARMUP} warm-up reads, "
            f"4 features (int, float, string, timestamp); writes: median of {WRITE_RUNS} runs; "
            f"1-minute load average at the start: {load:.2f} (other jobs shared the machine "
            "when it was above 1)"
        ),
    )


if __name__ == "__main__":
    main()
