"""``ferry lineage``: what a prediction, model or dataset came from, and what used a dataset
(registered on the main app by :mod:`ferryml.cli`; the work is in
:mod:`ferryml.governance.lineage`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.tree import Tree

from ferryml.cli_common import ConfigOption, SetOption, friendly_errors, load, open_project, out

if TYPE_CHECKING:
    from ferryml.governance.lineage import Dependents, Node

lineage_app = typer.Typer(
    help="Lineage: from a prediction, model or dataset to everything behind it, and forward.",
    no_args_is_help=True,
)

_SHOWN = {
    "prediction": ("answered_at", "decision", "score", "threshold", "arm"),
    "model_version": ("aliases", "kind", "sha256", "approvals"),
    "training_run": (
        "training_id",
        "git_sha",
        "lock_sha256",
        "config_sha256",
        "seed",
        "label_cutoff",
        "gates",
        "gate_results",
    ),
    "feature_build": ("feature_set_version", "rows", "fit_until", "present"),
    "profile": ("path", "sha256"),
    "dataset": ("content_hash", "rows", "created_at", "source", "validation"),
}


@lineage_app.command("show")
@friendly_errors
def show(
    identifier: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A request id (32 hex digits), a model version (3, fraud@3, champion) or a "
            "dataset version (transactions@1a2b3c4d5e6f).",
            show_default=False,
        ),
    ],
    forward: Annotated[
        bool,
        typer.Option(
            help="For a dataset version: also the runs, models and deployments that used it."
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a tree.")] = False,
    config: ConfigOption = None,
    set_: SetOption = None,
) -> None:
    """Walk the lineage of ID back to its sources: prediction → model version → training run
    (code sha, lock-file and config hashes, seed, gate results) → feature build → dataset
    versions (hash, source, validation) and the versions they were derived from. For a
    dataset version, also forward: derived versions, training runs, registered versions, their
    aliases and how many predictions each answered.

    Example: ferry lineage show champion
    """
    from ferryml.governance.lineage import dependents, trace

    context = open_project(load(config, {}, set_), create=False)
    node = trace(context, identifier)
    after = dependents(context, node.id) if forward and node.kind == "dataset" else None
    if as_json:
        body: dict[str, Any] = {"lineage": node.as_dict()}
        if after is not None:
            body["used_by"] = after.as_dict()
        out.print_json(json.dumps(body, default=str))
        return
    out.print(_tree(node))
    if after is not None:
        out.print(_forward(after))


def _tree(node: Node, parent: Tree | None = None) -> Tree:
    label = f"[bold]{node.kind}[/bold] {escape(node.id)}"
    for key in _SHOWN.get(node.kind, ()):
        value = node.details.get(key)
        if value not in (None, "", [], {}):
            label += f"\n  [dim]{key}:[/dim] {escape(_short(value))}"
    branch = Tree(label) if parent is None else parent.add(label)
    for upstream in node.upstream:
        _tree(upstream, branch)
    return branch


def _forward(found: Dependents) -> Tree:
    tree = Tree(f"[bold]used by[/bold] {escape(found.dataset)}")
    for ref in found.derived:
        tree.add(f"dataset {escape(ref)} (derived)")
    if not found.runs:
        tree.add("[dim]no training run used it[/dim]")
    for run in found.runs:
        version = run["registered_version"]
        model = f"model v{version}" if version else "not registered"
        aliases = f" [{', '.join(run['aliases'])}]" if run["aliases"] else ""
        tree.add(
            f"run {run['run_id']} ({escape(str(run['model']))}) on {escape(run['dataset'])}"
            f" → {model}{escape(aliases)}, {run['predictions']} predictions answered"
        )
    return tree


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "…"


__all__ = ["lineage_app"]
