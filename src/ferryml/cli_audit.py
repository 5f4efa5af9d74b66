"""``ferry audit``: show, verify and anchor the project's audit trail (registered on the main
app by :mod:`ferryml.cli`; the work is in :mod:`ferryml.governance.audit`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ferryml.cli_common import ConfigOption, friendly_errors, load, open_project, out

if TYPE_CHECKING:
    from ferryml.governance.audit import AuditEntry, Verification

audit_app = typer.Typer(
    help="Show, verify and anchor the project's audit trail.", no_args_is_help=True
)

_PATTERN = "Exact, or a glob with * and ? (case-sensitive)"
_TIME = "ISO 8601 date or time; without an offset, UTC"
LimitOption = Annotated[int, typer.Option(min=1, help="Show the newest N matching entries.")]


@audit_app.command("show")
@friendly_errors
def show(
    config: ConfigOption = None,
    object_: Annotated[
        str | None,
        typer.Option("--object", help=f"What was acted on. {_PATTERN}: 'fraud/*'."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help=f"Who acted. {_PATTERN}.")] = None,
    action: Annotated[
        str | None, typer.Option(help=f"What was done. {_PATTERN}: 'serving.*'.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help=f"Entries at or after this time. {_TIME}.")
    ] = None,
    until: Annotated[str | None, typer.Option(help=f"Entries before this time. {_TIME}.")] = None,
    limit: LimitOption = 50,
    details: Annotated[
        bool, typer.Option("--details", help="Add each entry's details to the table.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (every field), not a table.")
    ] = False,
) -> None:
    """Show audit entries, filtered by object, actor, action and time (oldest first).

    Example: [bold]ferry audit show --action 'serving.*' --since 2026-03-01 --json[/bold]
    """
    from ferryml.governance.audit_query import parse_time_bound

    start = None if since is None else parse_time_bound(since, "--since")
    end = None if until is None else parse_time_bound(until, "--until")
    context = open_project(load(config, {}, None), create=False)
    entries = context.audit.find(
        object=object_, actor=actor, action=action, since=start, until=end, limit=limit
    )
    _print_entries(entries, as_json=as_json, details=details)


@audit_app.command("log")
@friendly_errors
def log(config: ConfigOption = None, limit: LimitOption = 20) -> None:
    """The newest audit entries: `ferry audit show` without filters."""
    context = open_project(load(config, {}, None), create=False)
    _print_entries(context.audit.find(limit=limit), as_json=False, details=False)


@audit_app.command("verify")
@friendly_errors
def verify(config: ConfigOption = None) -> None:
    """Verify every entry's signature and link, and the head checkpoints (the workspace file,
    the MLflow tag); exit 1 naming the first bad entry, or the deleted tail."""
    context = open_project(load(config, {}, None), create=False)
    verification = context.audit.check()
    _print_verification(verification)
    for name in context.audit.flush():
        out.print(f"  {name} moved to seq {verification.head.seq if verification.head else 0}")


@audit_app.command("anchor")
@friendly_errors
def anchor(
    config: ConfigOption = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Rewrite checkpoints that disagree with the chain (after restoring the "
            "database from a backup older than them); recorded on the trail."
        ),
    ] = False,
) -> None:
    """Verify the chain, record an audit.anchor entry (sealing entries from before the audit
    key) and write the head checkpoints: for a workspace that lost its checkpoint file or
    was upgraded."""
    from ferryml.pipeline import current_actor

    context = open_project(load(config, {}, None), create=False)
    _print_verification(context.audit.anchor(current_actor(), force=force))


def _print_entries(entries: list[AuditEntry], *, as_json: bool, details: bool) -> None:
    if as_json:
        out.print_json(json.dumps([entry.as_dict() for entry in entries]))
        return
    table = Table(title=f"audit trail ({len(entries)} entries)")
    headers = ["seq", "time (UTC)", "actor", "action", "object"] + (["details"] if details else [])
    for header in headers:
        table.add_column(header, overflow="fold")  # audit text is evidence: never cut it
    for entry in entries:
        cells = [entry.actor, entry.action, entry.object]
        if details:
            cells.append(json.dumps(dict(entry.details), sort_keys=True))
        table.add_row(str(entry.seq), entry.ts.isoformat(), *(escape(cell) for cell in cells))
    out.print(table)


def _print_verification(verification: Verification) -> None:
    out.print(
        f"[green]✓[/green] {verification.entries} audit entries verified: every signature and "
        "link holds"
    )
    for state in verification.checkpoints:
        where = escape(state.name)
        if state.status in ("matches", "behind"):
            assert state.head is not None
            note = f" ({state.note})" if state.note else ""
            out.print(f"[green]✓[/green] {where}: seq {state.head.seq} is in the chain{note}")
        elif state.status == "absent":
            out.print(f"[yellow]-[/yellow] {where}: not written yet")
        else:
            out.print(f"[yellow]![/yellow] {where}: not checked: {escape(state.note)}")
    for problem in verification.problems:
        out.print(f"[yellow]replaced:[/yellow] {escape(problem)}")


__all__ = ["audit_app"]
