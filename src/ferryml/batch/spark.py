"""The Spark batch engine: the local engine's features, model and output, inside Spark.

Features come from :func:`ferryml.features.spark_engine.scoring_features_spark` (ferryml's own
transform code in ``mapInArrow``); the model scores each Arrow batch in a second
``mapInArrow`` with the same feature matrix and decision as the local engine and serving
(:func:`ferryml.batch.local.feature_matrix`), one thread per task: Spark runs the tasks in
parallel. The session must be in UTC (:func:`ferryml.spark.spark_session` makes it so).

Output: Spark writes the date partitions into a hidden directory inside ``output``, which are
then moved in and the manifest written. A killed run leaves no manifest; its rerun clears the
partitions and scores everything again (Spark has no per-chunk progress here: its tasks are
retried by Spark itself, and a whole rerun is idempotent).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from ferryml.batch.local import BatchResult, Progress, feature_matrix, output_columns, scored_rows
from ferryml.batch.output import DECISION, PARTITION, BatchOutput, decision_counts, run_fingerprint
from ferryml.batch.source import BatchInput
from ferryml.features.build import FeatureBuild, load_build, load_views
from ferryml.features.spark_engine import scoring_features_spark
from ferryml.features.values import arrow_to_columns
from ferryml.registered import RegisteredModel


def score_spark(
    spark: Any,
    registered: RegisteredModel,
    source: BatchInput,
    output: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> BatchResult:
    """Score every row of ``source`` with ``registered`` into ``output``, computed by Spark
    (``progress``: told 0 of 1 at the start and 1 of 1 at the end; Spark shows its stages)."""
    started = datetime.now(UTC)
    fingerprint = run_fingerprint(
        registered.identity,
        source.sha256,
        engine="spark",
    )
    out = BatchOutput(output, fingerprint, overwrite=overwrite)
    finished = out.finished()
    if finished is not None:
        return BatchResult(out.path, finished, 0, 1)
    report = progress or (lambda done, total: None)
    report(0, 1)
    out.prepare()
    for stale in [*out.path.glob(f"{PARTITION}=*"), *out.path.glob(".spark-*")]:
        shutil.rmtree(stale)  # a killed attempt's partitions: this run writes them all again
    feature_set = registered.feature_set
    build = FeatureBuild.from_manifest(registered.build, load_build(registered.build))
    events = spark.read.parquet(*(str(f) for f in source.files)).select(*source.columns)
    frame = scoring_features_spark(spark, feature_set, events, load_views(build))
    scored = frame.mapInArrow(_scorer(registered), _output_schema(registered, frame))
    staging = out.path / f".spark-{uuid.uuid4().hex}"
    scored.write.mode("error").partitionBy(PARTITION).parquet(str(staging))
    for partition in sorted(staging.glob(f"{PARTITION}=*")):
        partition.rename(out.path / partition.name)
    shutil.rmtree(staging)
    written = ds.dataset(str(out.path), format="parquet", partitioning="hive")
    decisions = written.to_table(columns=[DECISION])
    manifest = {
        "engine": "spark",
        "model": fingerprint["model"],
        "feature_set_version": feature_set.version,
        "feature_build": build.dataset_ref,
        "input": {"files": [str(f) for f in source.files], "sha256": source.sha256},
        "output": {"rows": decisions.num_rows, "decisions": decision_counts(decisions)},
        "chunks": 1,
        "spark_master": spark.sparkContext.master,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
    }
    finished = out.finish(manifest)
    report(1, 1)
    return BatchResult(out.path, finished, 1, 0)


def _scorer(registered: RegisteredModel) -> Any:
    names = list(registered.model.features)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            columns = arrow_to_columns(table, names)
            scores = registered.model.predict_array(
                feature_matrix(columns, registered, slice(None))
            )
            rows = scored_rows(output_columns(registered, table), scores, registered)
            yield from rows.to_batches()

    return run


def _output_schema(registered: RegisteredModel, frame: Any) -> Any:
    from pyspark.sql import types

    ids = registered.feature_set.schema.columns_with_role("id")
    fields = [frame.schema[name] for name in ids]
    fields += [
        types.StructField(registered.feature_set.event_time_column, types.TimestampType()),
        types.StructField(PARTITION, types.StringType()),
        types.StructField("score", types.DoubleType()),
        types.StructField(DECISION, types.StringType()),
        types.StructField("model_version", types.StringType()),
    ]
    return types.StructType(fields)
