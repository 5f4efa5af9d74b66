"""The ``ferry`` command: one thin command per stage, no logic of its own.

Exit codes: 0 success; 1 a user error (a message without traceback, unless ``--debug``);
2 a usage error (unknown option, missing argument).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from ferryml import __version__
from ferryml.cli_audit import audit_app
from ferryml.cli_batch import batch_app
from ferryml.cli_common import (
    ConfigOption,
    SetOption,
    err,
    open_project,
    out,
    state,
)
from ferryml.cli_common import friendly_errors as _friendly_errors
from ferryml.cli_common import load as _load
from ferryml.cli_common import progress_bar as _progress_bar
from ferryml.cli_explain import explain as _explain
from ferryml.cli_features import features_app
from ferryml.cli_gates import gate as _gate
from ferryml.cli_gates import promote as _promote
from ferryml.cli_gdpr import gdpr_app
from ferryml.cli_governance import approve as _approve
from ferryml.cli_governance import card as _card
from ferryml.cli_governance import governance_app
from ferryml.cli_lineage import lineage_app
from ferryml.cli_monitor import monitor_app
from ferryml.cli_quickstart import quickstart as _quickstart
from ferryml.cli_serving import ab_app, labels_app
from ferryml.cli_serving import serve as _serve
from ferryml.cli_serving import simulate as _simulate
from ferryml.cli_training import train as _train
from ferryml.cli_training import ui as _ui

app = typer.Typer(
    name="ferry",
    help=(
        "ferryml carries a tabular model from raw data to a governed, monitored production "
        "service.\n\n"
        "[bold]Get started[/bold]\n\n"
        "  ferry quickstart              the lifecycle on embedded defaults, no setup\n\n"
        "  ferry init DIR                a workspace of your own, with a starter config\n\n"
        "  ferry generate -c DIR/configs/ferry.yaml   synthetic data for it\n\n"
        "Every command has --help with an example."
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
config_app = typer.Typer(help="Inspect and check project configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")
data_app = typer.Typer(help="List, show and compare dataset versions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.command("train")(_train)
app.command("ui")(_ui)
app.command("gate")(_gate)
app.command("promote")(_promote)
app.command("serve")(_serve)
app.command("simulate")(_simulate)
app.add_typer(labels_app, name="labels")
app.add_typer(ab_app, name="ab")
app.add_typer(batch_app, name="batch")
app.add_typer(monitor_app, name="monitor")
app.command("explain")(_explain)
app.command("quickstart")(_quickstart)
app.add_typer(lineage_app, name="lineage")
app.command("approve")(_approve)
app.command("card")(_card)
app.add_typer(governance_app, name="governance")
app.add_typer(gdpr_app, name="gdpr")


def _version(value: bool) -> None:
    if value:
        out.print(f"ferryml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    log_format: Annotated[
        str | None,
        typer.Option("--log-format", help="text or json (default: the config's logging.format)."),
    ] = None,
) -> None:
    state["debug"] = debug
    if log_format is not None and log_format not in ("text", "json"):
        raise typer.BadParameter("must be 'text' or 'json'", param_hint="--log-format")
    state["log_format"] = log_format


@app.command()
@_friendly_errors
def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create the workspace in.")],
    project: Annotated[
        str | None,
        typer.Option(
            help="Project name (namespace of everything it creates). Default: DIR's name."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Use a non-empty directory, overwrite its config.")
    ] = False,
    template: Annotated[
        str,
        typer.Option(help="Starter project: fraud (card payments) or churn (subscribers)."),
    ] = "fraud",
) -> None:
    """Lay out a workspace (data/raw, data/processed, data/models, configs, reports) with a
    starter config you can edit.

    Example: [bold]ferry init my-fraud && ferry generate -c my-fraud/configs/ferry.yaml[/bold]
    or [bold]ferry init my-churn --template churn[/bold]
    """
    from ferryml.pipeline import record_new_workspace
    from ferryml.workspace import write_starter_config

    name = project or _default_project_name(directory)
    config_path = write_starter_config(directory, name, force=force, template=template)
    context = open_project(_load(config_path, {}, None))
    record_new_workspace(context)
    out.print(
        f"[green]✓[/green] workspace for project [bold]{name}[/bold] in {context.workspace.root}"
    )
    out.print(f"  config: {config_path}")
    out.print(f"  next:   ferry generate --config {config_path}")


def _default_project_name(directory: Path) -> str:
    name = directory.resolve().name.lower().replace(" ", "-")
    return name if name[:1].isalpha() else f"p-{name}"


@app.command()
@_friendly_errors
def generate(
    config: ConfigOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output directory. Default: <paths.raw>/synth in the workspace."
        ),
    ] = None,
    days: Annotated[int | None, typer.Option(help="Days to generate (data.synth.days).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (data.synth.seed).")] = None,
    set_: SetOption = None,
) -> None:
    """Generate the synthetic data data.synth describes (kind fraud: card transactions with
    fraud patterns; kind churn: subscribers' weekly usage and cancellations), with the drift
    scenarios switched on in data.synth.scenarios, as day-partitioned Parquet plus a JSON
    manifest.

    Example: [bold]ferry generate --days 14 --seed 7 --set data.synth.start=2025-12-01[/bold]
    """
    from ferryml.pipeline import generate_data

    flags = {
        k: v for k, v in {"data.synth.days": days, "data.synth.seed": seed}.items() if v is not None
    }
    context = open_project(_load(config, flags, set_))
    with _progress_bar("generating days") as progress:
        manifest = generate_data(context, out_dir, progress)
    _print_manifest(manifest)


@app.command()
@_friendly_errors
def doctor(config: ConfigOption = None, set_: SetOption = None) -> None:
    """Check that the platform DB, Redis and Spark's prerequisites answer; exit 1 if one fails.

    Example: [bold]ferry doctor -c my-fraud/configs/ferry.yaml[/bold]
    """
    from ferryml.doctor import run_checks
    from ferryml.workspace import Workspace

    loaded = _load(config, {}, set_)
    checks = run_checks(Workspace.from_config(loaded))
    table = Table("check", "", "detail", title=f"ferry doctor: {loaded.source}")
    for check in checks:
        detail = check.detail if check.hint is None else f"{check.detail}\n[yellow]{check.hint}"
        table.add_row(check.name, "[green]ok" if check.ok else "[red]FAIL", detail)
    out.print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@app.command()
@_friendly_errors
def ingest(
    dataset: Annotated[
        str | None,
        typer.Argument(help="A dataset declared under data.sources (default: the only one)."),
    ] = None,
    config: ConfigOption = None,
    as_of: AsOfOption = None,
    set_: SetOption = None,
) -> None:
    """Read a declared source in chunks, typed by the schema, pseudonymize its PII columns,
    validate each chunk with the project's Great Expectations suite (warn rules quarantine
    rows, error rules reject the input) and publish an immutable, content-addressed dataset
    version. Ingesting identical input again returns the same version and writes nothing.

    Example: [bold]ferry ingest transactions -c my-fraud/configs/ferry.yaml[/bold]
    """
    from ferryml.pipeline import ingest_data

    context = open_project(_load(config, {}, set_))
    when = None if as_of is None else as_of.replace(tzinfo=UTC)
    with _progress_bar(f"ingesting {dataset or ''}".strip()) as progress:
        result = ingest_data(context, dataset, _rows_only(progress), as_of=when)
    _print_ingest(result)


def _print_failed_rules(summary: Any) -> None:
    table = Table("rule", "severity", "failed rows", title="rules that caught something")
    for rule in summary.rules:
        if rule.status == "failed":
            table.add_row(rule.rule, rule.severity, f"{rule.failed:,}")
    if table.row_count:
        out.print(table)


def _rows_only(progress: Callable[[int, int], None]) -> Callable[[int], None]:
    return lambda rows: progress(rows, 0)


def _print_ingest(result: Any) -> None:
    status = (
        "new version" if result.created else "unchanged: same content as before, nothing written"
    )
    out.print(f"[green]✓[/green] {result.version.ref} ({status})", highlight=False)
    out.print(f"  rows: {result.rows:,}  content hash: {result.version.content_hash[:16]}…")
    dropped = result.source.get("dropped_columns") or []
    if dropped:
        out.print(
            f"  [yellow]columns not in the schema, not ingested:[/yellow] {', '.join(dropped)}"
        )
    out.print(f"  stored in: {result.version.path}")
    summary = result.validation
    if summary is None:
        return
    out.print(
        f"  validation ({summary.suite_name}): {summary.rows_in:,} rows in, "
        f"{summary.accepted:,} accepted, {summary.quarantined:,} quarantined"
    )
    _print_failed_rules(summary)
    if result.quarantine_dir is not None:
        out.print(f"  quarantine: {result.quarantine_dir}")
    if result.data_docs is not None:
        out.print(f"  Data Docs: {result.data_docs}")


AsOfOption = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        help="'Now' for rules such as not-in-future, e.g. 2026-01-01 (default: the clock).",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
    ),
]


@app.command()
@_friendly_errors
def validate(
    ref: Annotated[str, typer.Argument(help="DATASET@VERSION, or DATASET for the latest.")],
    config: ConfigOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Check a published dataset version against the current Great Expectations suite
    (rules change; data already accepted can be re-checked). Moves nothing; writes a JSON
    summary and Data Docs under reports/validation/, and exits 1 if an error rule fails.

    Example: [bold]ferry validate transactions -c my-fraud/configs/ferry.yaml[/bold]
    """
    from ferryml.pipeline import validate_version

    context = open_project(_load(config, {}, None), create=False)
    when = None if as_of is None else as_of.replace(tzinfo=UTC)
    result = validate_version(context, ref, as_of=when)
    summary = result.summary
    out.print(
        f"{result.version.ref}: {summary.rows_in:,} rows checked with {summary.suite_name}; "
        f"today's warn rules would quarantine {summary.quarantined:,}",
        highlight=False,
    )
    _print_failed_rules(summary)
    out.print(f"  summary: {result.report_dir / 'summary.json'}")
    if result.data_docs is not None:
        out.print(f"  Data Docs: {result.data_docs}")
    if summary.rejected:
        err.print("[bold red]error rules failed:[/bold red] this version would be rejected today")
        raise typer.Exit(1)


@data_app.command("list")
@_friendly_errors
def data_list(
    dataset: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
    config: ConfigOption = None,
) -> None:
    """List published dataset versions, newest first."""

    context = open_project(_load(config, {}, None), create=False)
    table = Table("dataset@version", "rows", "created (UTC)", "source", title="datasets")
    for version in sorted(context.datasets.list(dataset), key=lambda v: v.created_at, reverse=True):
        where = (
            version.source.get("path")
            or version.source.get("table")
            or version.source.get("format")
        )
        table.add_row(version.ref, f"{version.rows:,}", version.created_at.isoformat(), str(where))
    out.print(table)


@data_app.command("show")
@_friendly_errors
def data_show(
    ref: Annotated[str, typer.Argument(help="DATASET@VERSION, or DATASET for the latest.")],
    config: ConfigOption = None,
) -> None:
    """Show one dataset version: its schema, rows, hash, source and lineage."""
    from ferryml.pipeline import resolve_version

    context = open_project(_load(config, {}, None), create=False)
    version = resolve_version(context, ref)
    out.print(f"[bold]{version.ref}[/bold]", highlight=False)
    out.print(f"rows: {version.rows:,}\ncontent hash: {version.content_hash}\npath: {version.path}")
    out.print(
        f"created: {version.created_at.isoformat()}\nkey columns: {', '.join(version.key_columns)}"
    )
    out.print(f"parents: {', '.join(version.parents) or 'none'}")
    schema = Table("column", "type", title="schema")
    for name, kind in version.column_types().items():
        schema.add_row(name, kind)
    out.print(schema)
    out.print(yaml.safe_dump({"source": version.source}, sort_keys=False), markup=False)


@data_app.command("diff")
@_friendly_errors
def data_diff(
    dataset: Annotated[str, typer.Argument(help="The dataset.")],
    a: Annotated[str, typer.Argument(help="Older version.")],
    b: Annotated[str, typer.Argument(help="Newer version.")],
    config: ConfigOption = None,
) -> None:
    """Compare two versions of a dataset: schema changes, rows added and removed by key,
    null counts."""

    context = open_project(_load(config, {}, None), create=False)
    diff = context.datasets.diff(dataset, a, b)
    out.print(yaml.safe_dump(dataclasses.asdict(diff), sort_keys=False), markup=False)


@config_app.command("show")
@_friendly_errors
def config_show(config: ConfigOption = None, set_: SetOption = None) -> None:
    """Print the merged config (defaults < YAML < FERRY_… environment < --set) as YAML,
    passwords in URLs shown as ***."""
    from ferryml.urls import masked_strings

    loaded = _load(config, {}, set_)
    out.print(f"# source: {loaded.source}", highlight=False)
    data = masked_strings(loaded.config.model_dump(mode="json", by_alias=True))
    out.print(yaml.safe_dump(data, sort_keys=False), highlight=False, markup=False)


@config_app.command("validate")
@_friendly_errors
def config_validate(file: Annotated[Path, typer.Argument(help="Config file to check.")]) -> None:
    """Check a config file; list every problem with its file, line and key."""
    loaded = _load(file, {}, None)
    out.print(f"[green]✓[/green] {loaded.source} is valid (project {loaded.config.project.name})")


def _print_manifest(manifest: Any) -> None:
    table = Table(title="generated data", show_header=True)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in manifest.rows.items():
        table.add_row(name, f"{rows:,}")
    out.print(table)
    out.print(f"{manifest.outcome} rate: {manifest.positive_rate:.3%}")
    scenarios = ", ".join(manifest.active_scenarios) or "none"
    out.print(f"active scenarios: {scenarios}")
    out.print(f"written to: {manifest.out_dir} (manifest.json lists every file with its sha256)")


def main() -> None:
    """Entry point of the ``ferry`` console script."""
    app()
