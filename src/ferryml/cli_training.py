"""``ferry train`` and ``ferry ui``: train the project's models, look at them in MLflow.

Registered on the main app by :mod:`ferryml.cli`; the work is in :mod:`ferryml.training`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ferryml.cli_common import (
    ConfigOption,
    SetOption,
    friendly_errors,
    load,
    open_project,
    out,
)
from ferryml.cli_features import DateOption

if TYPE_CHECKING:
    from ferryml.training.project import ProjectTraining


@friendly_errors
def train(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Train only this model of training.models (repeatable). Default: all.",
            show_default=False,
        ),
    ] = None,
    as_of: DateOption = None,
    register: Annotated[
        bool,
        typer.Option(
            "--register/--no-register",
            help="Register the best model as challenger (`ferry gate` and `ferry promote` make a "
            "champion).",
        ),
    ] = True,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary instead of tables.")
    ] = False,
    from_run: Annotated[
        str | None,
        typer.Option(
            "--from-run",
            help="Rebuild the model of this MLflow run from its recorded dataset, features, "
            "config and seed, and compare it with the original (exit 1 if it differs).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Train the project's models on its latest feature build and record them in MLflow.

    Splits by time (train, then validation, then test: the latest period), uses only labels
    known at the cutoff (--as-of, default: the last event) and leaves out events younger than
    training.label_maturity_days. The decision threshold minimizes expected cost on
    validation (training.costs); its cost on test is shown in money.

    Every model is an MLflow run with its parameters, metrics, plots and lineage tags (dataset,
    feature set, git commit, lock file, config, seed). See them with [bold]ferry ui[/bold].

    With --from-run, the run's model is trained again from what the run recorded (the training
    set is rebuilt, not reused) and compared with the original: file hashes and test scores.

    Example: [bold]ferry train --model lightgbm --as-of 2025-12-31[/bold]
    """
    from ferryml.training.project import summary_json, train_project

    context = open_project(load(config, {}, set_))
    if from_run is not None:
        _reproduce(context, from_run)
        return
    as_of_utc = as_of.replace(tzinfo=UTC) if as_of and as_of.tzinfo is None else as_of
    with out.status("preparing the periods (labels known at the cutoff)…") as status:

        def progress(name: str) -> None:
            status.update(f"training {name} and logging it to MLflow…")

        training = train_project(
            context, as_of=as_of_utc, models=model, register=register, progress=progress
        )
    if json_output:
        out.print_json(summary_json(training))
        return
    print_training(training)


def _reproduce(context: Any, run_id: str) -> None:
    from ferryml.training.reproduce import reproduce_run

    with out.status(f"rebuilding the training set and the model of run {run_id}…"):
        reproduction = reproduce_run(context, run_id)
    rebuilt = reproduction.training.result.models[0]
    out.print(
        f"run {run_id} ({reproduction.model_name}) rebuilt as run {rebuilt.run_id}: model files "
        f"{reproduction.original_sha256[:12]}… vs {reproduction.rebuilt_sha256[:12]}…, largest "
        f"test score difference {reproduction.max_prediction_difference:.3g}"
    )
    if not reproduction.identical:
        out.print(
            "[bold red]not identical[/bold red]: compare the runs' ferryml.lock_sha256 and "
            "ferryml.git_sha tags (other library versions or code give other models)"
        )
        raise typer.Exit(1)
    out.print("[green]✓[/green] identical: same model files, same scores")


def run_process_group(command: list[str]) -> int:
    """Run ``command`` in a process group of its own and wait for it; whatever ends this
    process (Ctrl-C, SIGTERM) stops the whole group. MLflow's server starts job runners and
    task consumers that outlive a server killed alone (each ~270 MB): they must go with it."""
    process = subprocess.Popen(command, start_new_session=True)

    def stop_group(*_: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def on_term(*_: object) -> None:
        stop_group()
        sys.exit(0)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_group()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the consumers the server left behind
        signal.signal(signal.SIGTERM, previous)


def print_training(training: ProjectTraining) -> None:
    """What a training did: periods, rows, each model's metrics and cost, the registration."""
    prepared, result = training.prepared, training.result
    split = prepared.split.describe()
    summary = prepared.summary()
    out.print(
        f"[bold]periods[/bold] train from {split['train_from'][:10]}, validation from "
        f"{split['validation_from'][:10]}, test {split['test_from'][:10]} to "
        f"{split['test_until'][:10]}; labels known at {split['label_cutoff'][:10]}; "
        f"{summary['excluded_young_events']:,} younger events left out (labels may still arrive)"
    )
    out.print(
        f"[bold]rows[/bold] train {summary['train_rows']:,} ({summary['train_positives']:,} "
        f"positive), validation {summary['validation_rows']:,} "
        f"({summary['validation_positives']:,}), test {summary['test_rows']:,} "
        f"({summary['test_positives']:,}); positives weighted x{summary['positive_weight']:.1f}"
    )
    currency = training.currency
    best = result.best
    table = Table(
        title=f"models: best on validation {result.primary_metric} is {best.name}; costs on "
        f"test in {currency} at each model's validation threshold",
    )
    table.add_column("model", no_wrap=True)
    for column in ("PR-AUC val", "PR-AUC test", f"recall@{best.test.fixed_fpr:.0%}FPR"):
        table.add_column(column, justify="right")
    for column in ("threshold", "cost", "cost if none blocked"):
        table.add_column(column, justify="right")
    for m in result.models:
        table.add_row(
            ("* " if m is best else "") + m.name,
            f"{m.validation.pr_auc:.3f}",
            f"{m.test.pr_auc:.3f}",
            f"{m.test.recall_at_fpr:.3f}",
            f"{m.threshold.threshold:.4f}",
            f"{m.test_at_threshold.expected_cost:,.0f}",
            f"{m.test_at_threshold.cost_block_nothing:,.0f}",
        )
    out.print(table)
    for warning in prepared.warnings:
        out.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    incomplete = [p for p in prepared.completeness if (p.completeness or 1.0) < 0.999]
    if incomplete:
        worst = min(incomplete, key=lambda p: p.completeness or 1.0)
        out.print(
            f"[bold]labels[/bold] {len(incomplete)} week(s) with positives still to arrive at "
            f"the cutoff (lowest: {worst.completeness:.0%}); per week in the run's "
            "data/labels.json"
        )
    if training.registered is not None:
        out.print(
            f"registered [bold]{training.registered.name}[/bold] version "
            f"{training.registered.version} as [bold]{training.alias}[/bold] "
            f"(sha256 {training.registered.sha256[:12]}…)"
        )
    if training.report is not None:
        out.print(f"report: {training.report}", soft_wrap=True)
    out.print(f"MLflow: {training.tracking_uri} — browse with [bold]ferry ui[/bold]")


@friendly_errors
def ui(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 5000,
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 to share).")] = "127.0.0.1",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (one is plenty for one user).")
    ] = 1,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Start the MLflow UI on the project's tracking backend (Ctrl-C stops it).

    Example: [bold]ferry ui --port 5001[/bold], then open http://127.0.0.1:5001
    """
    from ferryml.training.project import tracker_for

    context = open_project(load(config, {}, set_), create=False)
    tracker = tracker_for(context.loaded, context.workspace.root)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracker.uri,
        "--default-artifact-root",
        tracker.artifact_root.absolute().as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    out.print(f"MLflow UI on http://{host}:{port} for {tracker.uri} (Ctrl-C stops it)")
    started = datetime.now(UTC)
    code = run_process_group(command)
    if code:
        ran = datetime.now(UTC) - started
        out.print(f"[red]the MLflow UI stopped with code {code}[/red] after {ran}")
        raise typer.Exit(code)


__all__ = ["print_training", "train", "ui"]
