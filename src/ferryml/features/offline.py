"""Offline features: point-in-time correct training sets, computed in batch.

Every labelled event gets the feature values *as of its own timestamp*:

- profiles and label-rate snapshots join with an as-of join (DuckDB ``ASOF LEFT JOIN``: the
  latest row of the entity stamped at or before the event; none → missing);
- window aggregates cover ``(t - w, t)`` of the entity's events, the current one excluded;
- fitted encodings learn on the training window (events before ``fit_until``) only;
- derived features run the same transform classes as serving, in batch form.

The computation partitions by entity only inside window and label-rate steps; everything else
is row-wise, which is what lets Spark run the same functions per partition.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ferryml.errors import DataError
from ferryml.features.graph import FeatureSet, ProfileNode, WindowNode
from ferryml.features.label_rates import SNAPSHOT_COLUMN, label_rate_snapshots
from ferryml.features.values import Columns, arrow_to_array, arrow_to_columns
from ferryml.features.windows import window_features
from ferryml.storage.duckdb_session import connect, quote_ident

PROFILE_TIME_COLUMN = "valid_from"


@dataclass(frozen=True)
class BatchViews:
    """The batch views of a feature set: normalized profiles and label-rate snapshots.

    Each table has the entity's key column, a float-µs time column (``valid_from`` or
    ``snapshot_time``) and its feature columns; these are what the online store serves.
    """

    tables: Mapping[str, pa.Table]
    time_columns: Mapping[str, str]


@dataclass(frozen=True)
class TrainingSet:
    """A built training set: the rows, the fitted encoder states, the feature set version."""

    table: pa.Table
    feature_set_version: str
    fitted: Mapping[str, Mapping[str, Any]]
    fit_until_us: float | None
    views: BatchViews


def batch_views(
    feature_set: FeatureSet,
    events: Columns,
    profile_tables: Mapping[str, pa.Table],
    *,
    until_us: float | None = None,
) -> BatchViews:
    """Profiles (as given, normalized) and label-rate snapshots computed from ``events``."""
    tables: dict[str, pa.Table] = {}
    times: dict[str, str] = {}
    for profile in feature_set.profiles:
        tables[profile.name] = normalize_profile(profile, profile_tables[profile.name])
        times[profile.name] = PROFILE_TIME_COLUMN
    label = feature_set.schema.columns_with_role("label")
    label_time = feature_set.schema.columns_with_role("label_time")
    for rate in feature_set.label_rates:
        tables[rate.name] = label_rate_snapshots(
            rate.name,
            events[rate.key_column],
            events[feature_set.event_time_column],
            events[label[0]],
            events[label_time[0]],
            window_us=rate.window_us,
            prior_weight=rate.prior_weight,
            key_column=rate.key_column,
            until_us=until_us,
        )
        times[rate.name] = SNAPSHOT_COLUMN
    return BatchViews(tables, times)


def normalize_profile(profile: ProfileNode, table: pa.Table) -> pa.Table:
    """The profile's key, ``valid_from`` (float µs) and declared columns, from its raw table."""
    definition = profile.definition
    wanted = [profile.key_column, definition.timestamp, *definition.columns]
    missing = [name for name in wanted if name not in table.column_names]
    if missing:
        raise DataError(
            f"profile {profile.name!r}: the table at {definition.path} has no column "
            f"{', '.join(map(repr, missing))}",
            hint=f"its columns are {', '.join(table.column_names)}; fix "
            f"features.profiles.{profile.name}",
        )
    out: dict[str, Any] = {
        profile.key_column: table.column(profile.key_column).cast(pa.string()),
        PROFILE_TIME_COLUMN: pa.array(arrow_to_array(table.column(definition.timestamp))),
    }
    for name in definition.columns:
        values = arrow_to_array(table.column(name))
        out[name] = pa.array(values, type=pa.string() if values.dtype == object else pa.float64())
    return pa.table(out)


def build_training_set(
    feature_set: FeatureSet,
    events_table: pa.Table,
    profile_tables: Mapping[str, pa.Table],
    *,
    fit_until_us: float | None = None,
    spill_dir: Path | None = None,
    fitted: Mapping[str, Mapping[str, Any]] | None = None,
) -> TrainingSet:
    """Every event of ``events_table`` with its features as of its own time.

    Fitted encodings learn from the events before ``fit_until_us`` (all events when None),
    unless ``fitted`` gives their states (those of another build: features as that build's
    models see them).
    """
    events = arrow_to_columns(events_table, list(feature_set.event_columns))
    views = batch_views(feature_set, events, profile_tables)
    times = events[feature_set.event_time_column]
    join_views(feature_set, events, views, spill_dir)
    if fitted is not None:
        load_fitted(feature_set, fitted)
        fit_mask = np.zeros(len(times), bool)
    else:
        fit_mask = times < fit_until_us if fit_until_us is not None else np.ones(len(times), bool)
    learned = evaluate_batch(feature_set, events, fit_mask, fit=fitted is None)
    states = learned if fitted is None else {name: dict(v) for name, v in fitted.items()}
    keep = feature_set.kept_columns
    out = {name: events_table.column(name) for name in keep if name in events_table.column_names}
    for spec in feature_set.outputs:
        out[spec.name] = pa.array(events[spec.name])
    for name in keep:  # a window value that is a feature, not a column (e.g. amount_eur)
        if name not in out and name in events:
            out[name] = pa.array(events[name])
    return TrainingSet(pa.table(out), feature_set.version, states, fit_until_us, views)


def join_views(
    feature_set: FeatureSet, events: Columns, views: BatchViews, spill_dir: Path | None = None
) -> None:
    """Add each batch view's columns to ``events``, as of each event's own time."""
    times = events[feature_set.event_time_column]
    spill = spill_dir or Path(tempfile.gettempdir())
    for node in feature_set.joined_views:
        joined = asof_join(
            events[node.key_column],
            times,
            views.tables[node.name],
            node.key_column,
            views.time_columns[node.name],
            spill,
        )
        events.update(joined)


def scoring_features(
    feature_set: FeatureSet,
    events_table: pa.Table,
    views: BatchViews,
    *,
    spill_dir: Path | None = None,
) -> Columns:
    """Every event of ``events_table`` with its features as of its own time, for scoring.

    The training set's computation without labels or fits: the batch views are given (those
    of the model's build), the fitted transforms keep the states loaded into them (the
    build's), and window aggregates cover the events of ``events_table`` itself.
    """
    events = arrow_to_columns(events_table, list(feature_set.scoring_columns))
    join_views(feature_set, events, views, spill_dir)
    rows = len(events[feature_set.event_time_column])
    evaluate_batch(feature_set, events, np.zeros(rows, bool), fit=False)
    return events


def evaluate_batch(
    feature_set: FeatureSet,
    columns: Columns,
    fit_mask: npt.NDArray[np.bool_],
    *,
    fit: bool = True,
) -> dict[str, dict[str, Any]]:
    """Compute every window and derived feature into ``columns``, in dependency order.

    Fitted transforms learn on the rows of ``fit_mask`` first (unless ``fit`` is False: they
    keep the states loaded into them); returns the states learned.
    """
    fitted: dict[str, dict[str, Any]] = {}
    for node in feature_set.order:
        if isinstance(node, WindowNode):
            columns.update(_windows(node, columns))
            continue
        inputs = tuple(columns[name] for name in node.inputs)
        if node.fitted and fit:
            node.fit(*(column[fit_mask] for column in inputs))
            fitted[node.name] = node.state()
        for spec, values in zip(node.outputs, node.batch(*inputs), strict=True):
            columns[spec.name] = values
    return fitted


def load_fitted(feature_set: FeatureSet, fitted: Mapping[str, Mapping[str, Any]]) -> None:
    """Give the feature set's fitted transforms the states learned on a training window."""
    for transform in feature_set.transforms:
        if transform.fitted:
            transform.load_state(fitted[transform.name])


def _windows(node: WindowNode, columns: Columns) -> Columns:
    times = columns[node.time_column].astype(np.int64)
    values = columns[node.value].astype(np.float64)
    return dict(window_features(node.aggregation, columns[node.key_column], times, values))


def asof_join(
    keys: npt.NDArray[Any],
    times_us: npt.NDArray[np.float64],
    right: pa.Table,
    key_column: str,
    time_column: str,
    spill_dir: Path,
) -> Columns:
    """For each (key, time), the columns of ``right``'s latest row of that key stamped at or
    before the time (missing when none), in the input's order."""
    left = pa.table(
        {
            "__row": pa.array(np.arange(len(keys), dtype=np.int64)),
            "__key": pa.array(keys, type=pa.string()),
            "__t": pa.array(times_us, type=pa.float64()),
        }
    )
    value_columns = [c for c in right.column_names if c not in (key_column, time_column)]
    select = ", ".join(f"r.{quote_ident(c)}" for c in value_columns)
    query = (
        f"SELECT l.__row, {select} FROM left_rows l ASOF LEFT JOIN right_rows r "
        f"ON l.__key = r.{quote_ident(key_column)} AND l.__t >= r.{quote_ident(time_column)} "
        "ORDER BY l.__row"
    )
    with connect(spill_dir, purpose="the point-in-time join") as con:
        con.register("left_rows", left)
        con.register("right_rows", right)
        joined = con.sql(query).to_arrow_table()
    return {name: arrow_to_array(joined.column(name)) for name in value_columns}
