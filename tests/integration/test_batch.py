"""Batch scoring on a trained workspace: the local engine, the Spark engine (``local[2]``) and
the online path (Feast's online store and the window state, one event at a time) give the same
scores for the same rows; a run SIGKILLed midway finishes on rerun without duplicates or gaps;
bad input is refused before anything is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from conftest import TRAINABLE_SETTINGS, Quickstarted
from ferryml.batch.local import BatchResult
from ferryml.batch.output import MANIFEST, PROGRESS
from ferryml.batch.run import score_batch
from ferryml.config.loader import load_config
from ferryml.errors import ConflictError, InvalidInputError
from ferryml.features.values import to_micros
from ferryml.pipeline import ProjectContext, resolve_version

pytestmark = pytest.mark.slow

DAYS = 3
"""The last days of the project's transactions are the batch: windows cover them only."""


@pytest.fixture(scope="module")
def workspace(quickstarted: Quickstarted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quickstarted.copy(tmp_path_factory.mktemp("batch") / "ws")


@pytest.fixture(scope="module")
def context(workspace: Path) -> Any:
    loaded = load_config(workspace / "configs" / "ferry.yaml", overrides=list(TRAINABLE_SETTINGS))
    context = ProjectContext.open(loaded, create=False)
    yield context
    context.close()


@pytest.fixture(scope="module")
def batch_input(context: ProjectContext, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's last days of transactions as stored (no labels needed: dropped)."""
    version = resolve_version(context, "transactions")
    table = ds.dataset(sorted(str(p) for p in version.path.glob("*.parquet"))).to_table()
    table = table.drop_columns(["is_fraud", "label_time"])
    times = pc.cast(pc.cast(table.column("event_time"), pa.timestamp("us", tz="UTC")), pa.int64())
    cut = pc.max(times).as_py() - DAYS * 86_400_000_000
    path = tmp_path_factory.mktemp("batch-input") / "events.parquet"
    pq.write_table(table.filter(pc.greater(times, cut)), path)
    return path


@pytest.fixture(scope="module")
def local_run(
    context: ProjectContext, batch_input: Path, tmp_path_factory: pytest.TempPathFactory
) -> BatchResult:
    return score_batch(context, [batch_input], tmp_path_factory.mktemp("local") / "scores")


def scores_of(output: Path) -> dict[str, tuple[float, str]]:
    table = ds.dataset(output, format="parquet", partitioning="hive").to_table()
    ids = table.column("transaction_id").to_pylist()
    assert len(ids) == len(set(ids)), "a row was written twice"
    scores, decisions = table.column("score").to_pylist(), table.column("decision").to_pylist()
    pairs = zip(scores, decisions, strict=True)
    return dict(zip(ids, pairs, strict=True))


def online_scores(context: ProjectContext, batch_input: Path, root: Path) -> dict[str, float]:
    """Each event through the serving path, one by one in event-time order (ties by id), on a
    fresh online store and window state that the batch views reach as time passes (each view
    row once the replay's clock passes its time: what materializing on schedule gives)."""
    from ferryml.features.build import FeatureBuild, load_build
    from ferryml.features.catalog import feature_set_spec
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.registered import load_registered
    from ferryml.serving.deployment import deployment_loader

    replay = [
        *TRAINABLE_SETTINGS,
        f"features.store.online_store.path={root / 'online.db'}",
        f"features.store.window_state={root / 'windows.db'}",
    ]
    loaded = load_config(context.workspace.root / "configs" / "ferry.yaml", overrides=replay)
    registry, load = deployment_loader(loaded, context.workspace.root)
    deployment = load("champion")
    model_build = load_registered(loaded, context.workspace.root, registry, "champion").build
    build = FeatureBuild.from_manifest(model_build, load_build(model_build))
    store = ProjectFeatureStore(loaded, context.workspace.root)
    store.repo.apply(feature_set_spec(store.feature_set, build))
    views = {
        name: pq.read_table(build.view_path(name)).sort_by(column)
        for name, column in build.time_columns.items()
    }
    loaded_up_to = dict.fromkeys(views, -np.inf)
    order = [("event_time", "ascending"), ("transaction_id", "ascending")]
    events = pq.read_table(batch_input).sort_by(order)
    answers = {}
    for event in events.to_pylist():
        now = to_micros(event["event_time"])
        for name, table in views.items():
            stamps = pc.cast(
                pc.cast(table.column(build.time_columns[name]), pa.timestamp("us", tz="UTC")),
                pa.int64(),
            )
            due = pc.and_(pc.greater(stamps, loaded_up_to[name]), pc.less_equal(stamps, now))
            rows = table.filter(due)
            if rows.num_rows:
                store.repo.write_online(name, rows)
            loaded_up_to[name] = now
        scored = deployment.score(event)
        assert not scored.degraded
        answers[event["transaction_id"]] = scored.score
    deployment.online.window_store.close()
    return answers


def test_the_local_engine_spark_and_the_online_path_give_the_same_scores(
    context: ProjectContext,
    batch_input: Path,
    local_run: BatchResult,
    spark: Any,
    tmp_path: Path,
) -> None:
    local = scores_of(local_run.output)
    rows = pq.read_metadata(batch_input).num_rows
    assert len(local) == rows and local_run.manifest["output"]["rows"] == rows
    decisions = {decision for _, decision in local.values()}
    assert decisions == {"approve", "block"}  # both sides of the threshold are compared

    spark_run = score_batch(context, [batch_input], tmp_path / "spark", engine="spark", spark=spark)
    assert spark_run.manifest["engine"] == "spark"
    on_spark = scores_of(spark_run.output)
    assert on_spark.keys() == local.keys()
    assert max(abs(on_spark[i][0] - local[i][0]) for i in local) <= 1e-12
    assert all(on_spark[i][1] == local[i][1] for i in local)

    online = online_scores(context, batch_input, tmp_path)
    assert online.keys() == local.keys()
    assert max(abs(online[i] - local[i][0]) for i in local) <= 1e-12

    # both outputs read back with the same schema: event_time an instant in µs
    for output in (local_run.output, spark_run.output):
        schema = ds.dataset(output, format="parquet", partitioning="hive").schema
        assert schema.field("event_time").type == pa.timestamp("us", tz="UTC")


@pytest.mark.faults
def test_a_run_killed_midway_finishes_on_rerun_without_duplicates_or_gaps(
    context: ProjectContext, batch_input: Path, local_run: BatchResult, tmp_path: Path
) -> None:
    output = tmp_path / "scores"
    chunked = (*TRAINABLE_SETTINGS, "batch.chunk_rows=5")  # many chunks: time to kill it
    sets = [arg for setting in chunked for arg in ("--set", setting)]
    command = [
        sys.executable, "-m", "ferryml", "batch", "score", "-i", str(batch_input),
        "-o", str(output), "-c", str(context.workspace.root / "configs" / "ferry.yaml"), *sets,
    ]  # fmt: skip
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if len(list((output / PROGRESS).glob("0*.json"))) >= 3:
            os.kill(run.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    _, errors = run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL, errors.decode()
    assert not (output / MANIFEST).exists()
    marked = len(list((output / PROGRESS).glob("0*.json")))

    loaded = load_config(context.workspace.root / "configs" / "ferry.yaml", overrides=chunked)
    resumed_context = ProjectContext.open(loaded, create=False)
    try:
        resumed = score_batch(resumed_context, [batch_input], output)
    finally:
        resumed_context.close()
    assert resumed.chunks_resumed == marked >= 3
    rows = pq.read_metadata(batch_input).num_rows
    assert resumed.chunks_written + resumed.chunks_resumed == resumed.manifest["chunks"]
    assert resumed.manifest["chunks"] == -(-rows // 5)
    assert scores_of(output) == scores_of(local_run.output)  # every row once, same answers
    assert resumed.manifest["output"] == local_run.manifest["output"]


def test_a_finished_run_is_not_redone_and_another_models_run_is_refused(
    context: ProjectContext, batch_input: Path, local_run: BatchResult
) -> None:
    again = score_batch(context, [batch_input], local_run.output)
    assert (again.chunks_written, again.manifest) == (0, local_run.manifest)
    with pytest.raises(ConflictError, match="another batch run"):
        score_batch(context, [batch_input], local_run.output, engine="spark")
    assert scores_of(local_run.output)  # untouched


def test_bad_input_is_refused_before_anything_is_written(
    context: ProjectContext, batch_input: Path, tmp_path: Path
) -> None:
    events = pq.read_table(batch_input)
    missing = tmp_path / "missing.parquet"
    pq.write_table(events.drop_columns(["amount"]), missing)
    with pytest.raises(InvalidInputError, match=r"missing.parquet has no column 'amount'"):
        score_batch(context, [missing], tmp_path / "out-missing")
    wrong = tmp_path / "wrong.parquet"
    amounts = pc.cast(events.column("amount"), pa.string())
    pq.write_table(
        events.set_column(events.schema.get_field_index("amount"), "amount", amounts), wrong
    )
    with pytest.raises(InvalidInputError, match=r"column 'amount' is string; the schema declares"):
        score_batch(context, [wrong], tmp_path / "out-wrong")
    with pytest.raises(InvalidInputError, match="no input at"):
        score_batch(context, [tmp_path / "nowhere"], tmp_path / "out-nowhere")
    not_parquet = tmp_path / "notes.parquet"
    not_parquet.write_text("amount,customer_id\n1,c\n")
    with pytest.raises(InvalidInputError, match="not a readable Parquet file"):
        score_batch(context, [not_parquet], tmp_path / "out-notes")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out-")]


def test_the_cli_says_what_is_wrong_with_its_arguments(
    context: ProjectContext, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from ferryml.cli import app as cli

    config = str(context.workspace.root / "configs" / "ferry.yaml")
    sets = [arg for setting in TRAINABLE_SETTINGS for arg in ("--set", setting)]
    base = ["batch", "score", "-c", config, *sets, "-o", str(tmp_path / "out")]
    runner = CliRunner()
    missing = runner.invoke(cli, [*base, "-i", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no input at" in missing.output
    other = runner.invoke(cli, [*base, "-i", str(tmp_path), "--model", "churn@champion"])
    assert other.exit_code == 1 and "this project's model is 'fraud'" in other.output
    engine = runner.invoke(cli, [*base, "-i", str(tmp_path), "--engine", "dask"])
    assert engine.exit_code == 2 and "use local or spark" in engine.output
    assert not (tmp_path / "out").exists()
