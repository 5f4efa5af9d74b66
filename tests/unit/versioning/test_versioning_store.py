"""DatasetStore on SQLite: publish, dedupe, list/get/latest, diff, crash repair, concurrency."""

from __future__ import annotations

import importlib
import multiprocessing
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, func, select
from versioning_helpers import sample_table, write_chunks

from ferryml.clock import ManualClock
from ferryml.data.versioning import DatasetStore, content_hash
from ferryml.errors import DataError, InvalidInputError
from ferryml.storage.db import VERSION_TABLE, make_engine
from ferryml.storage.tables import datasets, metadata

KEYS = ["id"]
SOURCE = {"kind": "parquet", "uri": "file:///raw/tx"}


@pytest.fixture
def store(sqlite_engine: Engine, tmp_path: Path) -> DatasetStore:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    return DatasetStore(sqlite_engine, "fraud", tmp_path / "processed", clock=clock)


def stage(store: DatasetStore, table: pa.Table, sizes: list[int] | None = None) -> Path:
    return write_chunks(table, store.new_staging_dir(), sizes or [table.num_rows])


def _snapshot(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in [directory, *directory.iterdir()]}


def test_public_names_import() -> None:
    module = importlib.import_module("ferryml.data.versioning")
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_migration_matches_tables(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, metadata) == []


def test_publish_then_republish_writes_nothing(store: DatasetStore) -> None:
    table = sample_table()
    staged = stage(store, table)
    expected_hash = content_hash(staged, KEYS)
    first = store.publish("tx", staged, key_columns=KEYS, source=SOURCE, validation={"ok": True})
    assert first.created and not first.repaired
    version = first.version
    assert version.content_hash == expected_hash
    assert version.version == expected_hash[:16]
    assert version.rows == 50 and version.key_columns == ("id",)
    assert version.path == store.root / "tx" / version.version
    assert not staged.exists()
    assert (version.path / "manifest.json").is_file()
    before = _snapshot(version.path)

    again_staged = stage(store, table.take(list(range(49, -1, -1))), [10, 40])
    again = store.publish("tx", again_staged, key_columns=KEYS, source={"other": 1})
    assert not again.created
    assert again.version == version
    assert again_staged.exists()  # the caller deletes it
    assert _snapshot(version.path) == before
    assert len(store.list("tx")) == 1


def test_list_get_latest(store: DatasetStore, sqlite_engine: Engine) -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    store = DatasetStore(sqlite_engine, "fraud", store.root, clock=clock)
    v1 = store.publish("tx", stage(store, sample_table(10)), key_columns=KEYS, source=SOURCE)
    clock.advance(timedelta(hours=1))
    v2 = store.publish("tx", stage(store, sample_table(20)), key_columns=KEYS, source=SOURCE)
    other = store.publish(
        "features",
        stage(store, sample_table(5)),
        key_columns=KEYS,
        source={"kind": "derived"},
        parents=[v2.version.ref],
        extra={"note": "x"},
    )
    assert store.latest("tx") == v2.version
    assert store.latest("nothing") is None
    assert store.list("tx") == [v1.version, v2.version]
    assert [v.dataset for v in store.list()] == ["features", "tx", "tx"]
    got = store.get("features", other.version.version)
    assert got == other.version
    assert got.parents == (v2.version.ref,)
    assert got.extra == {"note": "x"}
    assert got.created_at == datetime(2026, 3, 1, 1, tzinfo=UTC)
    assert got.source == {"kind": "derived"}


def test_get_unknown_suggests(store: DatasetStore) -> None:
    version = store.publish("tx", stage(store, sample_table()), key_columns=KEYS, source=SOURCE)
    known = version.version.version
    typo = known[:-1] + ("0" if known[-1] != "0" else "1")
    with pytest.raises(DataError, match=f"did you mean '{known}'"):
        store.get("tx", typo)
    with pytest.raises(DataError, match=f"did you mean '{known}'"):
        store.get("tx", known[:6])
    with pytest.raises(DataError, match="did you mean 'tx'") as caught:
        store.get("txs", known)
    assert caught.value.hint is not None and "tx" in caught.value.hint


def test_diff_reports_rows_schema_and_nulls(store: DatasetStore) -> None:
    base = sample_table(30)
    a = store.publish("tx", stage(store, base), key_columns=KEYS, source=SOURCE).version
    changed = base.slice(5).drop_columns(["flag"])  # ids 0-4 removed, flag dropped
    extra = pa.table(
        {
            "id": pa.array([100, 101], pa.int64()),
            "name": pa.array([None, None], pa.string()),
            "amount": pa.array([1.0, 2.0]),
            "ts": changed["ts"].slice(0, 2).combine_chunks(),
        }
    )
    changed = pa.concat_tables([changed, extra])
    changed = changed.append_column("score", pa.array([0.5] * changed.num_rows))
    changed = changed.set_column(2, "amount", changed["amount"].cast(pa.float32()))  # retyped
    b = store.publish("tx", stage(store, changed), key_columns=KEYS, source=SOURCE).version
    result = store.diff("tx", a.version, b.version)
    assert (result.rows_a, result.rows_b) == (30, 27)
    assert (result.only_in_a, result.only_in_b) == (5, 2)
    assert [row["id"] for row in result.sample_only_in_a] == [0, 1, 2, 3, 4]
    assert [row["id"] for row in result.sample_only_in_b] == [100, 101]
    assert [c["name"] for c in result.added_columns] == ["score"]
    assert [c["name"] for c in result.removed_columns] == ["flag"]
    assert result.retyped_columns == ({"name": "amount", "type_a": "DOUBLE", "type_b": "FLOAT"},)
    assert result.schema_changed
    a_name_nulls = sum(v is None for v in base["name"].to_pylist())
    b_name_nulls = sum(v is None for v in changed["name"].to_pylist())
    assert result.null_count_changes["name"] == (a_name_nulls, b_name_nulls)
    assert result.null_count_changes["flag"] == (0, None)
    assert result.null_count_changes["score"] == (None, 0)
    same = store.diff("tx", a.version, a.version)
    assert (same.only_in_a, same.only_in_b, same.schema_changed) == (0, 0, False)
    assert same.null_count_changes == {}


def test_directory_without_row_is_repaired(store: DatasetStore, sqlite_engine: Engine) -> None:
    table = sample_table()
    first = store.publish("tx", stage(store, table), key_columns=KEYS, source=SOURCE).version
    with sqlite_engine.begin() as conn:  # as if the process died between rename and commit
        conn.execute(delete(datasets))
    assert store.list() == []
    staged = stage(store, table)
    repaired = store.publish("tx", staged, key_columns=KEYS, source={"new": "source"})
    assert repaired.repaired and not repaired.created
    assert repaired.version == first  # metadata from the manifest, not from the new call
    assert store.list() == [first]
    assert staged.exists()


def test_row_without_directory_is_repaired(store: DatasetStore) -> None:
    table = sample_table()
    first = store.publish("tx", stage(store, table), key_columns=KEYS, source=SOURCE).version
    shutil.rmtree(first.path)
    with pytest.raises(DataError, match="missing"):
        store.diff("tx", first.version, first.version)
    repaired = store.publish("tx", stage(store, table), key_columns=KEYS, source=SOURCE)
    assert repaired.repaired and repaired.created
    assert repaired.version == first
    assert (first.path / "manifest.json").is_file()
    assert content_hash(first.path, KEYS) == first.content_hash


def test_tampered_directory_is_detected(store: DatasetStore, sqlite_engine: Engine) -> None:
    table = sample_table()
    first = store.publish("tx", stage(store, table), key_columns=KEYS, source=SOURCE).version
    with sqlite_engine.begin() as conn:
        conn.execute(delete(datasets))
    (first.path / "manifest.json").write_text("{}")
    with pytest.raises(Exception, match="not an intact snapshot"):
        store.publish("tx", stage(store, table), key_columns=KEYS, source=SOURCE)


def test_projects_do_not_see_each_other(sqlite_engine: Engine, tmp_path: Path) -> None:
    fraud = DatasetStore(sqlite_engine, "fraud", tmp_path / "fraud")
    churn = DatasetStore(sqlite_engine, "churn", tmp_path / "churn")
    version = fraud.publish("tx", stage(fraud, sample_table()), key_columns=KEYS, source=SOURCE)
    assert churn.list() == [] and churn.latest("tx") is None
    with pytest.raises(DataError, match="no dataset 'tx'"):
        churn.get("tx", version.version.version)
    with pytest.raises(DataError, match="not a published version"):
        churn.publish(
            "f",
            stage(churn, sample_table()),
            key_columns=KEYS,
            source=SOURCE,
            parents=[version.version.ref],
        )
    assert len(fraud.list()) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dataset": "Bad Name"}, "invalid dataset name"),
        ({"parents": ["tx"]}, "dataset@version"),
        ({"parents": ["tx@XYZ"]}, "hex"),
        ({"source": {"t": datetime(2026, 1, 1)}}, "JSON"),
        ({"validation": {"x": float("nan")}}, "JSON"),
        ({"source": ["not", "a", "mapping"]}, "mapping"),
    ],
)
def test_bad_arguments_are_rejected(
    store: DatasetStore, kwargs: dict[str, object], match: str
) -> None:
    arguments: dict[str, object] = {
        "dataset": "tx",
        "staged": stage(store, sample_table(3)),
        "key_columns": KEYS,
        "source": SOURCE,
    }
    arguments.update(kwargs)
    with pytest.raises(InvalidInputError, match=match):
        store.publish(**arguments)  # type: ignore[arg-type]


def _publish_in_child(db_url: str, root: str, staged: str) -> tuple[str, bool]:
    engine = make_engine(db_url)
    try:
        result = DatasetStore(engine, "fraud", Path(root)).publish(
            "tx", Path(staged), key_columns=KEYS, source=SOURCE
        )
        return result.version.version, result.created
    finally:
        engine.dispose()


def test_concurrent_processes_publish_one_version(
    store: DatasetStore, sqlite_engine: Engine
) -> None:
    table = sample_table()
    stagings = [str(stage(store, table, [25, 25])) for i in range(4)]
    # forkserver, not fork: a child forked from the threaded test process hung in a CI run
    # (pool workers asleep until the timeout); the server imports the store once for all four.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ferryml.data.versioning", "ferryml.storage.db"])
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with context.Pool(4) as pool:
        results = pool.starmap(_publish_in_child, [(url, str(store.root), s) for s in stagings])
    assert len({version for version, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(datasets)).scalar_one() == 1
