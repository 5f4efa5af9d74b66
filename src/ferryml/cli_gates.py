"""``ferry gate`` and ``ferry promote``: judge candidates, then promote one that passed.

Registered on the main app by :mod:`ferryml.cli`; the work is in :mod:`ferryml.evaluation`.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import TYPE_CHECKING, Annotated

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
    from ferryml.evaluation.project import GateSession


MARK = {"passed": "[green]✓[/]", "failed": "[bold red]✗[/]", "skipped": "[dim]-[/]"}
SHORT = {
    "quality": "qual",
    "edge_cases": "edge",
    "fairness": "fair",
    "latency": "speed",
    "champion": "champ",
}


@friendly_errors
def gate(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="MLflow run ids of candidates (`ferry train --json` prints them).",
            show_default=False,
        ),
    ] = None,
    training: Annotated[
        str | None,
        typer.Option(
            "--training",
            "-t",
            help="Gate every model of this training (its training_id) and rank them.",
            show_default=False,
        ),
    ] = None,
    as_of: DateOption = None,
    promote_best: Annotated[
        bool,
        typer.Option("--promote", help="Promote the best candidate that passed to champion."),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the verdicts as JSON instead of tables.")
    ] = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Judge candidate models before they may reach production.

    Every enabled gate of the config's `gates` section runs on the latest held-out period
    whose labels have matured (the training's label rules), for each candidate:

      quality     ROC-AUC, PR-AUC, recall at a fixed FPR, precision/recall/cost at its threshold
      latency     single-row p50/p95/p99 and batch throughput, measured here, vs the champion
      fairness    false-positive rate, recall, selection rate per segment (fairlearn)
      edge_cases  generated inputs (missing fields, extremes, unseen categories, new
                  customers, holiday and DST timestamps) through the online feature path
      champion    paired-bootstrap intervals of the metric deltas vs the current champion

    Reports (HTML with plots, and JSON) go to reports/gates/ and onto the run in MLflow; the
    run is tagged ferryml.gates=passed|failed. Exit code 1 when no candidate passed.

    Examples: [bold]ferry gate 3f2a…[/bold],
    [bold]ferry gate --training 1a2b3c4d5e6f --promote[/bold]
    """
    from ferryml.evaluation.project import gate_runs, training_runs
    from ferryml.evaluation.promotion import promote
    from ferryml.features.values import to_micros

    context = open_project(load(config, {}, set_))
    candidates = list(run_ids or [])
    if training is not None:
        candidates += training_runs(context, training)
    if not candidates:
        from ferryml.errors import InvalidInputError

        raise InvalidInputError(
            "name the runs to gate, or a training with --training",
            hint="`ferry train --json` prints the training_id and each model's run_id",
        )
    cutoff = None
    if as_of is not None:
        cutoff = to_micros(as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC))
    with out.status("loading the candidates and the held-out period…") as status:

        def progress(step: str) -> None:
            status.update(f"gating {step}…")

        session = gate_runs(context, candidates, cutoff_us=cutoff, progress=progress)
    promoted = None
    if promote_best and session.best is not None and session.best.candidate.run_id:
        promoted = promote(context, session.best.candidate.run_id)
    if json_output:
        out.print_json(
            json.dumps(
                {
                    "candidates": [
                        {
                            **{k: v for k, v in r.as_dict().items() if k != "gates"},
                            "gates": {g.gate: g.status for g in r.results},
                            "report": str(session.paths[r.candidate.run_id or ""][0]),
                        }
                        for r in session.reports
                    ],
                    "best": session.best.candidate.run_id if session.best else None,
                    "promoted": promoted.version if promoted else None,
                },
                default=str,
            )
        )
    else:
        print_session(session)
        if promoted is not None:
            out.print(f"[green]✓[/green] promoted to champion: {promoted.name} v{promoted.version}")
    if session.best is None:
        raise typer.Exit(1)


def print_session(session: GateSession) -> None:
    """One table: a row per candidate, a column per gate; then the failed checks."""
    first = session.reports[0]
    held = first.held_out
    out.print(
        f"[bold]held-out period[/bold] {held['from'][:10]} to {held['until'][:10]}: "
        f"{held['rows']:,} events, {held['positives']:,} positives known at "
        f"{held['label_cutoff'][:10]}; champion: "
        f"{first.champion.label if first.champion else 'none yet'}"
    )
    table = Table(title=f"gates, ranked on {first.primary_metric} (✓ passed, ✗ failed, - skipped)")
    table.add_column("candidate", no_wrap=True)
    table.add_column(first.primary_metric, justify="right")
    for result in first.results:
        table.add_column(SHORT.get(result.gate, result.gate), justify="center")
    table.add_column("verdict", no_wrap=True)
    for report in session.reports:
        table.add_row(
            report.candidate.label,
            f"{report.metrics[report.primary_metric]:.3f}",
            *(MARK[r.status] for r in report.results),
            "[green]passed[/]" if report.passed else "[bold red]failed[/]",
        )
    out.print(table)
    for report in session.reports:
        for result in report.results:
            for check in result.failures:
                value = "—" if check.value is None else f"{check.value:.4g}"
                out.print(
                    f"  [red]✗[/red] {report.candidate.label} {result.gate}: {check.name} = "
                    f"{value} (limit {check.limit}) {check.note}",
                    soft_wrap=True,
                )
        out.print(f"  report: {session.paths[report.candidate.run_id or ''][0]}", soft_wrap=True)
    best = session.best
    if best is None:
        out.print("[bold red]no candidate passed every gate: nothing may be promoted[/bold red]")
    else:
        out.print(
            f"best passing: [bold]{best.candidate.label}[/bold] "
            f"(`ferry promote {best.candidate.run_id}`)"
        )


@friendly_errors
def promote(
    run_id: Annotated[str, typer.Argument(help="The MLflow run id of the model to promote.")],
    override_reason: Annotated[
        str | None,
        typer.Option(
            "--override-reason",
            help="Promote although its gates did not pass (or never ran): why, in words. "
            "Recorded on the model version and the audit trail.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Make a gated model the champion (registering it if needed).

    Refused unless the run's gates passed against the current champion; with
    --override-reason the promotion happens anyway and the reason is kept on the model
    version (ferryml.promotion_override) and on the audit trail.

    Example: [bold]ferry promote 3f2a… [/bold]
    """
    from ferryml.evaluation.promotion import promote as promote_run

    context = open_project(load(config, {}, set_))
    version = promote_run(context, run_id, override_reason=override_reason)
    note = " (override recorded)" if override_reason else ""
    out.print(f"[green]✓[/green] {version.name} v{version.version} is the champion{note}")


__all__ = ["gate", "print_session", "promote"]
