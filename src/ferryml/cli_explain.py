"""``ferry explain``: the explanation report of a registered model (registered on the main app
by :mod:`ferryml.cli`; the work is in :mod:`ferryml.explain`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from ferryml.cli_common import (
    ConfigOption,
    SetOption,
    err,
    friendly_errors,
    load,
    open_project,
    out,
)


@friendly_errors
def explain(
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="The registered version to explain: a number, an alias or NAME@VERSION "
            "(default: the champion).",
            show_default=False,
        ),
    ] = None,
    row: Annotated[
        list[str] | None,
        typer.Option(
            "--row",
            help="An event id of the model's held-out period to explain one by one "
            "(repeatable), besides the highest-scored and those nearest the threshold.",
            show_default=False,
        ),
    ] = None,
    rows: Annotated[
        int,
        typer.Option(
            "--rows",
            min=100,
            max=200_000,
            help="Held-out rows explained (a seeded sample when there are more).",
        ),
    ] = 2000,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the sample, LIME, permutations and the fitted trees (default: "
            "training.seed). The same seed gives the same report.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary instead of text.")
    ] = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Explain a registered model on the held-out rows it never trained on, and write an HTML
    report (with a JSON file of its numbers) to reports/explain/, attached to the model's
    MLflow run and recorded on the audit trail.

    The report holds SHAP (mean |SHAP| and a beeswarm; a waterfall per chosen row; in
    log-odds), LIME per chosen row (seeded: reproducible), permutation importance (drop in
    PR-AUC), partial dependence and ICE for the most influential features, one and two at a
    time (with a warning where they are correlated: PDP assumes independence), a surrogate tree
    with its fidelity to the model's decisions and its rules, and an EBM (the model's own terms
    when it is one; else a glass-box comparison with its AUC).

    Example: [bold]ferry explain --version 3 --row t000123 --seed 7[/bold]
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ferryml.explain.options import ExplainOptions
    from ferryml.explain.project import PROJECT_STAGES, explain_project

    context = open_project(load(config, {}, set_), create=False)
    options = ExplainOptions(rows=rows)
    with Progress(
        TextColumn("[bold]explain[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=json_output,
    ) as bar:
        task = bar.add_task(PROJECT_STAGES[0], total=len(PROJECT_STAGES))

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        run = explain_project(
            context, version=version, rows=row or (), seed=seed, options=options, progress=progress
        )
    if json_output:
        out.print_json(json.dumps(run.summary()))
        return
    e = run.explanation
    model = e.model
    out.print(
        f"[green]✓[/green] explained {escape(str(model.get('name', '')))} "
        f"v{model.get('version', '?')} ({model.get('kind')}) on {e.rows:,} held-out rows, "
        f"seed {e.seed}"
    )
    top = ", ".join(list(e.shap.mean_abs())[:5])
    out.print(f"  top features (mean |SHAP|, log-odds): {escape(top)}")
    surrogate = e.surrogate
    out.print(
        f"  surrogate tree fidelity: {surrogate.fidelity:.1%} "
        f"(always the most common decision: {surrogate.majority_agreement:.1%})"
    )
    if e.correlations:
        out.print(
            f"  [yellow]partial dependence caveat[/yellow]: {len(e.correlations)} correlated "
            "feature pair(s); see the report"
        )
    out.print(f"  local rows: {escape(', '.join(e.local_ids))}")
    out.print(f"  → {run.html}\n  → {run.json}")


__all__ = ["explain"]
