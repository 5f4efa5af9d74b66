"""``ferry batch score`` as a function: resolve the model, check the input, run an engine,
record the run on the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ferryml.batch.local import BatchResult, Progress, all_cores, score_local
from ferryml.batch.source import open_input
from ferryml.errors import InvalidInputError
from ferryml.pipeline import current_actor
from ferryml.registered import load_registered

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

Engine = Literal["local", "spark"]


def model_reference(project_model: str, reference: str) -> str:
    """The alias or version of ``NAME@ALIAS``, ``NAME@VERSION``, ``ALIAS`` or ``VERSION``,
    checking that a given name is the project's model."""
    name, at, what = reference.rpartition("@")
    if at and name != project_model:
        raise InvalidInputError(
            f"--model {reference!r}: this project's model is {project_model!r}",
            hint=f"use {project_model}@champion, an alias, or a version number",
        )
    if not what:
        raise InvalidInputError(
            f"--model {reference!r} names no alias or version",
            hint=f"use {project_model}@champion, an alias, or a version number",
        )
    return what


def score_batch(
    context: ProjectContext,
    inputs: Sequence[Path],
    output: Path,
    *,
    model: str = "champion",
    engine: Engine | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    spark: Any = None,
) -> BatchResult:
    """Score ``inputs`` (Parquet) with ``model`` into ``output``; the engine defaults to the
    config's ``batch.engine``. ``spark``: a session to use (default: one from ``batch.spark``).
    """
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    loaded, root = context.loaded, context.workspace.root
    settings = loaded.config.batch
    engine = engine or settings.engine
    registry = ModelRegistry(tracker_for(loaded, root), loaded.config.project.name)
    reference = model_reference(registry.name, model)
    threads = all_cores() if engine == "local" else 1  # Spark parallelizes by task
    registered = load_registered(loaded, root, registry, reference, threads=threads)
    source = open_input(registered.feature_set, inputs)  # before anything is written
    if engine == "spark":
        from ferryml.batch.spark import score_spark
        from ferryml.spark import spark_session

        session = spark or spark_session(settings.spark.master, conf=dict(settings.spark.conf))
        result = score_spark(
            session, registered, source, output, overwrite=overwrite, progress=progress
        )
    else:
        result = score_local(
            registered,
            source,
            output,
            chunk_rows=settings.chunk_rows,
            overwrite=overwrite,
            progress=progress,
        )
    manifest = result.manifest
    context.audit.append(
        current_actor(),
        "batch.score",
        f"{registered.name}@{registered.version}",
        {
            "engine": engine,
            "input_sha256": source.sha256,
            "output": str(output),
            "rows": manifest["output"]["rows"],
            "decisions": manifest["output"]["decisions"],
            "resumed_chunks": result.chunks_resumed,
        },
    )
    return result
