"""Explaining a project's registered model: ``ferry explain``.

    ferry explain --version 3 --row t000123 --rows 2000 --seed 7

loads the registered version (default: the champion) and the held-out period of the feature
build it was trained on, with the features as *that* build encodes them (the rows the gates
judged it on and it never trained on, labels as known at its label cutoff); draws up to
``rows`` of them with the seed (the events asked for with ``--row`` always in), explains the
model on them (:func:`~ferryml.explain.explanation.explain_model`), writes
``reports/explain/<model>-v<version>-<stamp>.html`` and ``.json``, attaches both to the model's
MLflow run and records ``model.explain`` on the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from ferryml.errors import InvalidInputError
from ferryml.explain.explanation import (
    STAGES,
    Explanation,
    Progress,
    explain_model,
    local_rows,
    sample_rows,
)
from ferryml.explain.options import ExplainOptions
from ferryml.explain.report import write_explain_report

if TYPE_CHECKING:
    from ferryml.config.loader import LoadedConfig
    from ferryml.evaluation.data import HeldOut
    from ferryml.pipeline import ProjectContext
    from ferryml.registered import RegisteredModel
    from ferryml.registry import ModelRegistry

REPORTS_SUBDIR = "explain"
"""Under the workspace's reports directory."""
ARTIFACT_PATH = "explain"
"""Where the report goes among the model run's MLflow artifacts."""
PROJECT_STAGES = ("loading the model and its held-out rows", *STAGES, "writing the report")


@dataclass(frozen=True)
class ExplainRun:
    """What one ``ferry explain`` wrote."""

    explanation: Explanation
    html: Path
    json: Path
    run_id: str

    def summary(self) -> dict[str, Any]:
        """A compact account (for ``--json``)."""
        e = self.explanation
        return {
            "model": e.model,
            "rows": e.rows,
            "seed": e.seed,
            "local_rows": e.local_ids,
            "top_features": list(e.shap.mean_abs())[:5],
            "surrogate_fidelity": e.surrogate.fidelity,
            "correlated_pairs": len(e.correlations),
            "run_id": self.run_id,
            "html": str(self.html),
            "json": str(self.json),
        }


def explain_project(
    context: ProjectContext,
    *,
    version: str | None = None,
    rows: Sequence[str] = (),
    seed: int | None = None,
    options: ExplainOptions | None = None,
    progress: Progress | None = None,
) -> ExplainRun:
    """Explain the registered ``version`` (an alias, a number or ``NAME@...``; default: the
    champion) on its held-out rows, ``rows`` (event ids) explained one by one besides the
    highest-scored and those nearest the threshold; ``seed`` defaults to training's."""
    from ferryml.batch.run import model_reference
    from ferryml.pipeline import current_actor, report_stamp
    from ferryml.registered import load_registered
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for
    from ferryml.training.tracking import file_sha256, mlflow_errors

    options = options or ExplainOptions()
    total = len(PROJECT_STAGES)
    step = progress or (lambda stage, done, total: None)
    step(PROJECT_STAGES[0], 0, total)
    loaded, root = context.loaded, context.workspace.root
    seed = loaded.config.training.seed if seed is None else seed
    tracker = tracker_for(loaded, root)
    registry = ModelRegistry(tracker, loaded.config.project.name)
    registered = load_registered(
        loaded, root, registry, model_reference(registry.name, version or "champion")
    )
    run_id = registry.get(registered.version).run_id
    if run_id is None:
        raise InvalidInputError(f"model {registry.name!r} v{registered.version} has no run")
    data, ids = held_out_rows(loaded, registered, registry, run_id)
    wanted = list(dict.fromkeys(rows))
    position = {row_id: i for i, row_id in enumerate(ids)}
    unknown = [row_id for row_id in wanted if row_id not in position]
    if unknown:
        period = data.describe()
        raise InvalidInputError(
            f"--row {', '.join(unknown)}: no such event in the held-out period of "
            f"{registry.name} v{registered.version} ({period['from'][:10]} to "
            f"{period['until'][:10]})",
            hint="explain events of the period the model never trained on; an event is named "
            "by its id column's value",
        )
    chosen = sample_rows(len(ids), options.rows, seed, keep=[position[r] for r in wanted])
    x = data.x.iloc[chosen].reset_index(drop=True)
    chosen_ids = [ids[i] for i in chosen]
    scores = registered.model.predict(x)
    local = local_rows(
        scores,
        registered.threshold,
        chosen_ids,
        requested=wanted,
        top=options.top_rows,
        near=options.near_threshold_rows,
    )
    explanation = explain_model(
        registered.model,
        x,
        threshold=registered.threshold,
        ids=chosen_ids,
        y=data.y[chosen],
        local=local,
        seed=seed,
        options=options,
        identity=registered.identity,
        progress=lambda stage, done, _: step(
            stage if done < len(STAGES) else PROJECT_STAGES[-1], done + 1, total
        ),
    )
    explanation = replace(explanation, rows_period=data.describe())
    stem = f"{registry.name}-v{registered.version}-{report_stamp(context)}"
    directory = context.workspace.reports / REPORTS_SUBDIR
    html, json_path = write_explain_report(explanation, directory, stem, loaded.config.project.name)
    with mlflow_errors(tracker.uri, "attach the explanation report"):
        for path in (html, json_path):
            tracker.client.log_artifact(run_id, str(path), ARTIFACT_PATH)
    context.audit.append(
        current_actor(),
        "model.explain",
        f"{registry.name}@{registered.version}",
        {
            "run": run_id,
            "report": html.relative_to(root).as_posix() if html.is_relative_to(root) else str(html),
            "report_sha256": file_sha256(html),
            "rows": explanation.rows,
            "seed": seed,
            "local_rows": explanation.local_ids,
            "shap": explanation.shap.method,
            "surrogate_fidelity": explanation.surrogate.fidelity,
        },
    )
    step("done", total, total)
    return ExplainRun(explanation, html, json_path, run_id)


def held_out_rows(
    loaded: LoadedConfig, registered: RegisteredModel, registry: ModelRegistry, run_id: str
) -> tuple[HeldOut, list[str]]:
    """The held-out period of the build ``registered`` was trained on, at its label cutoff
    (as its gates and monitoring baseline see it), and each row's event id."""
    from ferryml.evaluation.data import held_out
    from ferryml.features.build import TRAINING_FILE
    from ferryml.training.dataset import Columns
    from ferryml.training.tracking import TAG_PREFIX

    config = loaded.config
    cutoff = registry.tracker.get_run(run_id).data.tags.get(TAG_PREFIX + "label_cutoff_us")
    if cutoff is None:
        raise InvalidInputError(
            f"model {registered.name!r} v{registered.version} has no label cutoff "
            f"({TAG_PREFIX}label_cutoff_us): its held-out period cannot be found",
            hint="explain models trained by `ferry train`",
        )
    schema = config.schema_
    label_time = schema.columns_with_role("label_time")
    columns = Columns(
        event_time=schema.columns_with_role("event_time")[0],
        label=schema.columns_with_role("label")[0],
        label_time=label_time[0] if label_time else None,
        features=list(registered.model.features),
    )
    table = pq.read_table(registered.build / TRAINING_FILE)
    id_columns = [c for c in schema.columns_with_role("id") if c in table.column_names][:1]
    data = held_out(table, columns, config.training, attributes=id_columns, cutoff_us=float(cutoff))
    if id_columns:
        ids = [str(value) for value in data.attributes[id_columns[0]]]
    else:  # no id column: rows are named by their position in the period
        ids = [f"row-{i}" for i in range(data.rows)]
    return data, ids


__all__ = [
    "ARTIFACT_PATH",
    "PROJECT_STAGES",
    "REPORTS_SUBDIR",
    "ExplainRun",
    "explain_project",
    "held_out_rows",
]
