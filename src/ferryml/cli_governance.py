"""``ferry approve``, ``ferry card`` and ``ferry governance review``: the governance policy in
the lifecycle (registered on the main app by :mod:`ferryml.cli`; the work is in
:mod:`ferryml.governance`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ferryml.cli_common import ConfigOption, SetOption, friendly_errors, load, open_project, out

governance_app = typer.Typer(
    help="The governance policy: periodic reviews of what is in production.",
    no_args_is_help=True,
)

VersionArgument = Annotated[
    str,
    typer.Argument(
        metavar="VERSION",
        help="A registered version number (3) or an alias (champion, challenger).",
        show_default=False,
    ),
]


@friendly_errors
def approve(
    version: VersionArgument,
    note: Annotated[
        str, typer.Option(help="What you checked, or a condition of the approval.")
    ] = "",
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Approve a model version for promotion to champion, as yourself ($FERRY_ACTOR, else
    your OS user). Read its model card first (`ferry card VERSION` prints where it is). The
    owner of a model may not approve it; when governance.policy.roles.approvers names
    approvers, only they may. The approval is stored on the version and the audit trail.

    Example: ferry approve 3 --note "card, reason codes and fairness checks reviewed"
    """
    from ferryml.governance.card import write_card
    from ferryml.governance.policy import approve as record_approval
    from ferryml.pipeline import current_actor
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    context = open_project(load(config, {}, set_), create=False)
    registry = ModelRegistry(
        tracker_for(context.loaded, context.workspace.root), context.workspace.project
    )
    approval = record_approval(context, registry, version, approver=current_actor(), note=note)
    number = registry.get(version).version
    files = write_card(context, registry, number)
    out.print(
        f"[green]✓[/green] {escape(approval.approver)} approved {registry.name} version "
        f"{number}; model card updated: {files.html}"
    )


@friendly_errors
def card(
    version: VersionArgument = "champion",
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Write the model card of a version again, from the records as they are now (intended
    use and risk tier, data versions and periods, features with the personal data each
    derives from, metrics overall and per subpopulation, gates, reason codes, limitations,
    owners and approvals), to reports/cards/ and with the model in MLflow.

    Example: ferry card champion
    """
    from ferryml.governance.card import write_card
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for

    context = open_project(load(config, {}, set_), create=False)
    registry = ModelRegistry(
        tracker_for(context.loaded, context.workspace.root), context.workspace.project
    )
    number = registry.get(version).version
    files = write_card(context, registry, number)
    out.print(f"[green]✓[/green] model card of {registry.name} version {number}:")
    out.print(f"  {files.markdown}\n  {files.html}")


@governance_app.command("review")
@friendly_errors
def review(config: ConfigOption = None, set_: SetOption = None) -> None:
    """The periodic review: whether each model in production still meets the policy (its
    approvals and their age against governance.policy.review_every_days, what the policy
    requires today that it lacks, its gates) and the audit trail's state and activity.
    Exits 1 when something needs attention, so a scheduler can alert on it.

    Example: ferry governance review
    """
    from ferryml.governance.review import review as run_review
    from ferryml.governance.review import write_review

    context = open_project(load(config, {}, set_), create=False)
    found = run_review(context)
    markdown, html = write_review(context, found)
    for finding in found.findings:
        out.print(f"[yellow]![/yellow] {escape(finding)}")
    if not found.findings:
        out.print("[green]✓[/green] everything in production meets the policy")
    out.print(f"review: {html}\n        {markdown}")
    if found.findings:
        raise typer.Exit(1)


__all__ = ["approve", "card", "governance_app", "review"]
