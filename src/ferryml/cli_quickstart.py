"""``ferry quickstart``: the whole lifecycle on embedded defaults, with a live board of stages.

Registered on the main app by :mod:`ferryml.cli`; the loop's work is in
:mod:`ferryml.quickstart`.
"""

from __future__ import annotations

import time as wall
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ferryml.cli_common import SetOption, friendly_errors, load, open_project, out, progress_bar

if TYPE_CHECKING:
    from ferryml.clock import Clock
    from ferryml.pipeline import ProjectContext
    from ferryml.quickstart.loop import LoopResult, State

STAGES = (
    "generate", "ingest", "features", "train", "gates", "champion", "serve", "replay",
    "monitor", "alert", "retrain", "shadow", "canary", "promote", "reports",
)  # fmt: skip
MARKS = {"running": "[yellow]…", "done": "[green]✓", "failed": "[red]✗", "skipped": "[dim]-"}


@dataclass
class _Row:
    state: State
    detail: str


class LiveBoard:
    """The stages as a table that redraws itself, with a bar for the replay."""

    def __init__(self) -> None:
        self.rows: dict[str, _Row] = {}
        self.started = wall.monotonic()
        self.bar = Progress(
            TextColumn("[bold]replayed"), BarColumn(), MofNCompleteColumn(), transient=True
        )
        self._task = self.bar.add_task("replay", total=None)
        self.live: Live | None = None

    def stage(self, name: str, state: State, detail: str = "") -> None:
        self.rows[name] = _Row(state, detail)
        if self.live is not None:
            self.live.update(self.render())

    def replaying(self, done: int, total: int) -> None:
        self.bar.update(self._task, completed=done, total=total or None)

    def render(self) -> Group:
        table = Table("", "stage", "what happened", title="ferryml quickstart: the loop")
        for name in STAGES:
            row = self.rows.get(name)
            if row is not None:
                table.add_row(MARKS[row.state], name, row.detail)
        elapsed = f"[dim]{wall.monotonic() - self.started:.0f} s[/dim]"
        return Group(table, self.bar, elapsed)

    @contextmanager
    def showing(self) -> Iterator[None]:
        with Live(self.render(), console=out, refresh_per_second=4) as live:
            self.live = live
            try:
                yield
            finally:
                live.update(self.render())
                self.live = None


@friendly_errors
def quickstart(
    workspace: Annotated[
        Path, typer.Option(help="Workspace directory (created with a starter config if absent).")
    ] = Path("ferry-quickstart"),
    loop: Annotated[
        bool,
        typer.Option(
            "--loop/--no-loop",
            help="--no-loop stops once the first champion is promoted (the reference "
            "project's full sizes, no serving).",
        ),
    ] = True,
    set_: SetOption = None,
) -> None:
    """Run the lifecycle on embedded defaults: no services, no setup, a few minutes.

    Generate synthetic card transactions with drift scenarios → ingest (pseudonymize,
    validate, quarantine, version) → features (point-in-time training set, Feast registry,
    online store) → train LightGBM, a logistic baseline and an EBM in MLflow → gates
    (quality, latency, fairness, edge cases) → the best gets what the governance policy asks
    (model card, explanations, a stand-in approval) and becomes champion.

    Then the loop, in event time: a real `ferry serve` on a free port → two months of
    traffic replayed through its API (holiday season, a new fraud pattern), chargebacks
    posted as they arrive → the monitor judges each week → an alert asks for retraining →
    a challenger trained and gated → shadow → canary ramp under guardrails → promoted, or
    rolled back if it is worse → the reports listed.

    Example: [bold]ferry quickstart[/bold], then [bold]ferry ui -c
    ferry-quickstart/configs/ferry.yaml[/bold] for the runs in MLflow.
    """
    from ferryml.clock import ManualClock
    from ferryml.pipeline import ProjectContext, record_new_workspace
    from ferryml.quickstart.settings import HISTORY_END, quickstart_config_text
    from ferryml.workspace import CONFIG_RELATIVE_PATH, starter_config_text, write_starter_config

    config_path = workspace / CONFIG_RELATIVE_PATH
    created = not config_path.exists()
    if created:
        write_starter_config(workspace, "fraud")
        if loop:
            config_path.write_text(quickstart_config_text(starter_config_text("fraud")))
    loaded = load(config_path, {}, set_)
    board = LiveBoard()
    clock: Clock | None = None
    if loop:
        clock = ManualClock(HISTORY_END)
        context = ProjectContext.open(loaded, clock)
    else:
        context = open_project(loaded)
    if created:
        record_new_workspace(context)
    out.rule("[bold]ferryml quickstart")
    out.print(f"workspace: {context.workspace.root} ({'created' if created else 'reused'})")
    synth = loaded.config.data.synth
    as_of = HISTORY_END if loop else datetime.combine(synth.end + timedelta(1), time(), UTC)
    champion = _first_champion(context, board, as_of=as_of, arriving=loop)
    if loop and champion is not None:
        assert isinstance(clock, ManualClock)
        result = _run_loop(context, board, clock, start=as_of, settings=set_ or [])
        _summarize(context, result)
    verified = context.audit.verify()
    out.print(
        f"[green]✓[/green] audit trail verified: {verified} entries, signed chain and head "
        "checkpoint intact"
    )
    _list_reports(context)
    if not loop:
        out.print(
            "Stopped after the first champion (--no-loop): serve it with `ferry serve`, "
            "replay traffic with `ferry simulate`, judge it with `ferry monitor report`."
        )


def _first_champion(
    context: ProjectContext, board: LiveBoard, *, as_of: datetime, arriving: bool
) -> str | None:
    """Generate → ingest → features → train → gates → champion; the champion's version."""
    from ferryml.cli import _print_ingest, _print_manifest, _rows_only
    from ferryml.cli_features import print_build
    from ferryml.cli_gates import print_session
    from ferryml.cli_training import print_training
    from ferryml.evaluation.project import gate_runs
    from ferryml.pipeline import build_feature_store, generate_data, ingest_data
    from ferryml.quickstart.arrival import Arrival
    from ferryml.training.project import train_project

    raw = context.workspace.raw
    with progress_bar("1/6 generate data") as progress:
        manifest = generate_data(context, raw / "generated" if arriving else None, progress)
    _print_manifest(manifest)
    board.stage("generate", "done", f"{manifest.rows.get('transactions', 0):,} transactions")
    if arriving:  # the history only: the rest arrives as the story reaches it
        Arrival(raw / "generated", raw / "synth").land(as_of)
    with progress_bar("2/6 ingest (pseudonymize, validate, version)") as progress:
        result = ingest_data(context, None, _rows_only(progress), as_of=as_of)
    _print_ingest(result)
    summary = result.validation
    quarantined = f", {summary.quarantined:,} quarantined" if summary is not None else ""
    board.stage("ingest", "done", f"{result.version.ref}: {result.rows:,} rows{quarantined}")
    with out.status("3/6 features: point-in-time training set, Feast registry, online store"):
        built = build_feature_store(context, result.version.ref, as_of=as_of)
    print_build(built)
    board.stage(
        "features",
        "done",
        f"feature set {built.build.feature_set_version}: {built.build.rows:,} rows",
    )
    with out.status("4/6 train: time split, delayed labels, MLflow runs") as status:
        training = train_project(
            context,
            build=built.build,
            as_of=as_of,
            progress=lambda name: status.update(f"4/6 train: {name} (MLflow run, plots)"),
            register=False,
        )
    print_training(training)
    board.stage("train", "done", ", ".join(m.name for m in training.result.models))
    with out.status("5/6 gates: quality, latency, fairness, edge cases, champion") as status:
        runs = [model.run_id for model in training.result.models]
        session = gate_runs(context, runs, progress=lambda step: status.update(f"5/6 {step}"))
    print_session(session)
    passed = sum(report.passed for report in session.reports)
    board.stage("gates", "done", f"{passed} of {len(session.reports)} candidates passed")
    best = session.best.candidate if session.best is not None else None
    if best is None or not best.run_id:
        out.print("nothing promoted: no candidate passed its gates")
        board.stage("champion", "failed", "no candidate passed its gates")
        return None
    version = promote_as_stand_in(context, best.run_id, best.label, step="6/6")
    board.stage("champion", "done", f"version {version} ({best.label})")
    if arriving:  # the retraining policy's cooldown counts from this training
        from ferryml.monitoring.retraining import LAST_RETRAIN
        from ferryml.serving.state import SharedState

        state = SharedState(context.engine, context.workspace.project)
        state.write(LAST_RETRAIN, as_of.isoformat(), actor="quickstart")
    return version


def promote_as_stand_in(context: ProjectContext, run_id: str, label: str, step: str = "") -> str:
    """Give ``run_id``'s model what the governance policy asks (with labelled stand-ins for
    the approvers a real project has) and promote it to champion; its version."""
    from ferryml.evaluation.promotion import promote
    from ferryml.governance.demo import meet_policy_as_stand_in

    with out.status(f"{step} the governance policy: what promotion requires…".strip()):
        stand_in = meet_policy_as_stand_in(context, run_id)
    if stand_in.explanation is not None:
        out.print(f"[green]✓[/green] explanation report: {stand_in.explanation}")
    for approval in stand_in.approvals:
        out.print(
            f"[green]✓[/green] approved by {approval.approver}: a stand-in for the person "
            "the policy requires (`ferry approve VERSION` in a real project)"
        )
    promoted = promote(context, run_id)
    out.print(
        f"[green]✓[/green] promoted {promoted.name} version {promoted.version} ({label}) "
        "to champion"
    )
    return promoted.version


def _run_loop(
    context: ProjectContext,
    board: LiveBoard,
    clock: Clock,
    *,
    start: datetime,
    settings: list[str],
) -> LoopResult:
    from ferryml.clock import ManualClock
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.quickstart.arrival import Arrival
    from ferryml.quickstart.loop import SERVER_SETTINGS, Loop
    from ferryml.quickstart.server import running_server
    from ferryml.workspace import CONFIG_RELATIVE_PATH

    assert isinstance(clock, ManualClock)
    synth = context.loaded.config.data.synth
    end = datetime.combine(synth.end + timedelta(days=1), time(), UTC)
    root = context.workspace.root
    store = ProjectFeatureStore(context.loaded, root)
    raw = context.workspace.raw
    loop = Loop(
        context,
        clock,
        Arrival(raw / "generated", raw / "synth"),
        store.feature_set,
        board,
        start=start,
        end=end,
        promote_challenger=lambda run_id: promote_as_stand_in(context, run_id, "challenger"),
    )
    board.stage("serve", "running", "starting ferry serve (uvicorn) on a free port")
    with board.showing():
        log = root / "logs" / "quickstart-serve.log"
        sets = [*settings, *SERVER_SETTINGS]  # the server sees what this command was told
        with running_server(root / CONFIG_RELATIVE_PATH, log, sets) as server:
            board.stage("serve", "done", f"{server.url} (its log: {log})")
            result = loop.run(server)
        board.stage(
            "replay",
            "done",
            f"{result.replayed.answered:,} answered ({result.replayed.blocked:,} blocked), "
            f"{result.replayed.labels_new:,} labels arrived",
        )
        if result.retraining is None:
            board.stage("retrain", "skipped", "no alert asked for it")
    return result


def _summarize(context: ProjectContext, result: LoopResult) -> None:
    retraining = result.retraining
    if result.promoted is not None and retraining is not None:
        out.print(
            f"[green]✓[/green] the loop closed: drift → {len(result.alerts)} alert(s) → "
            f"retrained on {result.retrained_at:%Y-%m-%d} → version {result.promoted} passed "
            "its gates, its shadow and its canary, and is champion"
        )
    elif result.canary == "rolled back":
        out.print(
            "[yellow]the challenger was rolled back by the canary's guardrails[/yellow] "
            f"({'; '.join(result.canary_reasons)}): the champion stays"
        )
    else:
        out.print(f"[yellow]the loop did not close[/yellow]: canary {result.canary}")


def _list_reports(context: ProjectContext) -> None:
    reports = context.workspace.reports
    found = sorted(reports.rglob("*.html")) if reports.exists() else []
    kinds: dict[str, list[Path]] = {}
    for path in found:
        kinds.setdefault(path.relative_to(reports).parts[0], []).append(path)
    table = Table("reports", "files", "latest", title=f"reports under {reports}")
    for kind, paths in sorted(kinds.items()):
        table.add_row(kind, str(len(paths)), str(paths[-1].relative_to(reports)))
    out.print(table)


__all__ = ["LiveBoard", "promote_as_stand_in", "quickstart"]
