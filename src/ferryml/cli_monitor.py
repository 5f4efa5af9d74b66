"""``ferry monitor``: production traffic against the model's baseline (registered on the main
app by :mod:`ferryml.cli`; the work is in :mod:`ferryml.monitoring`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ferryml.cli_common import ConfigOption, SetOption, friendly_errors, load, open_project, out

if TYPE_CHECKING:
    from ferryml.monitoring.project import MonitorRun
    from ferryml.pipeline import ProjectContext

monitor_app = typer.Typer(
    help="Monitoring: data, prediction, label and concept drift, performance, business KPIs.",
    no_args_is_help=True,
)

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]
ModelOption = Annotated[
    str, typer.Option(help="NAME@ALIAS, NAME@VERSION, an alias or a version number.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Directory for the report (default: reports/monitoring).",
        show_default=False,
    ),
]  # fmt: skip


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
    model: ModelOption = "champion",
    cutoff: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            help="Count the labels that had arrived by then (default: now, by the project's "
            "clock).",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
    notify: Annotated[
        bool,
        typer.Option(help="Send alerts not sent before to monitoring.alerts.webhook."),
    ] = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Cut the answers logged between --from and --to into windows (monitoring.windows) and
    compare each with the model's baseline: data drift per feature (against its training
    data, the same weekdays when a window is shorter than a week), prediction drift (against
    its held-out scores), label drift and performance on the labels that have come in (with
    label completeness; a PR-AUC drop with stable inputs is concept drift), and business KPIs
    (approval rate, blocks per day, fraud loss, false-positive cost). Alert rules
    (monitoring.alerts.rules) are checked on every window.

    Writes an HTML page with figures and a JSON file with every number.

    Example: [bold]ferry monitor report --from 2025-12-01 --to 2026-01-01[/bold]
    """
    from ferryml.monitoring.project import monitor_project

    context = open_project(load(config, {}, set_), create=False)
    run = monitor_project(context, start=from_, end=to, model=model, cutoff=cutoff)
    _finish(context, run, output, notify=notify, gauges=None)


@monitor_app.command("run")
@friendly_errors
def run_job(
    windows: Annotated[
        int, typer.Option(min=1, max=52, help="Whole windows to judge, the latest last.")
    ] = 1,
    model: ModelOption = "champion",
    as_of: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            help="Judge as if it were then (a backfill, a replay): windows end at that day, "
            "labels count by then. Default: now, by the project's clock.",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
    prometheus_file: Annotated[
        Path | None,
        typer.Option(
            help="Write the latest window's gauges here (Prometheus text format, for "
            "node_exporter's textfile collector).",
            show_default=False,
        ),
    ] = None,
    pushgateway: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Push the latest window's gauges to this Prometheus Pushgateway (job "
            "ferry-monitor, grouped by project), e.g. http://pushgateway:9091.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """The monitor job, for cron or a Kubernetes CronJob: judge the last whole windows up to
    today (UTC midnight, by the project's clock), deliver alerts (the log, and the webhook
    once per alert), write the report and the gauges: to a file with --prometheus-file, to a
    Pushgateway with --pushgateway. When alerts ask for retraining and
    monitoring.retraining.enabled, train on the latest feature build, gate, and enter the best
    passing model as challenger (never champion). A gateway that does not answer fails the
    command after everything else is done.

    Example: [bold]ferry monitor run --pushgateway http://pushgateway:9091[/bold]
    """
    from ferryml.monitoring.project import last_windows, monitor_project

    context = open_project(load(config, {}, set_), create=False)
    days = context.loaded.config.monitoring.windows.days
    now = context.clock.now() if as_of is None else as_of.replace(tzinfo=as_of.tzinfo or UTC)
    start, end = last_windows(now, days, windows)
    run = monitor_project(context, start=start, end=end, model=model, cutoff=now)
    _finish(
        context,
        run,
        output,
        notify=True,
        gauges=prometheus_file,
        pushgateway=pushgateway,
        retrain_at=now,
    )


def _finish(
    context: ProjectContext,
    run: MonitorRun,
    output: Path | None,
    *,
    notify: bool,
    gauges: Path | None,
    pushgateway: str | None = None,
    retrain_at: datetime | None = None,
) -> None:
    """Write the report (and gauges), print the windows and alerts, push the gauges, then
    deliver alerts and retrain: a webhook that fails fails the command after everything
    before it is written, a Pushgateway that fails fails it after everything else is done."""
    from ferryml.errors import FerryError
    from ferryml.monitoring.gauges import monitor_gauges, push_gauges, write_gauges
    from ferryml.monitoring.project import deliver, report_directory, report_stem
    from ferryml.monitoring.report import write_monitor_report

    report = run.report
    directory = output or report_directory(context)
    html, json_path = write_monitor_report(
        report, directory, context.workspace.project, report_stem(report), run.alerts
    )
    for window in report.windows:
        period = window.window.describe()
        found = "; ".join(window.findings) or "[green]nothing moved[/green]"
        out.print(f"{period['from'][:10]} to {period['until'][:10]}  {window.rows:>7,}  {found}")
    if not report.windows:
        out.print("[yellow]no window fits in the period[/yellow]: make it at least "
                  "monitoring.windows.days long")  # fmt: skip
    for alert in run.alerts:
        out.print(f"[red]ALERT[/red] {escape(f'[{alert.severity}]')} {alert.rule} "
                  f"{alert.window['from'][:10]}: {escape(alert.message)}")  # fmt: skip
    retrain = sorted({alert.rule for alert in run.alerts if alert.retrain})
    if retrain and retrain_at is None:
        out.print(f"[yellow]rules {', '.join(retrain)} ask for retraining[/yellow]: `ferry "
                  "monitor run` retrains when monitoring.retraining.enabled")  # fmt: skip
    out.print(f"  → {html}\n  → {json_path}")
    wanted = gauges is not None or pushgateway is not None
    registry = monitor_gauges(report, run.alerts) if wanted else None
    if gauges is not None and registry is not None:
        write_gauges(gauges, registry)
        out.print(f"  → {gauges}")
    push_failed: FerryError | None = None
    if pushgateway is not None and registry is not None:
        try:
            push_gauges(pushgateway, registry, project=context.workspace.project)
            out.print(f"  → {pushgateway} (job ferry-monitor)")
        except FerryError as exc:  # alerts and retraining matter more: do them first
            out.print(f"[red]gauges not pushed[/red]: {escape(exc.message)}")
            push_failed = exc
    if notify:
        webhook = context.loaded.config.monitoring.alerts.webhook
        sent = deliver(context.engine, context.workspace.project, webhook, run)
        if sent:
            out.print(f"{len(sent)} alert(s) sent to the webhook")
    if retrain_at is not None:
        _retrain(context, run, retrain_at)
    if push_failed is not None:
        raise push_failed


def _retrain(context: ProjectContext, run: MonitorRun, now: datetime) -> None:
    from ferryml.monitoring.retraining import retrain_if_asked

    with out.status("retraining: train, gate, enter the best as challenger") as status:
        done = retrain_if_asked(
            context, run.alerts, now=now, progress=lambda step: status.update(f"retraining: {step}")
        )
    if done is None:
        return
    asked = ", ".join(done.asked_by)
    if done.skipped is not None:
        out.print(f"[yellow]retraining asked by {asked}, not run[/yellow]: {done.skipped}")
    elif done.challenger is not None:
        out.print(f"[green]✓[/green] retrained ({len(done.runs)} runs, asked by {asked}): "
                  f"version {done.challenger} entered as challenger; shadow, canary or A/B "
                  "decide whether it replaces the champion")  # fmt: skip
    else:
        failed = "; ".join(f"{k}: {', '.join(v)}" for k, v in done.failed_gates.items())
        out.print(f"[yellow]retrained ({len(done.runs)} runs, asked by {asked}), no candidate "
                  f"passed the gates[/yellow] ({failed}); the champion stays")  # fmt: skip
