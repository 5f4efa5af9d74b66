"""Gating a project's candidates: what ``ferry gate`` and ``ferry quickstart`` run.

For each candidate run: its model is read back from MLflow (files verified against the hash
recorded at training), judged on the held-out period of its feature build by every gate,
against the current champion (scored on the same rows, with the features as *its* build
encodes them). The verdict is written to the run (tags and report artifacts), to the audit
trail and to ``reports/gates/`` as HTML and JSON.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ferryml.errors import InvalidInputError, ModelIntegrityError
from ferryml.evaluation.config import GatesConfig
from ferryml.evaluation.data import HeldOut, held_out
from ferryml.evaluation.evaluate import EdgeInputs, GateReport, Progress, evaluate_candidate, rank
from ferryml.evaluation.gates.base import Check, Contender, Economics, GateResult
from ferryml.evaluation.gates.edge_cases import OnlinePath
from ferryml.evaluation.report import write_reports
from ferryml.features.build import FITTED_FILE, FeatureBuild, load_build
from ferryml.features.values import arrow_to_array
from ferryml.registry import ModelRegistry, RegisteredVersion
from ferryml.training.dataset import Columns
from ferryml.training.tracking import TAG_PREFIX, Tracker, is_missing, mlflow_errors, model_sha256
from ferryml.training.trainers import load_trained

if TYPE_CHECKING:
    from mlflow.entities import Run

    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.pipeline import ProjectContext

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
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


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id):
        raise InvalidInputError(
            f"{run_id!r} is not an MLflow run id (32 lowercase hexadecimal characters)",
            hint="`ferry train --json` prints the run ids; `ferry ui` lists them",
        )
    return run_id


def gate_runs(
    context: ProjectContext,
    run_ids: Sequence[str],
    *,
    cutoff_us: float | None = None,
    progress: Progress | None = None,
    gates: GatesConfig | None = None,
) -> GateSession:
    """Gate the candidate runs ``run_ids`` (of one feature build) against the champion."""
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.pipeline import current_actor
    from ferryml.training.project import tracker_for

    if not run_ids:
        raise InvalidInputError("no run to gate", hint="name runs, or a training with --training")
    loaded = context.loaded
    config = loaded.config
    gates = gates if gates is not None else config.gates
    root = context.workspace.root
    tracker = tracker_for(loaded, root)
    runs = [_get_run(tracker, check_run_id(run_id)) for run_id in dict.fromkeys(run_ids)]
    builds = {_tag(run, "feature_build") for run in runs}
    if len(builds) > 1:
        raise InvalidInputError(
            f"the runs come from {len(builds)} feature builds ({', '.join(sorted(builds))}); "
            "candidates are ranked on the same rows, so gate one build's runs together",
            hint="gate each build's runs in a separate `ferry gate`",
        )
    build = _build(root, builds.pop())
    store = ProjectFeatureStore(loaded, root)
    table = pq.read_table(build.training_path)
    schema = config.schema_
    candidates = [_contender_from_run(tracker, run) for run in runs]
    label_time = schema.columns_with_role("label_time")
    features = list(dict.fromkeys(f for c in candidates for f in c.model.features))
    attributes = [name for name in config.features.attributes if name in table.column_names]
    columns = Columns(
        event_time=schema.columns_with_role("event_time")[0],
        label=schema.columns_with_role("label")[0],
        label_time=label_time[0] if label_time else None,
        features=features,
    )
    if cutoff_us is None:  # labels as the candidates knew them: their own test period
        cutoffs = [run.data.tags.get(TAG_PREFIX + "label_cutoff_us") for run in runs]
        known = [float(c) for c in cutoffs if c not in (None, "unknown")]
        cutoff_us = max(known) if known else None
    data = held_out(table, columns, config.training, attributes=attributes, cutoff_us=cutoff_us)
    for run in runs:
        _check_unseen(run, data)
    economics = Economics(
        fp_cost=config.training.costs.false_positive,
        currency=config.training.costs.currency,
        fixed_fpr=config.training.fixed_fpr,
        primary_metric=config.training.primary_metric,
    )
    registry = ModelRegistry(tracker, config.project.name)
    champion, not_comparable = _champion(
        registry, tracker, gates.champion.alias, build, context, data
    )
    edge = _edge_inputs(store, build, data, gates, context)
    reports = []
    for candidate in candidates:
        report = evaluate_candidate(
            candidate,
            champion,
            data,
            gates,
            economics,
            edge,
            progress,
        )
        if not_comparable is not None:
            report.results[-1] = not_comparable
        reports.append(report)
    ranked = rank(reports)
    directory = context.workspace.reports / "gates"
    paths: dict[str, tuple[Path, Path]] = {}
    actor = current_actor()
    champion_version = _champion_version(registry, gates.champion.alias)
    for report in ranked:
        run_id = report.candidate.run_id or ""
        paths[run_id] = write_reports(report, directory, config.project.name, ranked)
        _record(tracker, report, paths[run_id], champion_version)
        context.audit.append(
            actor,
            "model.gate",
            f"run@{run_id}",
            {
                "passed": report.passed,
                "failed_gates": report.failed_gates,
                "champion": champion_version,
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


def promote(
    context: ProjectContext,
    run_id: str,
    *,
    override_reason: str | None = None,
    alias: str = "champion",
) -> RegisteredVersion:
    """Make ``run_id``'s model the champion: only if its gates passed against the current
    champion, or with a written ``override_reason`` (recorded on the version and the audit
    trail)."""
    from ferryml.pipeline import current_actor
    from ferryml.training.project import tracker_for

    loaded = context.loaded
    tracker = tracker_for(loaded, context.workspace.root)
    run = _get_run(tracker, check_run_id(run_id))
    registry = ModelRegistry(tracker, loaded.config.project.name)
    current = _champion_version(registry, alias)
    verdict = run.data.tags.get(GATES_TAG)
    gated_against = run.data.tags.get(GATES_CHAMPION_TAG)
    problem = None
    if verdict is None:
        problem = "its gates never ran (`ferry gate RUN_ID`)"
    elif verdict != "passed":
        failed = run.data.tags.get(GATES_TAG + ".failed", "")
        problem = f"its gates failed ({failed})"
    elif gated_against != current:
        problem = (
            f"it was gated against champion {gated_against}, but the champion is now {current}: "
            "gate it again"
        )
    reason = (override_reason or "").strip()
    if problem and not reason:
        raise InvalidInputError(
            f"run {run_id} may not be promoted: {problem}",
            hint="fix the model and gate it again, or promote with --override-reason "
            "'why this is acceptable' (recorded on the audit trail)",
        )
    if override_reason is not None and len(reason) < 10:
        raise InvalidInputError(
            "an override needs a written reason of at least 10 characters",
            hint="say why shipping despite the gates is acceptable, and who decided",
        )
    version = registry.version_of_run(run_id)
    if version is None:
        version = registry.register(
            _tag(run, "model_uri"),
            _tag(run, "model_sha256"),
            run_id=run_id,
            tags={
                TAG_PREFIX + "model_kind": _tag(run, "model_kind"),
                TAG_PREFIX + "threshold": _tag(run, "threshold"),
                TAG_PREFIX + "training_id": run.data.tags.get(TAG_PREFIX + "training_id", ""),
            },
        )
    if problem:
        with mlflow_errors(tracker.uri, "record the override"):
            tracker.client.set_model_version_tag(
                registry.name, version.version, TAG_PREFIX + "promotion_override", reason[:5000]
            )
    registry.set_alias(alias, version.version)
    if registry.alias_version("challenger") == version.version:
        registry.remove_alias("challenger")
    context.audit.append(
        current_actor(),
        "model.promote",
        f"{registry.name}@{version.version}",
        {
            "alias": alias,
            "run": run_id,
            "previous": current,
            "gates": verdict or "not run",
            "override_reason": reason if problem else None,
        },
    )
    return registry.get(version.version)


def _get_run(tracker: Tracker, run_id: str) -> Run:
    with mlflow_errors(tracker.uri, f"read run {run_id}"):
        try:
            run = tracker.client.get_run(run_id)
        except Exception as exc:
            if is_missing(exc):
                raise InvalidInputError(
                    f"no MLflow run {run_id} in {tracker.uri}",
                    hint="`ferry train --json` prints run ids; check training.tracking.uri",
                ) from exc
            raise
    if TAG_PREFIX + "model_uri" not in run.data.tags:
        raise InvalidInputError(
            f"run {run_id} holds no model logged by `ferry train` (no {TAG_PREFIX}model_uri tag)",
            hint="gate the runs `ferry train` created",
        )
    return run


def _tag(run: Run, name: str) -> str:
    value = run.data.tags.get(TAG_PREFIX + name)
    if value is None:
        if name == "threshold" and "validation_threshold" in run.data.metrics:
            return repr(run.data.metrics["validation_threshold"])
        raise InvalidInputError(
            f"run {run.info.run_id} has no {TAG_PREFIX}{name} tag",
            hint="gate runs made by this version of `ferry train`",
        )
    return value


def _build(root: Path, relative: str) -> FeatureBuild:
    path = root / relative
    if not (path / "manifest.json").is_file():
        raise InvalidInputError(
            f"the feature build {relative} the run was trained on is gone from the workspace",
            hint="rebuild it with `ferry features build` and train again",
        )
    return FeatureBuild.from_manifest(path, load_build(path))


def _load(tracker: Tracker, uri: str, sha256: str, kind: str, what: str) -> tuple[Any, int]:
    """The model at ``uri`` (verified against ``sha256``) and the bytes of its files."""
    import mlflow.artifacts

    tracker.activate()
    with tempfile.TemporaryDirectory(prefix="ferryml-gate-") as tmp:
        with mlflow_errors(tracker.uri, f"download {what}"):
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=tmp, tracking_uri=tracker.uri
                )
            )
        actual = model_sha256(local)
        if actual != sha256:
            raise ModelIntegrityError(
                f"{what} ({uri}) hashes to {actual[:12]}…, not to the {sha256[:12]}… recorded "
                "when it was logged: refused"
            )
        size = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
        return load_trained(kind, local, threads=1), size


def _contender_from_run(tracker: Tracker, run: Run) -> Contender:
    run_id = run.info.run_id
    kind = _tag(run, "model_kind")
    model, size = _load(
        tracker, _tag(run, "model_uri"), _tag(run, "model_sha256"), kind, f"run {run_id}'s model"
    )
    name = run.data.tags.get(TAG_PREFIX + "model_name", kind)
    return Contender(
        label=f"{name} {run_id[:8]}",
        model=model,
        threshold=float(_tag(run, "threshold")),
        size_bytes=size,
        run_id=run_id,
    )


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


def _champion_version(registry: ModelRegistry, alias: str) -> str:
    return registry.alias_version(alias) or "none"


def _champion(
    registry: ModelRegistry,
    tracker: Tracker,
    alias: str,
    build: FeatureBuild,
    context: ProjectContext,
    data: HeldOut,
) -> tuple[Contender | None, GateResult | None]:
    """The champion ready to score the held-out rows, or why it cannot be compared."""
    if registry.alias_version(alias) is None:
        return None, None
    version = registry.get(alias)
    kind = version.tags.get(TAG_PREFIX + "model_kind")
    if kind is None:
        raise InvalidInputError(
            f"model {registry.name!r} v{version.version} has no {TAG_PREFIX}model_kind tag"
        )
    model, size = _load(
        tracker, version.source, version.sha256, kind, f"{registry.name} v{version.version}"
    )
    threshold = float(version.tags.get(TAG_PREFIX + "threshold", "0.5"))
    champion = Contender(
        label=f"{alias} v{version.version}",
        model=model,
        threshold=threshold,
        size_bytes=size,
        run_id=version.run_id,
        version=version.version,
    )
    champion_build = None
    if version.run_id:
        with mlflow_errors(tracker.uri, "read the champion's run"):
            tags = tracker.client.get_run(version.run_id).data.tags
        relative = tags.get(TAG_PREFIX + "feature_build")
        champion_build = context.workspace.root / relative if relative else None
    if champion_build is not None and champion_build.resolve() == build.path.resolve():
        return champion, None
    reason = _incomparable(champion_build, build, model.features, data)
    if reason is not None:
        return None, GateResult(
            "champion",
            "failed",
            [Check("comparable with the champion", None, "same feature set", False, reason)],
            reason,
        )
    assert champion_build is not None
    champion.features = _rescored_features(context, build, champion_build, data, model.features)
    return champion, None


def _incomparable(
    champion_build: Path | None, build: FeatureBuild, features: list[str], data: HeldOut
) -> str | None:
    if champion_build is None or not (champion_build / FITTED_FILE).is_file():
        return "the champion's feature build is not in the workspace: its features cannot be made"
    manifest = load_build(champion_build)
    if manifest["feature_set_version"] != build.feature_set_version:
        return (
            f"the champion uses feature set {manifest['feature_set_version']}, the candidate "
            f"{build.feature_set_version}: compare them by hand and promote with a reason"
        )
    missing = sorted(set(features) - set(data.x.columns) - set(build_columns(build)))
    if missing:
        return f"the champion reads features the build lacks: {missing}"
    return None


def build_columns(build: FeatureBuild) -> list[str]:
    return list(pq.read_schema(build.training_path).names)


def _rescored_features(
    context: ProjectContext,
    build: FeatureBuild,
    champion_build: Path,
    data: HeldOut,
    features: list[str],
) -> Any:
    """The held-out rows' features with the champion's fitted encodings (same definitions,
    same events: only what was fitted on its training window differs)."""
    import json

    import pandas as pd

    from ferryml.features.build import read_events, read_profiles
    from ferryml.features.graph import compile_features
    from ferryml.features.offline import build_training_set
    from ferryml.pipeline import resolve_version

    config = context.loaded.config
    feature_set = compile_features(config.project.name, config.features, config.schema_)
    fitted = json.loads((champion_build / FITTED_FILE).read_text())
    dataset = resolve_version(context, build.dataset_ref)
    events = read_events(feature_set, dataset.path)
    profiles = read_profiles(feature_set, context.workspace.root)
    table = build_training_set(feature_set, events, profiles, fitted=fitted).table
    times = arrow_to_array(table.column(feature_set.event_time_column))
    mask = data.split.masks(times)[2]
    frame = pd.DataFrame(
        {name: arrow_to_array(table.column(name))[mask].astype(np.float64) for name in features}
    )
    if len(frame) != data.rows:
        raise InvalidInputError(
            f"recomputing the champion's features gave {len(frame)} held-out rows, not "
            f"{data.rows}: the build and its dataset disagree",
            hint="rebuild the features with `ferry features build`",
        )
    return frame


def _edge_inputs(
    store: ProjectFeatureStore,
    build: FeatureBuild,
    data: HeldOut,
    gates: GatesConfig,
    context: ProjectContext,
) -> EdgeInputs | None:
    """The online path with the build's encodings, and raw events of the held-out period."""
    from ferryml.features.build import read_events
    from ferryml.pipeline import resolve_version

    if not gates.edge_cases.enabled or store.feature_set.version != build.feature_set_version:
        return None
    online = store.online(build)
    dataset = resolve_version(context, build.dataset_ref)
    events = read_events(store.feature_set, dataset.path)
    time_column = store.feature_set.event_time_column
    times = arrow_to_array(events.column(time_column))
    period = events.filter(pa.array(data.split.masks(times)[2]))
    if period.num_rows == 0:
        return None
    picks = np.linspace(0, period.num_rows - 1, min(gates.edge_cases.base_events, period.num_rows))
    bases = period.take(pa.array(picks.astype(np.int64))).to_pylist()
    schema = store.feature_set.schema
    roles = {"id", "label", "label_time", "event_time", "entity"}
    observed = {
        name: arrow_to_array(period.column(name)).astype(np.float64)
        for name in period.column_names
        if name in schema.columns
        and schema.columns[name].type in ("float", "int")
        and schema.columns[name].role not in roles
    }
    history = pq.read_table(build.training_path)
    return EdgeInputs(OnlinePath(online.feature_set, online.reader, history), bases, observed)


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


__all__ = [
    "GATES_CHAMPION_TAG",
    "GATES_TAG",
    "GateSession",
    "check_run_id",
    "gate_runs",
    "promote",
    "training_runs",
]
