"""``ferry gdpr``: erase a data subject, export their data, enforce retention, check the
minimization and purpose rules (registered on the main app by :mod:`ferryml.cli`; the work is
in :mod:`ferryml.governance.gdpr`). See ``docs/gdpr.md``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ferryml.cli_common import (
    ConfigOption,
    SetOption,
    err,
    friendly_errors,
    load,
    open_project,
    out,
)

if TYPE_CHECKING:
    from ferryml.governance.gdpr.erase import ErasureOutcome

gdpr_app = typer.Typer(
    help="GDPR: erase a data subject everywhere, export their data, enforce retention.",
    no_args_is_help=True,
)

SubjectOption = Annotated[
    str,
    typer.Option(
        "--subject",
        help="The person's id as the source data holds it (a value of "
        "governance.gdpr.subject_columns, e.g. a customer id); never its pseudonym.",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Only list what would change; change nothing.")
]


@gdpr_app.command("erase")
@friendly_errors
def erase(
    subject: SubjectOption,
    dry_run: DryRunOption = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Erase one person from every store of the project (right to erasure, GDPR art. 17).

    Rewrites every stored copy that holds them: raw files, every dataset version (each
    becomes a new version; lineage maps the old to the new), quarantine and validation
    results, feature builds, the online store and window state, the prediction log (local
    segments and table) and labels, MLflow input examples, reports. Then it looks again
    everywhere, writes an erasure record (reports/gdpr/erasures/ID.json, naming the person
    only by a keyed digest) and lists the models trained on their data: those are NOT
    retrained; retrain and promote them yourself. It asks nothing: try --dry-run first.

    Not atomic across stores, but idempotent: if it stops or reports pending work, run the
    same command again; it resumes the same erasure.

    Example: ferry gdpr erase --subject C00000042 --dry-run
    """
    from ferryml.governance.gdpr.erase import erase_subject
    from ferryml.pipeline import current_actor

    context = open_project(load(config, {}, set_), create=False)
    if dry_run:
        outcome = erase_subject(context, subject, dry_run=True)
        _print_locations(outcome, "would change")
        _print_models(outcome)
        out.print("dry run: nothing was changed")
        return
    with out.status("erasing") as status:
        outcome = erase_subject(
            context,
            subject,
            actor=current_actor(),
            progress=lambda name: status.update(f"erasing: {name}"),
        )
    _print_results(outcome)
    _print_models(outcome)
    record = outcome.record
    if outcome.complete:
        out.print(
            f"[green]✓[/green] erasure {record.erasure_id} complete: the subject is in no store "
            f"of the project; record: {outcome.path}"
        )
        return
    for item in [*record.pending, *record.residue]:
        err.print(f"[yellow]pending:[/yellow] {escape(item)}")
    err.print(
        f"[bold red]erasure {record.erasure_id} incomplete[/bold red]: run the same command "
        f"again to finish it; record: {outcome.path}"
    )
    raise typer.Exit(2)


@gdpr_app.command("export")
@friendly_errors
def export(
    subject: SubjectOption,
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", help="JSON file to write (mode 600: it is personal data).", show_default=False
        ),
    ],
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Export everything the project holds about one person (right of access, GDPR art. 15).

    Their rows in raw files, dataset versions, quarantine, feature builds, prediction
    records and labels, with where each was found, as one JSON document. The audit trail
    records the export under the person's keyed digest, never their id.

    Example: ferry gdpr export --subject C00000042 --out C00000042.json
    """
    from ferryml.governance.gdpr.export import export_subject, write_export
    from ferryml.pipeline import current_actor

    context = open_project(load(config, {}, set_), create=False)
    document = export_subject(context, subject, actor=current_actor())
    write_export(document, out_file)
    table = Table(title="exported rows")
    table.add_column("store")
    table.add_column("rows", justify="right")
    for name, count in document["counts"].items():
        table.add_row(name, f"{count:,}")
    out.print(table)
    out.print(f"[green]✓[/green] written to {out_file} (mode 600)")


@gdpr_app.command("retain")
@friendly_errors
def retain(
    dry_run: DryRunOption = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Delete (or anonymize) what is past its retention (storage limitation, GDPR art. 5(1)(e)).

    governance.gdpr.retention gives, per dataset, the days its events are kept (by event
    time: raw files, dataset versions, quarantine, feature builds) and the days prediction
    records and labels are kept. Rewritten dataset versions become new versions (lineage maps
    old to new), as with an erasure. `anonymize` keeps the rows with their subject, id,
    entity and PII columns emptied. Run it daily (cron, a CI schedule).

    Example: ferry gdpr retain --dry-run
    """
    from ferryml.governance.gdpr.retain import expired_data, retention_plan
    from ferryml.governance.gdpr.retain import retain as run_retention
    from ferryml.pipeline import current_actor

    context = open_project(load(config, {}, set_), create=False)
    rules = retention_plan(context)
    if not rules:
        out.print("no retention is configured (governance.gdpr.retention): nothing to do")
        return
    for rule in rules:
        out.print(
            f"{rule.target}: kept {rule.days} days, expired before {rule.cutoff:%Y-%m-%d %H:%M} UTC"
        )
    if dry_run:
        found = expired_data(context)
        table = Table(title="past retention (would change)")
        for header in ("rule", "store", "where", "rows"):
            table.add_column(header, overflow="fold")
        for target, locations in found.items():
            for location in locations:
                table.add_row(target, location.store, escape(location.where), f"{location.items:,}")
        out.print(table if any(found.values()) else "nothing is past retention")
        out.print("dry run: nothing was changed")
        return
    result = run_retention(context, actor=current_actor())
    for target, changes in result.changes.items():
        for change in changes:
            out.print(
                f"  {target}: {change.store}: {change.items:,} rows in {change.places:,} places"
            )
            for item in change.pending:
                err.print(f"[yellow]pending:[/yellow] {escape(item)}")
    for old, new in result.replaced.items():
        out.print(f"  dataset {old} → {new}")
    out.print(f"[green]✓[/green] retention applied: {result.items:,} rows past retention")


@gdpr_app.command("check")
@friendly_errors
def check(
    dataset: Annotated[
        str, typer.Argument(help="The dataset training would use.", show_default=False)
    ] = "transactions",
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Check data minimization and purpose limitation before training.

    Every feature of the project's feature set must be in governance.gdpr.allowed_features
    (when set), and the dataset's governance.gdpr.purposes must include
    governance.gdpr.training_purpose (when set). Exits 1 naming every violation: a CI step
    before `ferry train`.

    Example: ferry gdpr check transactions
    """
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.governance.gdpr.limits import check_training

    loaded = load(config, {}, set_)
    features = ProjectFeatureStore.from_config(loaded).feature_set.output_names
    check_training([dataset], features, loaded.config.governance.gdpr)
    out.print(
        f"[green]✓[/green] {len(features)} features allowed; dataset {escape(dataset)} may be "
        "used for training"
    )


def _print_locations(outcome: ErasureOutcome, verb: str) -> None:
    table = Table(title=f"where the subject is ({verb})")
    for header in ("store", "where", "items"):
        table.add_column(header, overflow="fold")
    for location in outcome.locations:
        table.add_row(location.store, escape(location.where), f"{location.items:,}")
    if not outcome.locations:
        out.print("the subject is in no store of the project")
    else:
        out.print(table)


def _print_results(outcome: ErasureOutcome) -> None:
    table = Table(title=f"erasure {outcome.record.erasure_id}")
    for header in ("store", "removed", "places"):
        table.add_column(header)
    for result in outcome.results:
        table.add_row(result.store, f"{result.items:,}", f"{result.places:,}")
    out.print(table)
    for old, new in outcome.record.datasets.items():
        out.print(f"  dataset {old} → {new} (lineage: the new version's parent is the old)")


def _print_models(outcome: ErasureOutcome) -> None:
    models = outcome.record.models
    if not models:
        out.print("no trained model used the subject's data")
        return
    out.print(
        f"[yellow]{len(models)} model(s) were trained on data holding the subject; they are "
        "NOT retrained automatically[/yellow] (retrain on the new dataset versions, gate and "
        "promote):"
    )
    for model in models:
        registered = (
            f"version {model.registered_version}" if model.registered_version else "not registered"
        )
        aliases = f" [{', '.join(model.aliases)}]" if model.aliases else ""
        out.print(f"  run {model.run_id} ({model.model}) on {model.dataset}: {registered}{aliases}")


__all__ = ["gdpr_app"]
