"""``ferry serve``: the scoring API on uvicorn.

Registered on the main app by :mod:`ferryml.cli`; the work is in :mod:`ferryml.serving`.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

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


@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (serving.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (serving.port).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (serving.workers).", min=1, max=64)
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Serve the champion over HTTP: POST /v1/score answers in milliseconds.

    Each request's raw fields go through the same feature code as training (online store and
    window state), the model, and the business threshold; the answer carries the score, the
    decision, the reasons for a block, the model version and the time each step took. Every
    answer is written to the prediction log before it is sent, then shipped to the platform
    DB. If the online store fails, scoring goes on with default features (degraded: true).

    Endpoints: POST /v1/score, POST /v1/score/batch, POST /v1/labels, GET /v1/models,
    GET /health/live, GET /health/ready; the OpenAPI document at /docs.

    Example: [bold]ferry serve --port 8000[/bold], then
    [bold]curl -X POST localhost:8000/v1/score -d @transaction.json[/bold]
    """

    overrides = {
        key: value
        for key, value in (
            ("serving.host", host),
            ("serving.port", port),
            ("serving.workers", workers),
        )
        if value is not None
    }
    loaded = load(config, overrides, set_)
    context = open_project(loaded, create=False)
    # Every worker writes its metrics here, and /metrics sums them (a fresh directory per
    # start). Set before the serving modules are imported: their metrics choose between
    # memory and files then (see ferryml.serving.metrics).
    metrics_dir = context.workspace.root / loaded.config.serving.metrics_directory
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    for name in ("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROCESS_DIR"):  # Feast: the 2nd
        os.environ[name] = str(metrics_dir)

    import uvicorn

    from ferryml.registry import ModelRegistry
    from ferryml.serving.app import CONFIG_ENV, SETS_ENV
    from ferryml.training.project import tracker_for

    settings = loaded.config.serving
    registry = ModelRegistry(tracker_for(loaded, context.workspace.root), context.workspace.project)
    served = registry.get(settings.model_alias)  # a named error now, not in every worker
    source = Path(loaded.source)
    if source.is_file():  # workers load the same file; else the embedded default
        os.environ[CONFIG_ENV] = str(source.resolve())
    else:
        os.environ.pop(CONFIG_ENV, None)
    os.environ[SETS_ENV] = "\n".join(
        [*(set_ or []), *(f"{key}={value}" for key, value in overrides.items())]
    )
    out.print(
        f"serving {served.name} v{served.version} ({settings.model_alias}) on "
        f"http://{settings.host}:{settings.port} with {settings.workers} worker(s)"
    )
    uvicorn.run(
        "ferryml.serving.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
    )


labels_app = typer.Typer(help="Delayed outcomes (chargebacks) for served predictions.")


@labels_app.command("ingest")
@friendly_errors
def ingest_labels(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet with columns event_id, label (0/1) and label_time (ISO 8601 "
            "with a zone; optional: default now)."
        ),
    ],
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Record delayed labels, idempotently: an event's first label stays, repeats change nothing.

    Every row is checked first; one bad row refuses the whole file and nothing is written.

    Example: [bold]ferry labels ingest chargebacks-2025-12.csv[/bold]
    """
    from ferryml.pipeline import current_actor
    from ferryml.serving.labels import read_label_file
    from ferryml.serving.service import insert_labels

    context = open_project(load(config, {}, set_), create=False)
    rows = read_label_file(path, project=context.workspace.project, now=context.clock.now())
    new = insert_labels(context.engine, rows)
    context.audit.append(
        current_actor(), "labels.ingest", path.name, {"rows": len(rows), "new": new}
    )
    out.print(
        f"[green]✓[/green] {len(rows):,} labels read, {new:,} new ({len(rows) - new:,} known)"
    )


@friendly_errors
def simulate(
    url: Annotated[
        str | None,
        typer.Option(help="The API to drive. Default: http://serving.host:serving.port."),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="DATASET or DATASET@VERSION (default: latest).")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Replay the period of one of the generator's drift scenarios "
            "(holiday_season, new_fraud_pattern, …; those in effect in data.synth).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="Replay from this UTC time on.",
            show_default=False,
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --scenario or --from: the first N days from there; alone: the last N "
            "days of the data.",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many events.")] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Event time per wall time (3600: an hour per second). "
            "Default: as fast as the server answers.",
        ),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            min=1,
            max=1000,
            help="Events per call: 1 posts each to /v1/score, more post them together to "
            "/v1/score/batch (each still routed, scored and logged on its own).",
        ),
    ] = 1,
    labels: Annotated[
        bool, typer.Option("--labels/--no-labels", help="Post delayed labels as they arrive.")
    ] = True,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Replay stored transactions through the scoring API, in event-time order.

    Each event is scored with its own event time; each delayed label (a chargeback) is
    posted to /v1/labels once the replay has passed the moment it arrived. The prediction log
    then holds real traffic for monitoring. --url drives a server on another host.

    Examples: [bold]ferry simulate --days 7 --speed 3600[/bold] (the last week, an hour per
    second); [bold]ferry simulate --scenario holiday_season --days 14 --batch 50[/bold] (the
    season's first two weeks, as fast as the server answers);
    [bold]ferry simulate --url http://scoring.internal:8000 --from 2025-12-01[/bold]
    """
    import httpx2 as httpx
    import pyarrow.compute as pc

    from ferryml.features.build import read_events
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.pipeline import resolve_version
    from ferryml.serving.request import RequestFields
    from ferryml.serving.simulate import replay, scenario_period, select_period

    loaded = load(config, {}, set_)
    context = open_project(loaded, create=False)
    settings = loaded.config.serving
    schema = loaded.config.schema_
    store = ProjectFeatureStore(loaded, context.workspace.root)
    names = loaded.config.data.sources
    version = resolve_version(context, dataset or (next(iter(names)) if len(names) == 1 else ""))
    table = read_events(store.feature_set, version.path)
    time_field = schema.columns_with_role("event_time")[0]
    first = start.replace(tzinfo=start.tzinfo or UTC) if start is not None else None
    end = None
    if scenario is not None:
        scenario_start, end = scenario_period(loaded.config.data.synth, scenario)
        first = max(first, scenario_start) if first is not None else scenario_start
    if days is not None and first is not None:
        end = min(end, first + timedelta(days=days)) if end else first + timedelta(days=days)
    elif days is not None and table.num_rows:
        first = pc.max(table.column(time_field)).as_py() - timedelta(days=days)
        first += timedelta(microseconds=1)  # the last N days: (last - N days, last]
    table = select_period(table, time_field, start=first, end=end, limit=limit)
    fields = RequestFields.of(schema, store.feature_set.event_columns)
    label = schema.columns_with_role("label")
    label_time = schema.columns_with_role("label_time")
    target = url or f"http://{settings.host}:{settings.port}"
    out.print(f"replaying {table.num_rows:,} events of {version.ref} to {target}")
    with httpx.Client(base_url=target, timeout=30) as client, progress_bar("scoring") as bar:
        stats = replay(
            client,
            table.to_pylist(),
            fields=fields.names,
            time_field=time_field,
            id_field=fields.id_field,
            label_field=label[0] if labels and label else None,
            label_time_field=label_time[0] if labels and label_time else None,
            speed=speed,
            batch=batch,
            progress=lambda done: bar(done, table.num_rows),
        )
    out.print(
        f"[green]✓[/green] {stats.answered:,} answered ({stats.blocked:,} blocked, "
        f"{stats.degraded:,} degraded), {stats.refused:,} refused, {stats.failed:,} failed; "
        f"{stats.labels_sent:,} labels sent ({stats.labels_new:,} new), "
        f"{stats.labels_pending:,} arrive after the replay"
    )
    if stats.failed:
        raise typer.Exit(1)


__all__ = ["ingest_labels", "labels_app", "serve", "simulate"]


ab_app = typer.Typer(help="A/B tests between the champion and a challenger.")


@ab_app.command("report")
@friendly_errors
def ab_report(
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="UTC start of the test. Default: when the running `ab` routing was set.",
            show_default=False,
        ),
    ] = None,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Level of the confidence intervals.")
    ] = 0.95,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 2000,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Each arm's business outcome once its labels have matured, and the challenger's effect
    (challenger minus champion) with a bootstrap confidence interval.

    Outcomes are counted as training counts them: events older than
    training.label_maturity_days, a fraud when its chargeback arrived, costs from
    training.costs.

    Example: [bold]ferry ab report --since 2026-01-05[/bold]
    """
    import json

    from rich.table import Table

    from ferryml.errors import InvalidInputError
    from ferryml.serving.experiment import experiment_report
    from ferryml.serving.follower import ROUTING
    from ferryml.serving.state import SharedState

    loaded = load(config, {}, set_)
    context = open_project(loaded, create=False)
    engine = context.engine
    project = context.workspace.project
    if since is None:
        _, routing, changed = SharedState(engine, project).read_dated(ROUTING)
        if not isinstance(routing, dict) or routing.get("strategy") != "ab" or changed is None:
            raise InvalidInputError(
                "no A/B test is running: say when the test started",
                hint="ferry ab report --since 2026-01-05",
            )
        since = changed
    training = loaded.config.training
    report = experiment_report(
        engine,
        project,
        training.costs,
        since=since if since.tzinfo else since.replace(tzinfo=UTC),
        cutoff=context.clock.now(),
        maturity_days=training.label_maturity_days,
        confidence=confidence,
        resamples=resamples,
    )
    if json_output:
        out.print_json(json.dumps(report.as_dict()))
        return
    currency = report.currency
    arms = Table(title=f"A/B outcomes since {report.since:%Y-%m-%d %H:%M} (matured events)")
    for column in ("arm", "versions", "requests", "approved", "fraud rate", "frauds blocked"):
        arms.add_column(column, justify="left" if column in ("arm", "versions") else "right")
    arms.add_column(f"cost / 1,000 ({currency})", justify="right")
    for arm in report.arms:
        blocked = "-" if arm.frauds_blocked is None else f"{arm.frauds_blocked:.1%}"
        arms.add_row(
            arm.arm,
            ", ".join(arm.versions),
            f"{arm.requests:,}",
            f"{arm.approval_rate:.2%}",
            f"{arm.fraud_rate:.2%}",
            blocked,
            f"{arm.cost_per_1000:,.2f}",
        )
    out.print(arms)
    for effect in report.effects:
        verdict = "[bold]significant[/bold]" if effect.significant else "not significant"
        out.print(
            f"challenger - champion, {effect.metric}: {effect.difference:+,.4g} "
            f"({effect.confidence:.0%} CI {effect.low:+,.4g} … {effect.high:+,.4g}): {verdict}"
        )
    out.print(
        f"[dim]{report.not_matured:,} answers younger than the label maturity left out; "
        f"{report.costed_by_default:,} frauds costed at training.costs.false_negative[/dim]"
    )
