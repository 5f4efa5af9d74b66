"""Claim: online window features cost well under a millisecond of state I/O per request.

Figure: p50/p99 latency of one ``WindowStateStore.read_and_append`` call carrying 3 updates
(customer, card and merchant views, 30-day horizon), on SQLite (a WAL file in a temp dir) and on
the local Redis (one EVALSHA), after ``bulk_load`` of 30 days of events. Two workloads:
``typical`` (about 40 events per entity in 30 days on every view) and ``heavy`` (the merchant
view holds about 2,000 events per entity). Also the p50 of ``aggregate_events`` over the three
returned histories (4 windows x 4 aggregations each), the pure-Python half of a request.
Anchor: the bare reads of the same three windows, without append, trim, expiry nor decoding:
a redis-py pipeline of 3 ZRANGEBYSCORE, and 3 SELECTs in one SQLite read transaction.
Ratio = ferryml p50 / anchor p50 on Redis, typical workload.

    python benchmarks/windows_state.py      # writes benchmarks/results/windows_state.json
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import write_result
from ferryml.features.windows import (
    WindowAggregation,
    WindowStateStore,
    WindowUpdate,
    aggregate_events,
    open_window_store,
)
from ferryml.features.windows.state.redis import RedisWindowStore

REDIS_URL = "redis://127.0.0.1:6379/0"
PROJECT = "bench-windows"
DAY = 86_400_000_000
SPEC = WindowAggregation.of("amount")  # 1h, 24h, 7d, 30d x count, sum, mean, max
HORIZON = SPEC.horizon_us
T_END = 1_780_000_000_000_000
CALLS = 4_000
WORKLOADS = {
    # view -> (entities, events per entity in 30 days)
    "typical": {"customer": (5_000, 40), "card": (7_500, 40), "merchant": (2_000, 40)},
    "heavy": {"customer": (5_000, 40), "card": (7_500, 40), "merchant": (100, 2_000)},
}


def load(store: WindowStateStore, workload: dict[str, tuple[int, int]]) -> None:
    rng = np.random.default_rng(0)
    for view, (entities, per_entity) in workload.items():
        n = entities * per_entity
        keys = np.array([f"{view[0]}{k}" for k in rng.integers(0, entities, n)], dtype=object)
        times = T_END - rng.integers(1, HORIZON, n)
        ids = np.array([f"{view}-{i}" for i in range(n)], dtype=object)
        store.bulk_load(view, keys, times, ids, np.round(rng.lognormal(4, 2, n), 2), HORIZON)


def requests(workload: dict[str, tuple[int, int]]) -> list[list[WindowUpdate]]:
    rng = np.random.default_rng(1)
    calls = []
    for i in range(CALLS):
        t = T_END + i * 1_000_000
        calls.append(
            [
                WindowUpdate(
                    view,
                    f"{view[0]}{int(rng.integers(entities))}",
                    t,
                    f"new-{i}",
                    float(i % 500),
                    HORIZON,
                )
                for view, (entities, _) in workload.items()
            ]
        )
    return calls


def latencies_us(
    fn: Callable[[list[WindowUpdate]], object], calls: list[list[WindowUpdate]]
) -> list[float]:
    for call in calls[:200]:  # warm-up: caches, script load, statement cache
        fn(call)
    seconds = []
    for call in calls[200:]:
        start = time.perf_counter()
        fn(call)
        seconds.append(time.perf_counter() - start)
    return [s * 1e6 for s in seconds]


def recording(
    store: WindowStateStore, histories: list[list[list[tuple[int, float]]]]
) -> Callable[[list[WindowUpdate]], object]:
    def call(updates: list[WindowUpdate]) -> object:
        histories.append(store.read_and_append(updates))
        return None

    return call


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100)
    return round(cuts[49], 1), round(cuts[98], 1)


def redis_anchor(
    client: redis.Redis, store: RedisWindowStore
) -> Callable[[list[WindowUpdate]], object]:
    key = store.key

    def read(call: list[WindowUpdate]) -> object:
        pipe = client.pipeline(transaction=False)
        for u in call:
            pipe.zrangebyscore(key(u.view, u.entity_key), f"({u.t_us - u.horizon_us}", f"({u.t_us}")
        return pipe.execute()

    return read


def sqlite_anchor(path: Path) -> Callable[[list[WindowUpdate]], object]:
    conn = sqlite3.connect(path, isolation_level=None)
    query = (
        "SELECT t, value FROM window_events WHERE project = ? AND view = ? AND entity_key = ? "
        "AND t > ? AND t < ? ORDER BY t, event_id"
    )

    def read(call: list[WindowUpdate]) -> object:
        conn.execute("BEGIN")
        rows = [
            conn.execute(
                query, (PROJECT, u.view, u.entity_key, u.t_us - u.horizon_us, u.t_us)
            ).fetchall()
            for u in call
        ]
        conn.execute("COMMIT")
        return rows

    return read


def main() -> None:
    figure: dict[str, float] = {}
    anchor: dict[str, float] = {}
    client = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        for workload_name, workload in WORKLOADS.items():
            calls = requests(workload)
            stores = {
                "sqlite": open_window_store(
                    "sqlite", project=PROJECT, path=Path(tmp) / f"{workload_name}.db"
                ),
                "redis": open_window_store("redis", project=PROJECT, client=client),
            }
            for store_name, store in stores.items():
                store.clear()
                load(store, workload)
                histories: list[list[list[tuple[int, float]]]] = []
                times = latencies_us(recording(store, histories), calls)
                p50, p99 = percentiles(times)
                figure[f"{store_name}_{workload_name}_p50_us"] = p50
                figure[f"{store_name}_{workload_name}_p99_us"] = p99
                if isinstance(store, RedisWindowStore):
                    agg = []
                    for call, found in zip(calls[200:], histories[200:], strict=True):
                        start = time.perf_counter()
                        for events in found:
                            aggregate_events(SPEC, events, call[0].t_us)
                        agg.append((time.perf_counter() - start) * 1e6)
                    figure[f"aggregate_events_3_views_{workload_name}_p50_us"] = percentiles(agg)[0]
                    read = redis_anchor(client, store)
                else:
                    read = sqlite_anchor(Path(tmp) / f"{workload_name}.db")
                a50, a99 = percentiles(latencies_us(read, calls))
                anchor[f"{store_name}_{workload_name}_p50_us"] = a50
                anchor[f"{store_name}_{workload_name}_p99_us"] = a99
                print(
                    f"{workload_name:8s} {store_name:6s} read_and_append p50 {p50:7.1f} µs "
                    f"p99 {p99:7.1f} µs | bare reads p50 {a50:7.1f} µs p99 {a99:7.1f} µs",
                    flush=True,
                )
                store.clear()
                store.close()
    client.close()
    write_result(
        "windows_state",
        figure=figure,
        anchor=anchor,
        ratio=figure["redis_typical_p50_us"] / anchor["redis_typical_p50_us"],
        anchor_description=(
            "bare reads of the same 3 windows: a redis-py pipeline of 3 ZRANGEBYSCORE; "
            "3 SELECTs in one SQLite read transaction (no append, trim, expiry, decoding)"
        ),
        notes=(
            f"{CALLS - 200} calls of 3 updates each after 200 warm-up calls, one process, "
            "local Redis over TCP; typical = ~40 events per entity and view in 30 days, "
            "heavy = merchant view ~2,000 events per entity"
        ),
    )


if __name__ == "__main__":
    main()
