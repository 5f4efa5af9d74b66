"""One contract for every window state store, run against SQLite and the real Redis.

Redis tests use the conftest fixtures: skipped with a loud reason when Redis is down locally,
failed under ``CI=true``.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ferryml.errors import InvalidInputError, ServiceUnavailableError
from ferryml.features.windows import (
    WindowAggregation,
    WindowStateStore,
    WindowUpdate,
    aggregate_events,
    open_window_store,
    window_features,
)
from ferryml.features.windows.state.sqlite import SqliteWindowStore
from ferryml.storage.checkpoint import DEFAULT_INTERVAL_S

MINUTE = 60_000_000
HOUR = 60 * MINUTE
T0 = 1_700_000_000_000_000
DEAD_REDIS = "redis://127.0.0.1:1/0"

OpenStore = Callable[[str], WindowStateStore]
"""Opens the backend's store for the test's project plus a suffix ("" for the main one)."""


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    opened: list[WindowStateStore] = []

    def open_one(suffix: str) -> WindowStateStore:
        if request.param == "redis":
            client = request.getfixturevalue("redis_client")
            project = request.getfixturevalue("redis_project")
            store = open_window_store("redis", project=project + suffix, client=client)
        else:
            store = open_window_store("sqlite", project="t" + suffix, path=tmp_path / "w.db")
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.clear()
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> WindowStateStore:
    return open_store("")


def update(
    t: int, event_id: str, value: float, *, entity: str = "c1", view: str = "amount", h: int = HOUR
) -> WindowUpdate:
    return WindowUpdate(view, entity, t, event_id, value, h)


def test_reads_the_open_window_before_appending(store: WindowStateStore) -> None:
    for t, event_id in [(T0, "a"), (T0 + 1, "b"), (T0 + 30 * MINUTE, "c")]:
        assert store.read_and_append([update(t, event_id, 1.0)]) == [
            [(u, 1.0) for u in [T0, T0 + 1, T0 + 30 * MINUTE] if T0 - HOUR < u < t]
        ]
    # Exactly one horizon after the first event: that one is out, the next microsecond is in.
    assert store.read_and_append([update(T0 + HOUR, "d", 2.0)]) == [
        [(T0 + 1, 1.0), (T0 + 30 * MINUTE, 1.0)]
    ]


def test_events_at_the_same_time_are_excluded(store: WindowStateStore) -> None:
    store.read_and_append([update(T0, "a", 1.0)])
    assert store.read_and_append([update(T0 + 5, "b", 2.0)]) == [[(T0, 1.0)]]
    assert store.read_and_append([update(T0 + 5, "c", 4.0)]) == [[(T0, 1.0)]]
    # Equal times come back ordered by event id, whatever the order of arrival.
    assert store.read_and_append([update(T0 + 6, "d", 8.0)]) == [
        [(T0, 1.0), (T0 + 5, 2.0), (T0 + 5, 4.0)]
    ]
    store.read_and_append([update(T0 + 6, "B", 16.0)])
    assert store.read_and_append([update(T0 + 7, "z", 0.0)]) == [
        [(T0, 1.0), (T0 + 5, 2.0), (T0 + 5, 4.0), (T0 + 6, 16.0), (T0 + 6, 8.0)]
    ]


def test_later_events_are_not_read(store: WindowStateStore) -> None:
    store.read_and_append([update(T0 + 10, "late", 1.0)])
    assert store.read_and_append([update(T0 + 5, "early", 2.0)]) == [[]]


def test_recording_an_event_twice_counts_once(store: WindowStateStore) -> None:
    first = store.read_and_append([update(T0, "a", 1.0)])
    store.read_and_append([update(T0 + 1, "b", 2.0)])
    retried = store.read_and_append([update(T0, "a", 99.0)])  # a retry, even with a new value
    assert retried == first == [[]]
    assert store.read_and_append([update(T0 + 2, "c", 0.0)]) == [[(T0, 1.0), (T0 + 1, 2.0)]]


def test_nan_round_trips(store: WindowStateStore) -> None:
    store.read_and_append([update(T0, "a", math.nan), update(T0, "a", -0.5, view="other")])
    [[(t, value)], [(_, other)]] = store.read_and_append(
        [update(T0 + 1, "b", 1.0), update(T0 + 1, "b", 1.0, view="other")]
    )
    assert t == T0
    assert math.isnan(value)
    assert other == -0.5


def test_several_views_and_entities_in_one_call(store: WindowStateStore) -> None:
    updates = [
        update(T0, "e1", 1.0, view="amount"),
        update(T0, "e1", 10.0, view="count.v2", entity="card:9"),
        update(T0, "e1", 100.0, view="amount", entity="c2"),
    ]
    assert store.read_and_append(updates) == [[], [], []]
    later = [
        WindowUpdate(u.view, u.entity_key, T0 + 1, "e2", u.value + 1, u.horizon_us) for u in updates
    ]
    assert store.read_and_append(later) == [[(T0, 1.0)], [(T0, 10.0)], [(T0, 100.0)]]
    assert store.read_and_append([]) == []


def test_each_update_trims_events_beyond_its_horizon(store: WindowStateStore) -> None:
    store.read_and_append([update(T0, "a", 1.0), update(T0 + 40 * MINUTE, "b", 2.0)])
    store.read_and_append([update(T0 + 2 * HOUR, "c", 3.0)])  # trims events <= T0 + 1h
    # A late event at T0 + 1.5h reads (T0 + 30m, T0 + 1.5h): "b" would be there, but is gone.
    assert store.read_and_append([update(T0 + 90 * MINUTE, "late", 4.0)]) == [[]]


def test_bulk_load_then_read(store: WindowStateStore) -> None:
    keys = np.array(["c1", "c1", "c1", "c:2", "c:2", "c1"], dtype=object)
    times = np.array([T0, T0 + 10, T0 + HOUR + 5, T0, T0, T0 + 10], np.int64)
    ids = np.array(["a", "b", "c", "x", "y", "b"], dtype=object)  # "b" is there twice
    values = np.array([1.0, 2.0, 3.0, math.nan, 5.0, 2.0])
    # c1's latest event is at T0 + 1h + 5: "a" (T0) is beyond its horizon and not loaded.
    assert store.bulk_load("amount", keys, times, ids, values, HOUR) == 4
    assert store.bulk_load("amount", keys, times, ids, values, HOUR) == 4  # again: no duplicates
    found = store.read_and_append(
        [update(T0 + HOUR + 9, "d", 0.0), update(T0 + 1, "z", 0.0, entity="c:2")]
    )
    assert found[0] == [(T0 + 10, 2.0), (T0 + HOUR + 5, 3.0)]
    [(t_x, v_x), (t_y, v_y)] = found[1]
    assert (t_x, t_y, v_y) == (T0, T0, 5.0)
    assert math.isnan(v_x)


def test_bulk_load_of_a_large_table(store: WindowStateStore) -> None:
    n = 20_000
    rng = np.random.default_rng(0)
    keys = np.array([f"k{i}" for i in rng.integers(0, 500, n)], dtype=object)
    times = T0 + rng.integers(0, HOUR, n)
    ids = np.array([f"e{i}" for i in range(n)], dtype=object)
    assert store.bulk_load("amount", keys, times, ids, rng.random(n), 2 * HOUR) == n
    found = store.read_and_append([update(T0 + HOUR, "new", 1.0, entity="k7", h=2 * HOUR)])
    assert len(found[0]) == int((keys == "k7").sum())


def test_clear_is_scoped_to_the_project_and_view(open_store: OpenStore) -> None:
    mine, other = open_store(""), open_store("x")  # a project name sharing the prefix
    for store in (mine, other):
        store.read_and_append([update(T0, "a", 1.0), update(T0, "a", 1.0, view="b")])
    mine.clear("b")
    assert mine.read_and_append([update(T0 + 1, "n", 0.0), update(T0 + 1, "n", 0.0, view="b")]) == [
        [(T0, 1.0)],
        [],
    ]
    mine.clear()
    assert mine.read_and_append([update(T0 + 2, "m", 0.0)]) == [[]]
    assert other.read_and_append(
        [update(T0 + 1, "n", 0.0), update(T0 + 1, "n", 0.0, view="b")]
    ) == [
        [(T0, 1.0)],
        [(T0, 1.0)],
    ]


def test_a_replay_through_the_store_equals_batch(store: WindowStateStore) -> None:
    spec = WindowAggregation.of("amount", ["15m", "1h", "24h"])
    rng = np.random.default_rng(5)
    n = 2_000
    keys = np.array([f"c{k}" for k in rng.integers(0, 20, n)], dtype=object)
    times = (T0 + rng.integers(0, 3 * 24 * 60, n) * MINUTE).astype(np.int64)
    values = np.minimum(np.round(rng.lognormal(4, 2, n), 2), 50_000.0)
    values[rng.random(n) < 0.05] = np.nan
    expected = window_features(spec, keys, times, values)
    for i in np.argsort(times, kind="stable").tolist():
        t = int(times[i])
        [events] = store.read_and_append(
            [WindowUpdate("amount", keys[i], t, f"e{i}", float(values[i]), spec.horizon_us)]
        )
        for name, value in aggregate_events(spec, events, t).items():
            assert value == expected[name][i] or (
                math.isnan(value) and math.isnan(expected[name][i])
            ), (name, i)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (update(T0, "a", math.inf), "finite float or NaN"),
        (update(T0, "", 1.0), "event_id"),
        (update(T0, "a\x00b", 1.0), "event_id"),
        (update(T0, "a", 1.0, view="a:b"), "invalid view name"),
        (update(T0, "a", 1.0, entity=""), "entity_key"),
        (update(T0, "a", 1.0, h=0), "horizon_us"),
        (update(2**60, "a", 1.0), "t_us"),
    ],
)
def test_bad_updates_are_refused_before_anything_is_written(
    store: WindowStateStore, bad: WindowUpdate, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        store.read_and_append([update(T0, "ok", 1.0), bad])
    assert store.read_and_append([update(T0 + 1, "next", 1.0)]) == [[]]


def _append_many(path: Path, worker: int) -> None:
    with open_window_store("sqlite", project="t", path=path) as store:
        for i in range(100):
            store.read_and_append([update(T0 + i, f"w{worker}-{i}", 1.0, h=10 * HOUR)])


def test_sqlite_is_safe_for_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    open_window_store("sqlite", project="t", path=path).close()
    # spawned, not forked: the test process has threads (coverage, earlier fixtures' clients),
    # and a child forked while one of them held a lock can hang forever (a CI run saw it)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(path, w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    with open_window_store("sqlite", project="t", path=path) as store:
        [events] = store.read_and_append([update(T0 + HOUR, "last", 1.0, h=10 * HOUR)])
    assert len(events) == 400


def test_sqlite_requests_never_checkpoint_and_the_log_stays_bounded(tmp_path: Path) -> None:
    """Checkpoints are the background thread's: requests' commits never copy the WAL back
    (autocheckpoint off), and the thread does, so a second burst reuses the log's space."""
    path = tmp_path / "w.db"
    wal = tmp_path / "w.db-wal"

    def burst(start: int) -> None:
        for i in range(start, start + 1500):  # one transaction per request, as serving does
            store.read_and_append([update(T0 + i, f"e{i}", 1.0, entity=f"c{i % 300}")])

    with open_window_store("sqlite", project="t", path=path) as store:
        assert isinstance(store, SqliteWindowStore)
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        burst(0)
        first = wal.stat().st_size
        time.sleep(3 * DEFAULT_INTERVAL_S)  # the thread checkpoints meanwhile
        burst(1500)
        assert wal.stat().st_size < 1.25 * first  # unchecked, the log would have doubled
        [events] = store.read_and_append([update(T0 + 3000, "last", 1.0, entity="c0")])
    assert len(events) == 10  # nothing lost: c0's events 0, 300, …, 2700


def test_a_redis_that_does_not_answer_is_service_unavailable() -> None:
    with pytest.raises(ServiceUnavailableError, match="does not answer"):
        open_window_store("redis", project="t", url=DEAD_REDIS, timeout=0.5)
    client = redis.Redis.from_url(
        DEAD_REDIS, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    with (
        open_window_store("redis", project="t", client=client) as store,
        pytest.raises(ServiceUnavailableError, match="is Redis running"),
    ):
        store.read_and_append([update(T0, "a", 1.0)])


@pytest.mark.redis
def test_redis_keys_are_namespaced_and_expire(
    redis_client: redis.Redis, redis_project: str
) -> None:
    with open_window_store("redis", project=redis_project, client=redis_client) as store:
        store.read_and_append([update(T0, "a", 1.0, entity="card:1%")])
        key = f"ferryml:{redis_project}:win:amount:card%3A1%25"
        assert redis_client.zcard(key) == 1
        assert HOUR // 1000 < redis_client.pttl(key) <= HOUR // 1000 + 3_600_000
        store.clear()
        assert redis_client.exists(key) == 0


@pytest.mark.redis
def test_redis_reads_hashes_in_the_same_script_call(
    redis_client: redis.Redis, redis_project: str
) -> None:
    one, two = f"ferryml:{redis_project}:h1", f"ferryml:{redis_project}:h2"
    redis_client.hset(one, mapping={"a": b"1", "b": b"2"})
    redis_client.hset(two, mapping={"x": b"\x00\xff"})
    reads = [(one, ["b", "missing", "a"]), (f"ferryml:{redis_project}:none", ["a"]), (two, ["x"])]
    try:
        with open_window_store("redis", project=redis_project, client=redis_client) as store:
            values, events = store.read_hashes_and_append(reads, [update(T0, "a", 1.0)])
            assert values == [[b"2", None, b"1"], [None], [b"\x00\xff"]]
            assert events == [[]]
            # hashes only, then the update that the first call recorded is read back
            assert store.read_hashes_and_append(reads[2:], []) == ([[b"\x00\xff"]], [])
            assert store.read_and_append([update(T0 + 1, "b", 2.0)]) == [[(T0, 1.0)]]
            store.clear()
    finally:
        redis_client.delete(one, two)


def test_unknown_store_types_and_options_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="did you mean 'redis'"):
        open_window_store("rediss", project="t")
    with pytest.raises(InvalidInputError, match=r"does not take options.*'pth'"):
        open_window_store("sqlite", project="t", pth=tmp_path / "w.db")
