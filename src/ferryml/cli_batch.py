"""``ferry batch``: score many records at once (registered on the main app by :mod:`ferryml.cli`;
the work is in :mod:`ferryml.batch`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from ferryml.cli_common import (
    ConfigOption,
    SetOption,
    friendly_errors,
    load,
    open_project,
    out,
    progress_bar,
)

batch_app = typer.Typer(
    help="Batch scoring: many records at once, the same answers as online.",
    no_args_is_help=True,
)


@batch_app.command("score")
@friendly_errors
def score(
    input_: Annotated[
        list[Path],
        typer.Option(
            "--input",
            "-i",
            help="Parquet file or directory of them (repeatable): raw events with the schema's "
            "columns, labels not needed.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Directory for the scores: Parquet partitioned by event_date, _manifest.json.",
            show_default=False,
        ),
    ],
    model: Annotated[
        str, typer.Option(help="NAME@ALIAS, NAME@VERSION, an alias or a version number.")
    ] = "champion",
    engine: Annotated[
        str | None, typer.Option(help="local or spark (default: batch.engine).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the output of another batch run in --output.")
    ] = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Score Parquet records with a registered model: features from the same code as training
    and serving, the model, the business threshold, written as Parquet partitioned by
    event date with a manifest (model version, input hash, counts).

    The input is checked before anything is written: a missing column or a wrong type stops
    the run with the file and column named. Runs are idempotent and resumable: a run killed
    midway finishes on rerun (same command) without duplicates or gaps; a finished run is
    not redone.

    Window features (velocity) are computed over the input's own events: include the
    look-back period (up to the longest window) in the input for full values.

    Example: [bold]ferry batch score -i data/new/ -o scores/2025-12-01 --model fraud@champion[/bold]

    Periodic runs: docs/batch.md has a cron line and a Kubernetes CronJob.
    """
    from ferryml.batch.run import score_batch

    if engine not in (None, "local", "spark"):
        raise typer.BadParameter(f"{engine!r}: use local or spark", param_hint="--engine")
    chosen: Literal["local", "spark"] | None = engine  # type: ignore[assignment]
    context = open_project(load(config, {}, set_), create=False)
    with progress_bar("scoring chunks") as progress:
        result = score_batch(
            context,
            input_,
            output,
            model=model,
            engine=chosen,
            overwrite=overwrite,
            progress=progress,
        )
    manifest = result.manifest
    counts = manifest["output"]
    decisions = ", ".join(f"{n:,} {d}" for d, n in sorted(counts["decisions"].items()))
    resumed = f", {result.chunks_resumed} resumed" if result.chunks_resumed else ""
    model_info = manifest["model"]
    out.print(
        f"[green]✓[/green] {counts['rows']:,} rows scored by {model_info['name']} "
        f"v{model_info['version']} ({manifest['engine']} engine{resumed}): {decisions}"
    )
    out.print(f"  → {result.output} (manifest: {result.output / '_manifest.json'})")
