"""Gating a project's candidates: what ``ferry gate`` and ``ferry quickstart`` run.

For each candidate run: its model is read back from MLflow (files verified against the hash
recorded at training), judged on the held-out period of its feature build by every gate,
against the current champion (:mod:`ferryml.evaluation.loading`). The verdict is written to
the run (tags and report artifacts), to the audit trail and to ``reports/gates/`` as HTML and
JSON. Promotion is :mod:`ferryml.evaluation.promotion`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ferryml.errors import InvalidInputError
from ferryml.evaluation.config import GatesConfig
from ferryml.evaluation.data import HeldOut
from ferryml.evaluation.evaluate import GateReport, Progress, evaluate_candidate, rank
from ferryml.evaluation.loading import (
    champion_version,
    check_run_id,
    contender_from_run,
    get_run,
    load_champion,
    run_tag,
)
from ferryml.evaluation.report import write_reports
from ferryml.evaluation.setup import feature_build, gate_setup
from ferryml.registry import ModelRegistry
from ferryml.training.tracking import TAG_PREFIX, Tracker, mlflow_errors

if TYPE_CHECKING:
    from mlflow.entities import Run

    from ferryml.pipeline import ProjectContext

GATES_TAG = TAG_PREFIX + "gates"
"""``passed`` or ``failed``: the latest verdict of the run's gates."""
GATES_CHAMPION_TAG = TAG_PREFIX + "gates.against"
"""The champion version the verdict was reached against (``none`` when there was none)."""


@dataclass(frozen=True)
class GateSession:
    """What one ``ferry gate`` did: a report per candidate, ranked, and the best passing."""

    reports: list[GateReport]
    """Ranked: passing first, best first."""
    paths: dict[str, tuple[Path, Path]]
    """Run id -> (HTML, JSON) report."""

    @property
    def best(self) -> GateReport | None:
        return self.reports[0] if self.reports and self.reports[0].passed else None


def gate_runs(
    context: ProjectContext,
    run_ids: Sequence[str],
    *,
    cutoff_us: float | None = None,
    progress: Progress | None = None,
    gates: GatesConfig | None = None,
) -> GateSession:
    """Gate the candidate runs ``run_ids`` (of one feature build) against the champion.

    ``cutoff_us`` (labels known then) defaults to the latest label cutoff of the runs: the
    held-out period is then their own test period.
    """
    from ferryml.pipeline import current_actor
    from ferryml.training.project import tracker_for

    if not run_ids:
        raise InvalidInputError("no run to gate", hint="name runs, or a training with --training")
    loaded = context.loaded
    config = loaded.config
    gates = gates if gates is not None else config.gates
    root = context.workspace.root
    tracker = tracker_for(loaded, root)
    runs = [get_run(tracker, check_run_id(run_id)) for run_id in dict.fromkeys(run_ids)]
    builds = {run_tag(run, "feature_build") for run in runs}
    if len(builds) > 1:
        raise InvalidInputError(
            f"the runs come from {len(builds)} feature builds ({', '.join(sorted(builds))}); "
            "candidates are ranked on the same rows, so gate one build's runs together",
            hint="gate each build's runs in a separate `ferry gate`",
        )
    build = feature_build(root, builds.pop())
    candidates = [contender_from_run(tracker, run) for run in runs]
    if cutoff_us is None:
        cutoffs = [run.data.tags.get(TAG_PREFIX + "label_cutoff_us") for run in runs]
        known = [float(c) for c in cutoffs if c not in (None, "unknown")]
        cutoff_us = max(known) if known else None
    features = list(dict.fromkeys(f for c in candidates for f in c.model.features))
    setup = gate_setup(context, build, features, cutoff_us=cutoff_us, gates=gates)
    for run in runs:
        _check_unseen(run, setup.data)
    registry = ModelRegistry(tracker, config.project.name)
    champion, not_comparable = load_champion(
        registry, tracker, gates.champion.alias, build, context, setup.data
    )
    reports = []
    for candidate in candidates:
        report = evaluate_candidate(
            candidate, champion, setup.data, gates, setup.economics, setup.edge, progress
        )
        if not_comparable is not None:
            report.results[-1] = not_comparable
        reports.append(report)
    ranked = rank(reports)
    directory = context.workspace.reports / "gates"
    paths: dict[str, tuple[Path, Path]] = {}
    actor = current_actor()
    against = champion_version(registry, gates.champion.alias)
    for report in ranked:
        run_id = report.candidate.run_id or ""
        paths[run_id] = write_reports(report, directory, config.project.name, ranked)
        _record(tracker, report, paths[run_id], against)
        context.audit.append(
            actor,
            "model.gate",
            f"run@{run_id}",
            {
                "passed": report.passed,
                "failed_gates": report.failed_gates,
                "champion": against,
                "report": paths[run_id][0].relative_to(root).as_posix(),
            },
        )
    return GateSession(ranked, paths)


def training_runs(context: ProjectContext, training_id: str) -> list[str]:
    """The run ids of one ``ferry train`` (its ``training_id``)."""
    from ferryml.training.project import tracker_for

    if not re.fullmatch(r"[0-9a-f]{12}", training_id):
        raise InvalidInputError(
            f"{training_id!r} is not a training id (12 hexadecimal characters)",
            hint="`ferry train --json` prints it as training_id",
        )
    tracker = tracker_for(context.loaded, context.workspace.root)
    with mlflow_errors(tracker.uri, "search the training's runs"):
        runs = tracker.client.search_runs(
            [tracker.experiment_id()],
            filter_string=f"tags.`{TAG_PREFIX}training_id` = '{training_id}'",
        )
    if not runs:
        raise InvalidInputError(f"no run belongs to training {training_id!r}")
    return [run.info.run_id for run in runs]


def _check_unseen(run: Run, data: HeldOut) -> None:
    """The gate's rows must come after everything the run trained and tuned on."""
    test_from = run.data.params.get("split.test_from")
    if test_from is None:
        return
    seen_until = datetime.fromisoformat(test_from).replace(tzinfo=UTC).timestamp() * 1e6
    if data.split.test_start_us < seen_until - 1e6:  # params are rounded to the second
        raise InvalidInputError(
            f"the held-out period starts {data.describe()['from']}, before run "
            f"{run.info.run_id}'s own test period ({test_from}): the gate would judge it on rows "
            "it trained or tuned on",
            hint="gate with a later --as-of (or without one: the end of the build's data)",
        )


def _record(tracker: Tracker, report: GateReport, paths: tuple[Path, Path], champion: str) -> None:
    """The verdict on the candidate's MLflow run: tags and the reports as artifacts."""
    run_id = report.candidate.run_id
    if run_id is None:
        return
    tags = {
        GATES_TAG: "passed" if report.passed else "failed",
        GATES_TAG + ".failed": ",".join(report.failed_gates) or "none",
        GATES_CHAMPION_TAG: champion,
        GATES_TAG + ".at": datetime.now(UTC).isoformat(timespec="seconds"),
        **{f"{TAG_PREFIX}gate.{r.gate}": r.status for r in report.results},
    }
    with mlflow_errors(tracker.uri, f"record the gates of run {run_id}"):
        for key, value in tags.items():
            tracker.client.set_tag(run_id, key, value)
        for path in paths:
            tracker.client.log_artifact(run_id, str(path), "gates")


__all__ = ["GATES_CHAMPION_TAG", "GATES_TAG", "GateSession", "gate_runs", "training_runs"]
