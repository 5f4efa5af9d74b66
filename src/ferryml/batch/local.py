"""The local batch engine: one process, features in columns, the model on every core.

Features are computed for the whole input at once
(:func:`ferryml.features.offline.scoring_features`): window aggregates need each entity's
events in time order, which a stream of record batches does not give. Scoring and writing
then go chunk by chunk: the model scores a chunk on all cores while the previous chunk is
written (Parquet writing releases the GIL), and each written chunk is marked in the output's
progress, so a killed run resumes where it stopped (:mod:`ferryml.batch.output`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ferryml.batch.output import (
    DECISION,
    PARTITION,
    BatchOutput,
    ChunkCounts,
    merged,
    run_fingerprint,
)
from ferryml.batch.source import BatchInput
from ferryml.features.build import FeatureBuild, load_build, load_views
from ferryml.features.offline import scoring_features
from ferryml.features.values import Columns
from ferryml.registered import RegisteredModel

DEFAULT_CHUNK_ROWS = 100_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BatchResult:
    """A finished run: where it wrote, its manifest, how many chunks this call wrote."""

    output: Path
    manifest: dict[str, Any]
    chunks_written: int
    chunks_resumed: int


def score_local(
    registered: RegisteredModel,
    source: BatchInput,
    output: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    overwrite: bool = False,
    progress: Progress | None = None,
    spill_dir: Path | None = None,
) -> BatchResult:
    """Score every row of ``source`` with ``registered`` into ``output`` (resumable)."""
    started = datetime.now(UTC)
    fingerprint = run_fingerprint(
        registered.identity,
        source.sha256,
        engine="local",
        chunk_rows=chunk_rows,
    )
    out = BatchOutput(output, fingerprint, overwrite=overwrite)
    finished = out.finished()
    if finished is not None:
        return BatchResult(out.path, finished, 0, int(finished["chunks"]))
    done = out.prepare()
    table = source.read()
    feature_set = registered.feature_set
    build = FeatureBuild.from_manifest(registered.build, load_build(registered.build))
    columns = scoring_features(feature_set, table, load_views(build), spill_dir=spill_dir)
    kept = output_columns(registered, table)
    chunks = max(1, math.ceil(table.num_rows / chunk_rows))
    written = 0
    report = progress or (lambda done, total: None)
    report(len(done), chunks)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ferry-batch-writer") as writer:
        pending: Future[ChunkCounts] | None = None
        for index in range(chunks):
            if index in done:
                continue
            rows = slice(index * chunk_rows, (index + 1) * chunk_rows)
            scores = registered.model.predict_array(feature_matrix(columns, registered, rows))
            part = scored_rows(kept.slice(rows.start, len(scores)), scores, registered)
            if pending is not None:
                pending.result()
                written += 1
                report(len(done) + written, chunks)
            pending = writer.submit(out.write_chunk, index, part)
        if pending is not None:
            pending.result()
            written += 1
            report(len(done) + written, chunks)
    manifest = {
        "engine": "local",
        "model": fingerprint["model"],
        "feature_set_version": feature_set.version,
        "feature_build": build.dataset_ref,
        "input": {"files": [str(f) for f in source.files], "sha256": source.sha256},
        "output": merged(out.chunk_counts()),
        "chunks": chunks,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
    }
    return BatchResult(out.path, out.finish(manifest), written, len(done))


def output_columns(registered: RegisteredModel, table: pa.Table) -> pa.Table:
    """The input columns an output row carries: ids and event time, plus the event date."""
    schema = registered.feature_set.schema
    time_column = registered.feature_set.event_time_column
    names = [*schema.columns_with_role("id"), time_column]
    kept = table.select(names)
    stamps = pc.cast(kept.column(time_column), pa.timestamp("us", tz="UTC"))
    kept = kept.set_column(names.index(time_column), time_column, stamps)
    return kept.append_column(PARTITION, pc.strftime(stamps, format="%Y-%m-%d"))


def scored_rows(
    kept: pa.Table, scores: npt.NDArray[np.float64], registered: RegisteredModel
) -> pa.Table:
    """``kept`` with the score, the decision and the model version of each row."""
    decisions = registered.decisions(scores)
    return (
        kept.append_column("score", pa.array(scores, pa.float64()))
        .append_column(DECISION, pa.array(decisions, pa.string()))
        .append_column("model_version", pa.array([registered.version] * len(scores)))
    )


def feature_matrix(
    columns: Columns, registered: RegisteredModel, rows: slice
) -> npt.NDArray[np.float64]:
    """The model's features for ``rows``, in its order, as float64 (missing: NaN) — the
    matrix serving builds one row of."""
    names = registered.model.features
    out = np.empty((len(columns[names[0]][rows]), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        values = columns[name][rows]
        if values.dtype == object:
            values = np.array([math.nan if v is None else float(v) for v in values])
        out[:, j] = values
    return out


def all_cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
