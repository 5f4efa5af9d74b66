"""The Feast feature store's contract, on SQLite and on the real local Redis.

One small feature set (2 entities, 2 batch views over tiny Parquet files, 1 request view) is
applied per test into its own workspace and Feast project, and torn down after (on Redis the
test also checks that no key of its project is left). Expected values are worked out by hand
from the rows below.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryml.errors import InvalidInputError, MissingDependencyError
from ferryml.features.spec import (
    BatchViewSpec,
    EntitySpec,
    FeatureSetSpec,
    FieldSpec,
    RequestViewSpec,
)
from ferryml.features.store import (
    FEATURE_SET_VERSION_TAG,
    FeastRepo,
    OfflineStoreConfig,
    RedisOnlineStoreConfig,
    SqliteOnlineStoreConfig,
    computed_by_ferryml,
    feast_project_name,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def micros(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000


def customer_rows(*rows: tuple[str, datetime, int, float, str]) -> pa.Table:
    return pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "ts": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "n_tx": pa.array([r[2] for r in rows], pa.int64()),
            "avg_amount": [r[3] for r in rows],
            "segment": [r[4] for r in rows],
            "first_seen": pa.array([micros(r[1]) for r in rows], pa.int64()),
        }
    )


CUSTOMERS = customer_rows(
    ("c1", at(1), 1, 10.0, "new"),
    ("c1", at(5), 2, 20.0, "regular"),
    ("c2", at(2), 7, 70.0, "vip"),
    ("c1", at(3), 9, 90.0, "middle"),  # neither first nor last in time, last in the file
)
MERCHANTS = pa.table(
    {
        "merchant_id": ["m1", "m1"],
        "ts": pa.array([at(1), at(4)], pa.timestamp("us", tz="UTC")),
        "risk": [0.1, 0.9],
        "n_chargebacks": pa.array([0, 3], pa.int64()),
    }
)


def nulled(column: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in column]


def feature_set(tmp_path: Path, project: str, *, merchants: bool = True) -> FeatureSetSpec:
    pq.write_table(CUSTOMERS, tmp_path / "customer_profile.parquet")
    pq.write_table(MERCHANTS, tmp_path / "merchant_risk.parquet")
    customer_profile = BatchViewSpec(
        name="customer_profile",
        entity="customer",
        source=tmp_path / "customer_profile.parquet",
        timestamp_column="ts",
        fields=(
            FieldSpec("n_tx", "int", "transactions so far", owner="risk-team"),
            FieldSpec("avg_amount", "float"),
            FieldSpec("segment", "string"),
            FieldSpec("first_seen", "timestamp"),
        ),
        owner="risk-team",
        description="who the customer is",
        tags={"domain": "customer"},
    )
    merchant_risk = BatchViewSpec(
        name="merchant_risk",
        entity="merchant",
        source=tmp_path / "merchant_risk.parquet",
        timestamp_column="ts",
        fields=(FieldSpec("risk", "float"), FieldSpec("n_chargebacks", "int")),
        ttl=timedelta(hours=2),
    )
    txn_context = RequestViewSpec(
        name="txn_context",
        request_fields=(FieldSpec("amount", "float"),),
        batch_views=("customer_profile", "merchant_risk") if merchants else ("customer_profile",),
        fields=(FieldSpec("amount_vs_avg", "float"),),
        owner="risk-team",
    )
    return FeatureSetSpec(
        project=project,
        version="v1" if merchants else "v2",
        entities=(EntitySpec("customer", "customer_id"), EntitySpec("merchant", "merchant_id"))
        if merchants
        else (EntitySpec("customer", "customer_id"),),
        batch_views=(customer_profile, merchant_risk) if merchants else (customer_profile,),
        request_views=(txn_context,),
    )


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("redis", marks=pytest.mark.redis)],
)
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeastRepo]:
    """A Feast repository in ``tmp_path`` with its own project; torn down after the test."""
    client: redis.Redis | None = None
    if request.param == "redis":
        client = request.getfixturevalue("redis_client")
        project = request.getfixturevalue("redis_project")
        kwargs = client.connection_pool.connection_kwargs
        url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
        repo = FeastRepo(tmp_path / "feature_repo", project, RedisOnlineStoreConfig(url=url))
    else:
        online = SqliteOnlineStoreConfig(path=Path("online/features.db"))
        repo = FeastRepo(tmp_path / "feature_repo", "fraud-eu", online, root=tmp_path)
    yield repo
    repo.teardown()
    assert not repo.registry_path.exists()
    if client is not None:
        suffix = repo.feast_project.encode()
        left = [k for k in client.scan_iter(match=b"*" + suffix, count=500) if k.endswith(suffix)]
        assert left == [], f"teardown left {len(left)} keys of {repo.feast_project}"


def test_online_round_trip(repo: FeastRepo, tmp_path: Path) -> None:
    repo.apply(feature_set(tmp_path, repo.project))
    assert repo.write_online("customer_profile", CUSTOMERS) == 2  # one row per customer
    assert repo.write_online("merchant_risk", MERCHANTS) == 1

    c1, c2, unknown = repo.read_online("customer_profile", ["c1", "c2", "nobody"])
    assert c1 == {"n_tx": 2, "avg_amount": 20.0, "segment": "regular", "first_seen": micros(at(5))}
    assert c2 == {"n_tx": 7, "avg_amount": 70.0, "segment": "vip", "first_seen": micros(at(2))}
    assert unknown is None
    assert [type(v) for v in c1.values()] == [int, float, str, int]
    assert repo.read_online("merchant_risk", ["m1"]) == [{"risk": 0.9, "n_chargebacks": 3}]
    assert repo.read_online("customer_profile", []) == []

    # An older snapshot written later never rolls a customer back; a newer row wins.
    older = customer_rows(("c1", at(4), 100, 1.0, "stale"), ("c2", at(6), 8, 80.0, "vip"))
    assert repo.write_online("customer_profile", older) == 1
    c1, c2 = repo.read_online("customer_profile", ["c1", "c2"])
    assert c1 is not None and c1["n_tx"] == 2
    assert c2 is not None and c2["n_tx"] == 8


def test_reapply_is_a_no_op_and_removing_a_view_deletes_it(repo: FeastRepo, tmp_path: Path) -> None:
    spec = feature_set(tmp_path, repo.project)
    repo.apply(spec)
    repo.apply(spec)
    views = {info.name: info for info in repo.list_feature_views()}
    assert sorted(views) == ["customer_profile", "merchant_risk", "txn_context"]
    profile = views["customer_profile"]
    assert profile.kind == "batch" and profile.online and profile.ttl is None
    assert profile.fields == ("n_tx", "avg_amount", "segment", "first_seen")
    assert (profile.owner, profile.feature_set_version) == ("risk-team", "v1")
    assert views["merchant_risk"].ttl == timedelta(hours=2)
    context = views["txn_context"]
    assert context.kind == "request" and context.fields == ("amount_vs_avg",)
    assert set(context.sources) == {"customer_profile", "merchant_risk", "txn_context__request"}

    repo.write_online("merchant_risk", MERCHANTS)
    repo.apply(feature_set(tmp_path, repo.project, merchants=False))
    views = {info.name: info for info in repo.list_feature_views()}
    assert sorted(views) == ["customer_profile", "txn_context"]
    assert {info.feature_set_version for info in views.values()} == {"v2"}
    store = repo.store()
    assert [e.name for e in store.list_entities() if e.name != "__dummy"] == ["customer"]
    assert "merchant_risk__source" not in {s.name for s in store.list_data_sources()}
    assert all(
        obj.tags[FEATURE_SET_VERSION_TAG] == "v2"
        for obj in [*store.list_entities(), *store.list_data_sources()]
        if obj.name != "__dummy"
    )
    with pytest.raises(InvalidInputError, match="no batch view 'merchant_risk'"):
        repo.read_online("merchant_risk", ["m1"])

    # What the `feast` CLI sees in the directory: the request view's UDF loads by reference.
    import feast

    fresh = feast.FeatureStore(repo_path=str(repo.repo_dir))
    odfv = fresh.get_on_demand_feature_view("txn_context")
    assert odfv.feature_transformation.udf is computed_by_ferryml
    assert [f.name for f in odfv.source_request_sources["txn_context__request"].schema] == [
        "amount"
    ]
    assert odfv.owner == "risk-team"


def test_refusals_name_the_problem(repo: FeastRepo, tmp_path: Path) -> None:
    spec = feature_set(tmp_path, repo.project)
    repo.apply(spec)
    with pytest.raises(InvalidInputError, match="did you mean 'customer_profile'"):
        repo.read_online("customer_profil", ["c1"])
    with pytest.raises(InvalidInputError, match="request view: ferryml computes it"):
        repo.read_online("txn_context", ["c1"])
    with pytest.raises(InvalidInputError, match=r"lack the columns \['segment'\]"):
        repo.write_online("customer_profile", CUSTOMERS.drop_columns(["segment"]))


def test_a_broken_spec_lists_every_problem(tmp_path: Path) -> None:
    spec = feature_set(tmp_path, "fraud-eu")
    broken = FeatureSetSpec(
        project="fraud-eu",
        version="bad",
        entities=spec.entities[:1],  # no merchant entity
        batch_views=spec.batch_views,
        request_views=(
            RequestViewSpec("ctx", (FieldSpec("amount", "float"),), ("customer_profiles",), ()),
        ),
    )
    repo = FeastRepo(tmp_path / "feature_repo", "fraud-eu")
    with pytest.raises(InvalidInputError) as caught:
        repo.apply(broken)
    assert "unknown entity 'merchant'" in str(caught.value)
    assert "unknown batch view 'customer_profiles' (did you mean 'customer_profile'?)" in str(
        caught.value
    )
    with pytest.raises(InvalidInputError, match="feature set of project 'other'"):
        repo.apply(feature_set(tmp_path, "other"))


def test_duckdb_offline_store_names_its_extra(tmp_path: Path) -> None:
    if importlib.util.find_spec("ibis") is not None:
        pytest.skip("ibis-framework is installed: the DuckDB store is usable")
    repo = FeastRepo(tmp_path, "fraud-eu", offline_store=OfflineStoreConfig(type="duckdb"))
    with pytest.raises(MissingDependencyError, match="ferryml\\[feast-duckdb\\]"):
        repo.store()


def test_historical_is_point_in_time_correct(tmp_path: Path) -> None:
    online = SqliteOnlineStoreConfig(path=Path("online.db"))
    repo = FeastRepo(tmp_path / "feature_repo", "fraud-eu", online, root=tmp_path)
    repo.apply(feature_set(tmp_path, repo.project))
    events = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2", "c1", "c9"],
            "merchant_id": ["m1", "m1", "m1", "m1", "m1", "m1"],
            "event_timestamp": [at(0.5), at(3.5), at(5), at(1.5), at(3.5), at(9)],
            "label": [0, 1, 0, 1, 1, 0],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    out = repo.historical(
        events, ["customer_profile:n_tx", "customer_profile:segment", "merchant_risk:risk"]
    )
    # Rows are kept in order, duplicates (11, 14) included, unmatched ones (10, 13, 15) too.
    assert list(out.index) == [10, 11, 12, 13, 14, 15]
    assert list(out["label"]) == [0, 1, 0, 1, 1, 0]
    # c1 rows: 1h n_tx=1, 3h n_tx=9, 5h n_tx=2; a row stamped at 5h is seen from 5h on.
    assert nulled(out["n_tx"]) == [None, 9, 2, None, 9, None]
    assert str(out["n_tx"].dtype) == "Int64"
    assert nulled(out["segment"]) == [None, "middle", "regular", None, "middle", None]
    # m1: 1h risk=0.1, 4h risk=0.9, TTL 2h: at 3.5h the 1h row is 2.5h old, expired.
    # c2 at 1.5h: m1's 1h row is 0.5h old; c1 at 5h: the 4h row.
    assert nulled(out["risk"]) == [None, None, 0.9, 0.1, None, None]
    repo.teardown()


def test_feast_project_names_are_distinct_and_valid() -> None:
    names = ["fraud", "fraud-eu", "fraud_eu", "fraud-_eu", "fraud_-eu", "fraud--eu", "a-0b"]
    mapped = [feast_project_name(n) for n in names]
    assert len(set(mapped)) == len(names)
    assert len({m.lower() for m in mapped}) == len(names)  # SQLite table names ignore case
    assert all(m.replace("_", "").isalnum() for m in mapped)
    assert not any(a != b and b.endswith(a) for a in mapped for b in mapped)


def test_importing_the_store_does_not_import_feast() -> None:
    code = "import sys, ferryml.features.store; print('feast' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def feast_rows(repo: FeastRepo, view_name: str, keys: list[str]) -> list[dict[str, object] | None]:
    """What Feast's own ``get_online_features`` answers (None where it has no row)."""
    store = repo.store()
    view = store.get_feature_view(view_name)
    join_key = view.join_keys[0]
    fields = [f.name for f in view.features]
    answer = store.get_online_features(
        features=[f"{view_name}:{name}" for name in fields],
        entity_rows=[{join_key: key} for key in keys],
    ).to_dict()
    rows: list[dict[str, object] | None] = []
    for i in range(len(keys)):
        row = {name: answer[name][i] for name in fields}
        rows.append(None if all(v is None for v in row.values()) else row)
    return rows


def test_one_round_trip_reads_what_feast_reads(repo: FeastRepo, tmp_path: Path) -> None:
    repo.apply(feature_set(tmp_path, repo.project))
    repo.write_online("customer_profile", CUSTOMERS)
    repo.write_online("merchant_risk", MERCHANTS)
    lookups = [
        ("customer_profile", "c2"),
        ("merchant_risk", "m1"),
        ("customer_profile", "nobody"),
        ("merchant_risk", "c1"),  # a customer's key in the merchant view: no row
        ("customer_profile", "c1"),
    ]
    rows = repo.read_online_rows(lookups)
    expected = [feast_rows(repo, view, [key])[0] for view, key in lookups]
    assert rows == expected
    assert rows[2] is None and rows[3] is None and rows[0] is not None
    # A missing key (an event without this entity) finds nothing, and breaks nothing.
    assert repo.read_online_rows([("customer_profile", None)]) == [None]  # type: ignore[list-item]


@pytest.mark.redis
def test_rows_and_windows_share_one_script_call_on_one_redis(
    redis_client: redis.Redis, redis_project: str, tmp_path: Path
) -> None:
    from ferryml.features.windows.state import WindowUpdate, open_window_store

    kwargs = redis_client.connection_pool.connection_kwargs
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
    repo = FeastRepo(tmp_path / "feature_repo", redis_project, RedisOnlineStoreConfig(url=url))
    windows = open_window_store("redis", project=redis_project, url=url)
    try:
        repo.apply(feature_set(tmp_path, repo.project))
        repo.write_online("customer_profile", CUSTOMERS)
        hour = 3_600_000_000
        first = [WindowUpdate("amount", "c1", 10 * hour, "e1", 5.0, 24 * hour)]
        later = [WindowUpdate("amount", "c1", 11 * hour, "e2", 7.0, 24 * hour)]
        lookups = [("customer_profile", "c1"), ("customer_profile", "nobody")]
        # the first call on a Redis that has not seen the script yet loads it (EVALSHA fails
        # with NOSCRIPT, then SCRIPT LOAD and EVALSHA again): warm it with another entity
        warm = [WindowUpdate("amount", "warm-up", 10 * hour, "w1", 1.0, 24 * hour)]
        repo.read_online_with_windows(lookups, windows, warm)
        before = redis_client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
        rows, histories = repo.read_online_with_windows(lookups, windows, first)
        after = redis_client.info("commandstats")["cmdstat_evalsha"]["calls"]
        assert after - before == 1  # the rows came with the window update, in one command
        assert rows == repo.read_online_rows(lookups)
        assert histories == [[]]
        _, histories = repo.read_online_with_windows(lookups, windows, later)
        assert histories == [[(10 * hour, 5.0)]]
    finally:
        windows.clear()
        windows.close()
        repo.teardown()


@settings(max_examples=25, deadline=None)
@given(key=st.text(min_size=0, max_size=40))
def test_entity_keys_are_encoded_as_feast_encodes_them(key: str) -> None:
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    from ferryml.features.store.row_reads import entity_key_encoder

    proto = EntityKey(join_keys=["customer_id"], entity_values=[Value(string_val=key)])
    assert entity_key_encoder("customer_id", 3)(key) == serialize_entity_key(
        proto, entity_key_serialization_version=3
    )
