"""Train/serve skew: 10k events replayed one by one, in event-time order, through the serving
feature path (Feast online store + window state, never the offline result) give exactly the
features of the offline training set (integers and categories exactly, floats to 1e-9).

The serving side is a fresh :class:`ProjectFeatureStore`: it compiles the definitions again and
loads the encodings from the build's ``fitted.json``, as a serving process would. Batch views
reach the online store the way production loads them: profiles once, the label-rate snapshot of
each day when the replay crosses midnight (the nightly ``ferry features materialize``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from ferryml.config.loader import LoadedConfig, load_config
from ferryml.data.synth import generate
from ferryml.data.versioning import DatasetStore, DatasetVersion
from ferryml.features.build import FeatureBuild
from ferryml.features.project_store import ProjectFeatureStore
from ferryml.features.values import to_micros
from ferryml.storage.db import make_engine, upgrade

DAY_US = 86_400_000_000.0
SMALL = [
    "data.synth.days=21",
    "data.synth.customers=600",
    "data.synth.merchants=60",
    "data.synth.transactions_per_day=480",
    "data.synth.scenarios.bad_data.enabled=false",
]


def small_workspace(root: Path, *extra: str) -> tuple[LoadedConfig, DatasetVersion]:
    """A workspace with small generated data published as a dataset version (no ingestion:
    features are what is under test)."""
    loaded = load_config(None, overrides=[f"paths.root={root}", *SMALL, *extra])
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
    published = store.publish(
        "transactions", staged, key_columns=["transaction_id"], source={"kind": "test"}
    )
    return loaded, published.version


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FeatureBuild]:
    root = tmp_path_factory.mktemp("skew")
    loaded, version = small_workspace(root)
    build = ProjectFeatureStore(loaded, root).build(version)
    return root, build


def test_a_build_records_its_lineage(built: tuple[Path, FeatureBuild]) -> None:
    import hashlib

    from ferryml.features.build import load_build

    root, build = built
    manifest = load_build(build.path)
    assert manifest["dataset"] == build.dataset_ref
    assert manifest["rows"] == pq.read_table(build.training_path).num_rows
    customers = manifest["profiles"]["customer_profile"]
    assert customers["path"] == "data/raw/synth/customers.parquet"
    data = (root / customers["path"]).read_bytes()
    assert customers["sha256"] == hashlib.sha256(data).hexdigest()
    owners = {feature["owner"] for feature in manifest["features"]}
    assert owners == {"fraud-ml-team"}


def _same(online: Any, offline: Any) -> bool:
    if isinstance(online, float) or isinstance(offline, float):
        a = math.nan if online is None else float(online)
        b = math.nan if offline is None else float(offline)
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9
    return bool(online == offline)


@pytest.fixture(params=["sqlite", "redis"])
def serving(
    request: pytest.FixtureRequest, built: tuple[Path, FeatureBuild]
) -> Iterator[ProjectFeatureStore]:
    root, _ = built
    overrides: list[str] = []
    if request.param == "redis":
        project = request.getfixturevalue("redis_project")
        overrides = [f"project.name={project}", "features.store.online_store.type=redis"]
    serving_loaded = load_config(None, overrides=[f"paths.root={root}", *SMALL, *overrides])
    store = ProjectFeatureStore(serving_loaded, root)
    yield store
    if request.param == "redis":
        store.repo.teardown()
        with store.window_store() as windows:
            windows.clear()


def test_replayed_serving_features_equal_the_training_set(
    built: tuple[Path, FeatureBuild], serving: ProjectFeatureStore
) -> None:
    _, build = built
    serving.repo.apply(_spec_of(serving, build))
    online = serving.online(build)
    with serving.window_store() as windows:
        windows.clear()
    for profile in serving.feature_set.profiles:
        serving.repo.write_online(profile.name, pq.read_table(build.view_path(profile.name)))
    snapshots = {
        rate.name: pq.read_table(build.view_path(rate.name))
        for rate in serving.feature_set.label_rates
    }
    training = pq.read_table(build.training_path)
    events = _events(built[0], build)
    assert events.num_rows >= 10_000
    names = serving.feature_set.output_names
    expected_rows = training.select(list(names)).to_pylist()
    day = None
    mismatches: list[tuple[int, str, Any, Any]] = []
    degraded = 0
    for index, event in enumerate(events.to_pylist()):
        today = to_micros(event["event_time"]) // DAY_US * DAY_US
        if today != day:  # the nightly load of label-rate snapshots
            for name, table in snapshots.items():
                stamp = pc.cast(table.column("snapshot_time"), pa.int64())
                day_rows = table.filter(pc.equal(stamp, int(today)))
                if day_rows.num_rows:
                    serving.repo.write_online(name, day_rows)
            day = today
        vector = online.vector(event)
        degraded += vector.degraded
        for name in names:
            if not _same(vector.values[name], expected_rows[index][name]):
                mismatches.append((index, name, vector.values[name], expected_rows[index][name]))
    assert mismatches[:10] == []
    # merchants without a snapshot yet (first day) are the only unknown entities
    assert degraded < events.num_rows // 10
    online.window_store.close()


def _events(root: Path, build: FeatureBuild) -> pa.Table:
    """The raw events in the training set's order (the build sorts by event time)."""
    training = pq.read_table(build.training_path)
    raw_dir = root / "data/processed/transactions"
    (version_dir,) = [p for p in raw_dir.iterdir() if p.is_dir()]
    raw = ds.dataset(sorted(str(p) for p in version_dir.glob("*.parquet"))).to_table()
    order = pa.table({"transaction_id": training.column("transaction_id")}).append_column(
        "__order", pa.array(range(training.num_rows))
    )
    joined = raw.join(order, "transaction_id").sort_by("__order")
    return joined.drop_columns(["__order"])


def _spec_of(store: ProjectFeatureStore, build: FeatureBuild) -> Any:
    from ferryml.features.catalog import feature_set_spec

    return feature_set_spec(store.feature_set, build)
