"""``ferry monitor``: production traffic against the model's baseline (registered on the main
app by :mod:`ferryml.cli`; the work is in :mod:`ferryml.monitoring`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ferryml.cli_common import ConfigOption, SetOption, friendly_errors, load, open_project, out

monitor_app = typer.Typer(
    help="Monitoring: data, prediction, label and concept drift, performance, business KPIs.",
    no_args_is_help=True,
)

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]


@monitor_app.command("report")
@friendly_errors
def report(
    from_: Annotated[
        datetime,
        typer.Option(
            "--from",
            formats=DATE_FORMATS,
            help="UTC start of the traffic (event time).",
            show_default=False,
        ),
    ],
    to: Annotated[
        datetime,
        typer.Option(
            "--to",
            formats=DATE_FORMATS,
            help="UTC end of the traffic, excluded.",
            show_default=False,
        ),
    ],
    model: Annotated[
        str, typer.Option(help="NAME@ALIAS, NAME@VERSION, an alias or a version number.")
    ] = "champion",
    cutoff: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            help="Count the labels that had arrived by then (default: now, by the project's "
            "clock).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Directory for the report (default: reports/monitoring).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Cut the answers logged between --from and --to into windows (monitoring.windows) and
    compare each with the model's baseline: data drift per feature (against its training
    data, the same weekdays when a window is shorter than a week), prediction drift (against
    its held-out scores), label drift and performance on the labels that have come in (with
    label completeness; a PR-AUC drop with stable inputs is concept drift), and business KPIs
    (approval rate, blocks per day, fraud loss, false-positive cost).

    Writes an HTML page with figures and a JSON file with every number.

    Example: [bold]ferry monitor report --from 2025-12-01 --to 2026-01-01[/bold]
    """
    from ferryml.monitoring.project import monitor_project, report_directory, report_stem
    from ferryml.monitoring.report import write_monitor_report

    context = open_project(load(config, {}, set_), create=False)
    result = monitor_project(context, start=from_, end=to, model=model, cutoff=cutoff)
    directory = output or report_directory(context)
    html, json_path = write_monitor_report(
        result, directory, context.workspace.project, report_stem(result)
    )
    for window in result.windows:
        period = window.window.describe()
        found = "; ".join(window.findings) or "[green]nothing moved[/green]"
        out.print(f"{period['from'][:10]} to {period['until'][:10]}  {window.rows:>7,}  {found}")
    if not result.windows:
        out.print("[yellow]no window fits in the period[/yellow]: make it at least "
                  "monitoring.windows.days long")  # fmt: skip
    out.print(f"  → {html}\n  → {json_path}")
