"""Everything a gate run needs besides the models: the held-out rows of a feature build, what
errors cost, and the online path and raw events the edge cases start from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ferryml.errors import InvalidInputError
from ferryml.evaluation.config import GatesConfig
from ferryml.evaluation.data import HeldOut, held_out
from ferryml.evaluation.evaluate import EdgeInputs
from ferryml.evaluation.gates.base import Economics
from ferryml.evaluation.gates.edge_cases import OnlinePath
from ferryml.features.build import FeatureBuild, load_build
from ferryml.features.values import arrow_to_array
from ferryml.training.dataset import Columns

if TYPE_CHECKING:
    from ferryml.config.project import ProjectConfig
    from ferryml.features.project_store import ProjectFeatureStore
    from ferryml.pipeline import ProjectContext


@dataclass(frozen=True)
class GateSetup:
    """The rows, the costs and the edge-case inputs of one gate run."""

    build: FeatureBuild
    data: HeldOut
    economics: Economics
    edge: EdgeInputs | None


def economics_of(config: ProjectConfig) -> Economics:
    training = config.training
    return Economics(
        fp_cost=training.costs.false_positive,
        currency=training.costs.currency,
        fixed_fpr=training.fixed_fpr,
        primary_metric=training.primary_metric,
    )


def gate_setup(
    context: ProjectContext,
    build: FeatureBuild,
    features: Sequence[str],
    *,
    cutoff_us: float | None,
    gates: GatesConfig,
) -> GateSetup:
    """The held-out period of ``build`` at ``cutoff_us`` with ``features``, and the rest."""
    from ferryml.features.project_store import ProjectFeatureStore

    config = context.loaded.config
    schema = config.schema_
    table = pq.read_table(build.training_path)
    label_time = schema.columns_with_role("label_time")
    columns = Columns(
        event_time=schema.columns_with_role("event_time")[0],
        label=schema.columns_with_role("label")[0],
        label_time=label_time[0] if label_time else None,
        features=list(features),
    )
    attributes = [name for name in config.features.attributes if name in table.column_names]
    data = held_out(table, columns, config.training, attributes=attributes, cutoff_us=cutoff_us)
    store = ProjectFeatureStore(context.loaded, context.workspace.root)
    edge = edge_inputs(store, build, data, gates, context, history=table)
    return GateSetup(build, data, economics_of(config), edge)


def feature_build(root: Path, relative: str) -> FeatureBuild:
    path = root / relative
    if not (path / "manifest.json").is_file():
        raise InvalidInputError(
            f"the feature build {relative} the run was trained on is gone from the workspace",
            hint="rebuild it with `ferry features build` and train again",
        )
    return FeatureBuild.from_manifest(path, load_build(path))


def edge_inputs(
    store: ProjectFeatureStore,
    build: FeatureBuild,
    data: HeldOut,
    gates: GatesConfig,
    context: ProjectContext,
    *,
    history: pa.Table,
) -> EdgeInputs | None:
    """The online path with the build's encodings, and raw events of the held-out period;
    ``history`` is the build's training set (each entity's earlier events)."""
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
    return EdgeInputs(OnlinePath(online.feature_set, online.reader, history), bases, observed)


__all__ = ["GateSetup", "economics_of", "edge_inputs", "feature_build", "gate_setup"]
