"""The Spark engine of the offline builder: the same transform code, the same training set.

:func:`build_training_set_spark` computes what :func:`ferryml.features.offline.build_training_set`
computes, from a Spark DataFrame of events, running ferryml's own numpy code inside Spark:

- profiles are normalized by :func:`~ferryml.features.offline.normalize_profile` on the driver
  (they arrive as Arrow tables); label-rate snapshots are computed in Spark SQL with the formula
  of :mod:`ferryml.features.label_rates` (:func:`label_rate_snapshots_spark` says why);
- as-of joins (:func:`asof_join_spark`): events and view rows in one union, per key ordered by
  time, each event taking ``last(ignorenulls)`` of the view's row as a struct — DuckDB's
  ``ASOF LEFT JOIN`` of the local engine;
- window groups: ``repartition(key)``, then ``mapInArrow`` calling
  :func:`~ferryml.features.windows.window_features` on each partition's whole entities;
- fitted encodings: the distinct input tuples of the training window are counted in Spark,
  expanded on the driver and given to the transform's own ``fit`` (:func:`_fit_rows`); the states
  are broadcast, and workers run the transforms loaded from them, as serving does;
- derived transforms: ``transform.batch`` on Arrow batches, in ``feature_set.order``, in the
  same ``mapInArrow`` passes as the windows (a pass ends where a new key or a fit needs it).

Times never go through the JVM's zone: Python workers get them as Arrow timestamps (instants,
converted by :func:`~ferryml.features.values.arrow_to_array`) and Spark SQL reads them with
``unix_micros``; the session zone must be UTC all the same (:func:`ferryml.spark.spark_session`).
Needs pyspark 4 (``DataFrame.toArrow``, ``createDataFrame`` from Arrow).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ferryml._optional import require
from ferryml.errors import DataError, InvalidInputError
from ferryml.features.graph import FeatureSet, LabelRateNode, WindowNode
from ferryml.features.label_rates import SNAPSHOT_COLUMN
from ferryml.features.offline import (
    PROFILE_TIME_COLUMN,
    BatchViews,
    TrainingSet,
    normalize_profile,
)
from ferryml.features.transforms.base import MICROS_PER_DAY, Transform
from ferryml.features.values import Columns, arrow_to_array
from ferryml.features.windows import window_features

UTC_ZONES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "+00:00"})

# Helper columns; the prefix keeps them apart from any schema or feature name.
_TIME = "__ferry_t"  # the event time, float µs (the local engine's representation)
_KEY, _AT, _SIDE, _ROW = "__ferry_key", "__ferry_at", "__ferry_side", "__ferry_row"
_LT = "__ferry_lt"
_COUNT = "__ferry_n"
_DAY_US = int(MICROS_PER_DAY)

DataFrame = Any
"""A ``pyspark.sql.DataFrame`` (pyspark is optional and untyped here)."""


@dataclass(frozen=True)
class SparkTrainingSet:
    """A training set built by Spark: lazy frames, plus the states fitted on the driver."""

    frame: DataFrame
    """The rows: the local engine's columns, in its order (see :meth:`collect`)."""
    feature_set_version: str
    fitted: Mapping[str, Mapping[str, Any]]
    fit_until_us: float | None
    views: Mapping[str, DataFrame]
    time_columns: Mapping[str, str]
    order_by: tuple[str, ...]
    """Event time, then the id columns: the order :meth:`collect` returns rows in."""

    def collect(self) -> TrainingSet:
        """Everything on the driver as Arrow, shaped like the local engine's :class:`TrainingSet`.

        Rows come sorted by event time, then id (Spark has no input order to keep).
        """
        table = self.frame.orderBy(*self.order_by).toArrow()
        tables = {
            name: view.orderBy(view.columns[0], self.time_columns[name]).toArrow()
            for name, view in self.views.items()
        }
        return TrainingSet(
            table,
            self.feature_set_version,
            self.fitted,
            self.fit_until_us,
            BatchViews(tables, dict(self.time_columns)),
        )


def build_training_set_spark(
    spark: Any,
    feature_set: FeatureSet,
    events_df: DataFrame,
    profile_tables: Mapping[str, pa.Table],
    *,
    fit_until_us: float | None = None,
) -> SparkTrainingSet:
    """Every event of ``events_df`` with its features as of its own time, computed by Spark.

    The same rows, values and fitted states as ``build_training_set`` on the same events; fitted
    encodings learn from the events before ``fit_until_us`` (all events when None). The fits run
    now (small Spark jobs); the rows stay lazy in :attr:`SparkTrainingSet.frame`.
    """
    functions = _functions()
    require_utc_session(spark)
    schema = feature_set.schema
    missing = [name for name in feature_set.event_columns if name not in events_df.columns]
    if missing:
        raise DataError(
            f"the events DataFrame has no column {', '.join(map(repr, missing))}",
            hint=f"its columns are {', '.join(events_df.columns)}; select the schema's columns",
        )
    keep = feature_set.kept_columns
    wanted = {*feature_set.event_columns, *keep}
    events = events_df.select(*(name for name in events_df.columns if name in wanted))
    events = events.withColumn(_TIME, _micros(events, feature_set.event_time_column))

    views = batch_views_spark(spark, feature_set, events, profile_tables)
    stages = [events]  # each frame computed so far: fits read the earliest with their inputs
    for node in feature_set.joined_views:
        joined = asof_join_spark(
            stages[-1], views[node.name], node.key_column, _view_time_column(node), left_time=_TIME
        )
        stages.append(joined)
    frame, fitted = _evaluate(spark, feature_set, stages, fit_until_us)

    names = [name for name in dict.fromkeys(keep) if name in events.columns]
    names += [spec.name for spec in feature_set.outputs if spec.name not in names]
    names += [name for name in keep if name not in names and name in frame.columns]
    frame = frame.select(*(functions.col(name) for name in names))
    time_columns = {node.name: _view_time_column(node) for node in feature_set.joined_views}
    order_by = (feature_set.event_time_column, *schema.columns_with_role("id"))
    return SparkTrainingSet(
        frame, feature_set.version, fitted, fit_until_us, views, time_columns, order_by
    )


def require_utc_session(spark: Any) -> None:
    """Refuse a session whose ``spark.sql.session.timeZone`` is not UTC."""
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone not in UTC_ZONES:
        raise InvalidInputError(
            f"the Spark session's time zone is {zone!r}; ferryml computes features in UTC",
            hint="create the session with ferryml.spark.spark_session, or set "
            "spark.sql.session.timeZone=UTC",
        )


def batch_views_spark(
    spark: Any, feature_set: FeatureSet, events: DataFrame, profile_tables: Mapping[str, pa.Table]
) -> dict[str, DataFrame]:
    """The batch views as Spark frames: normalized profiles, then label-rate snapshots."""
    views: dict[str, DataFrame] = {}
    for profile in feature_set.profiles:
        normalized = normalize_profile(profile, profile_tables[profile.name])
        views[profile.name] = spark.createDataFrame(normalized)
    if not feature_set.label_rates:
        return views
    label = feature_set.schema.columns_with_role("label")[0]
    label_time = feature_set.schema.columns_with_role("label_time")[0]
    stamped = events.withColumn(_TIME, _micros(events, feature_set.event_time_column))
    stamped = stamped.withColumn(_LT, _micros(stamped, label_time))
    for rate in feature_set.label_rates:
        views[rate.name] = label_rate_snapshots_spark(stamped, rate, label=label, label_time=_LT)
    return views


def label_rate_snapshots_spark(
    events: DataFrame,
    rate: LabelRateNode,
    *,
    label: str,
    label_time: str,
    time: str = _TIME,
) -> DataFrame:
    """The snapshots of :func:`~ferryml.features.label_rates.label_rate_snapshots`, in Spark SQL.

    Why not ``applyInPandas`` per entity calling that function: the smoothing target, the
    overall rate of each day, crosses entities, and ``label_rate_snapshots`` computes it from the
    entities it is given, with no way to pass it in. So the formula is restated here, step for
    step: each event counts in the snapshot days ``[day(t) + 1, floor((t + w) / D)]``, a
    positive from the day after its label arrived; a difference array per entity (+1/-1 at the
    bounds, summed per day) is cumulated over a dense grid of days, from the entity's first
    counted day to the last snapshot day (steps beyond it never reach the grid, which is why no
    clipping is needed); daily totals; then the same IEEE operations in the same order, so the
    rates are bit-identical (the parity test checks it). Day arithmetic is exact, in long µs.

    ``time`` and ``label_time`` are float-µs columns (NaN or null label time: no label yet).
    """
    f, window = _functions(), _window()
    t_us = f.col(time).cast("long")  # exact below 2**53 µs, i.e. until the year 2255
    start = _floor_div(t_us, _DAY_US) + 1
    stop = _floor_div(t_us + rate.window_us, _DAY_US) + 1  # the first day it no longer counts
    known = f.col(label_time).isNotNull() & ~f.isnan(f.col(label_time))
    positive = f.coalesce(f.col(label).cast("double") == 1.0, f.lit(False)) & known
    label_day = _floor_div(f.col(label_time).cast("long"), _DAY_US)
    pos_start = f.when(positive, f.greatest(start, label_day + 1))
    counted = pos_start.isNotNull() & (pos_start < stop)

    def step(when: Any, day: Any, events: int, positives: int, first: int = 0) -> Any:
        values = (day.alias("day"), f.lit(events).alias("e"), f.lit(positives).alias("p"))
        return f.when(when, f.struct(*values, f.lit(first).alias("first")))

    steps = f.array(
        step(f.lit(True), start, 1, 0, first=1),
        step(f.lit(True), stop, -1, 0),
        step(counted, pos_start, 0, 1),
        step(counted, stop, 0, -1),
    )
    deltas = (
        events.select(
            f.col(rate.key_column).cast("string").alias(_KEY), f.explode(steps).alias("s")
        )
        .where(f.col("s").isNotNull())
        .groupBy(_KEY, f.col("s.day").alias("day"))
        .agg(f.sum("s.e").alias("de"), f.sum("s.p").alias("dp"), f.max("s.first").alias("first"))
    )
    starts = deltas.where(f.col("first") == 1)
    last = starts.agg(f.max("day").alias("last_day"))  # the day after the last event
    grid = (
        starts.groupBy(_KEY)
        .agg(f.min("day").alias("entity_first"))
        .crossJoin(f.broadcast(last))
        .where(f.col("entity_first") <= f.col("last_day"))  # else sequence() counts down
        .select(_KEY, f.explode(f.sequence("entity_first", "last_day")).alias("day"))
    )
    steps_of = deltas.select(
        f.col(_KEY).alias("step_key"), f.col("day").alias("step_day"), "de", "dp"
    )
    same = grid[_KEY].eqNullSafe(steps_of["step_key"]) & (grid["day"] == steps_of["step_day"])
    so_far = window.partitionBy(_KEY).orderBy("day").rowsBetween(window.unboundedPreceding, 0)
    counts = grid.join(steps_of, same, "left").select(
        _KEY,
        "day",
        f.sum(f.coalesce("de", f.lit(0))).over(so_far).alias("n_events"),
        f.sum(f.coalesce("dp", f.lit(0))).over(so_far).alias("n_positives"),
    )
    totals = counts.groupBy("day").agg(
        f.sum("n_events").cast("double").alias("total"),
        f.sum("n_positives").cast("double").alias("positive_total"),
    )
    overall = f.when(f.col("total") > 0, f.col("positive_total") / f.col("total")).otherwise(0.0)
    prior = f.lit(float(rate.prior_weight))
    denominator = f.col("n_events").cast("double") + prior
    smoothed = (f.col("n_positives").cast("double") + prior * f.col("overall")) / denominator
    return counts.join(f.broadcast(totals.select("day", overall.alias("overall"))), "day").select(
        f.col(_KEY).alias(rate.key_column),
        (f.col("day").cast("double") * MICROS_PER_DAY).alias(SNAPSHOT_COLUMN),
        f.when(denominator > 0, smoothed).otherwise(f.lit(float("nan"))).alias(rate.name),
    )


def asof_join_spark(
    left: DataFrame, right: DataFrame, key_column: str, time_column: str, *, left_time: str
) -> DataFrame:
    """``left`` with the columns of ``right``'s latest row of the key stamped at or before
    ``left_time`` (missing when none): DuckDB's ``ASOF LEFT JOIN`` in ``offline.asof_join``.

    One shuffle by key: the view rows and the events in one union, ordered by time with view
    rows first on ties ("at or before"); each event takes the last view row seen, as a whole
    struct (a column-wise ``last(ignorenulls)`` would mix rows when a field is null). Missing
    numbers become NaN, as ``arrow_to_array`` makes them locally; rows without key or time in
    ``right`` never match. Columns of ``left`` named like a view column are replaced.
    """
    f, window = _functions(), _window()
    values = [name for name in right.columns if name not in (key_column, time_column)]
    rows = right.where(f.col(key_column).isNotNull() & f.col(time_column).isNotNull()).select(
        f.col(key_column).cast("string").alias(_KEY),
        f.col(time_column).cast("double").alias(_AT),
        f.lit(0).alias(_SIDE),
        f.struct(*(f.col(name) for name in values)).alias(_ROW),
    )
    row_type = rows.schema[_ROW].dataType
    base = left.drop(*(name for name in values if name in left.columns))
    stamped = base.select(
        "*",
        f.col(key_column).cast("string").alias(_KEY),
        f.col(left_time).cast("double").alias(_AT),
        f.lit(1).alias(_SIDE),
        f.lit(None).cast(row_type).alias(_ROW),
    )
    seen = window.partitionBy(_KEY).orderBy(_AT, _SIDE).rowsBetween(window.unboundedPreceding, 0)
    latest = f.last(_ROW, ignorenulls=True).over(seen)
    both = stamped.unionByName(rows, allowMissingColumns=True)
    matched = both.select(*base.columns, _SIDE, latest.alias(_ROW)).where(f.col(_SIDE) == 1)
    joined = []
    for field in row_type.fields:
        value = f.col(_ROW).getField(field.name)
        if field.dataType.typeName() in ("double", "float"):
            value = f.coalesce(value, f.lit(float("nan")))
        joined.append(value.alias(field.name))
    return matched.select(*base.columns, *joined)


def scoring_features_spark(
    spark: Any, feature_set: FeatureSet, events_df: DataFrame, views: BatchViews
) -> DataFrame:
    """The events of ``events_df`` with their features for scoring, computed by Spark: what
    :func:`ferryml.features.offline.scoring_features` computes (the given batch views as of
    each event, the fitted transforms in the states loaded into them, window aggregates over
    these events), lazily."""
    require_utc_session(spark)
    missing = [name for name in feature_set.scoring_columns if name not in events_df.columns]
    if missing:
        raise DataError(
            f"the events DataFrame has no column {', '.join(map(repr, missing))}",
            hint=f"its columns are {', '.join(events_df.columns)}; select the schema's columns",
        )
    frame = events_df.withColumn(_TIME, _micros(events_df, feature_set.event_time_column))
    for node in feature_set.joined_views:
        view = spark.createDataFrame(views.tables[node.name])
        time_column = views.time_columns[node.name]
        frame = asof_join_spark(frame, view, node.key_column, time_column, left_time=_TIME)
    states = {t.name: t.state() for t in feature_set.transforms if t.fitted}
    frame, _ = _evaluate(spark, feature_set, [frame], None, states=states)
    return frame


def _evaluate(
    spark: Any,
    feature_set: FeatureSet,
    stages: list[DataFrame],
    fit_until_us: float | None,
    *,
    states: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[DataFrame, dict[str, dict[str, Any]]]:
    """Windows and derived features in ``feature_set.order``, as ``offline.evaluate_batch``.

    Nodes run in passes of one ``mapInArrow`` each; a window group starts a new pass with a
    ``repartition`` by its key (unless the pass already has that key), and so does a fitted
    transform that reads an output of the current pass, since its fit needs that output in
    Spark first. ``stages`` are the frames computed so far; a fit reads the earliest that has
    its inputs, so that its Spark job recomputes as little as possible. With ``states``, fitted
    transforms are not fitted: they run with those states.
    """
    frame = stages[-1]
    fitted = {name: dict(state) for name, state in (states or {}).items()}
    counted: dict[tuple[str, ...], tuple[np.ndarray[Any, Any], ...]] = {}
    steps: list[Transform | WindowNode] = []
    key: str | None = None

    def flush() -> None:
        nonlocal frame, key
        if steps:
            frame = _run_pass(spark, frame, key, list(steps), fitted)
            stages.append(frame)
            steps.clear()
            key = None

    for node in feature_set.order:
        if isinstance(node, WindowNode):
            if key not in (None, node.key_column):
                flush()
            key = node.key_column
        elif node.fitted and states is None:
            if set(node.inputs) & {spec.name for step in steps for spec in step.outputs}:
                flush()
            source = next(s for s in stages if set(node.inputs) <= set(s.columns))
            if node.inputs not in counted:
                counted[node.inputs] = _fit_rows(source, node.inputs, fit_until_us)
            node.fit(*counted[node.inputs])
            fitted[node.name] = node.state()
        steps.append(node)
    flush()
    return frame, fitted


def _fit_rows(
    source: DataFrame, inputs: tuple[str, ...], fit_until_us: float | None
) -> tuple[np.ndarray[Any, Any], ...]:
    """The fit window's input columns, rebuilt on the driver from Spark's distinct-tuple counts.

    The transform's own ``fit`` then learns exactly what it learns locally, for any fit that
    depends on the multiset of input rows and not on their order (ordinal and frequency
    tables). Trade-off: Spark ships only the distinct tuples with their counts (kilobytes,
    where collecting the column would ship every row's values), but ``np.repeat`` rebuilds
    the full column as an array of references to those few values: 8 bytes per fit row of
    driver memory, and ``fit`` still passes over every row. A ``fit`` from counts in the
    Transform API would remove both costs.
    """
    f = _functions()
    rows = source if fit_until_us is None else source.where(f.col(_TIME) < float(fit_until_us))
    counts = rows.groupBy(*inputs).agg(f.count(f.lit(1)).alias(_COUNT)).toArrow()
    repeats = np.asarray(counts.column(_COUNT).to_numpy(), dtype=np.int64)
    return tuple(np.repeat(arrow_to_array(counts.column(name)), repeats) for name in inputs)


def _run_pass(
    spark: Any,
    frame: DataFrame,
    key: str | None,
    steps: list[Transform | WindowNode],
    fitted: Mapping[str, Mapping[str, Any]],
) -> DataFrame:
    """``frame`` with the outputs of ``steps``, computed in order by one ``mapInArrow``.

    With window groups (``key`` set), ``repartition(key)`` puts all rows of an entity in one
    partition and each partition is computed as one table: ``window_features`` groups by entity
    itself (which is why the local code is written per entity), so one call on whole entities
    gives what a call per entity gives. Why not ``groupBy(key).applyInPandas``: Spark pays a
    fixed cost per group, measured at 5 ms with 18 columns and 20 ms with 70 (local[2], 461
    cards), hours for millions of entities; joining narrow per-group results back to the rows
    would evaluate the plan upstream twice instead. A partition is held in memory at once, as a
    group would be; ``spark.sql.shuffle.partitions`` (or AQE's coalescing) sizes them, and a
    hash repartition never splits a key. Without windows, Arrow batches stream one by one.
    """
    types = _types()
    new = [spec for step in steps for spec in step.outputs]
    new_names = {spec.name for spec in new}
    kept = [field.name for field in frame.schema.fields if field.name not in new_names]
    schema = types.StructType(
        [
            *(frame.schema[name] for name in kept),
            *(types.StructField(spec.name, _spark_type(spec.dtype)) for spec in new),
        ]
    )
    # Workers run the transforms from the broadcast states, as serving runs them from the
    # saved ones, not from whatever state the pickled objects carry.
    states = spark.sparkContext.broadcast(
        {
            step.name: dict(fitted[step.name])
            for step in steps
            if isinstance(step, Transform) and step.fitted
        }
    )
    outputs = [(spec.name, _arrow_type(spec.dtype)) for spec in new]

    def compute(rows: pa.Table) -> pa.Table:
        columns: Columns = {}  # as offline.evaluate_batch: each input converted once

        def column(name: str) -> np.ndarray[Any, Any]:
            if name not in columns:
                columns[name] = arrow_to_array(rows.column(name))
            return columns[name]

        for step in steps:
            if isinstance(step, WindowNode):  # as offline._windows
                times = column(step.time_column).astype(np.int64)
                values = column(step.value).astype(np.float64)
                columns.update(
                    window_features(step.aggregation, column(step.key_column), times, values)
                )
            else:
                results = step.batch(*(column(name) for name in step.inputs))
                for spec, result in zip(step.outputs, results, strict=True):
                    columns[spec.name] = result
        for name, kind in outputs:
            rows = rows.append_column(name, pa.array(columns[name]).cast(kind))
        return rows

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for step in steps:
            if isinstance(step, Transform) and step.fitted:
                step.load_state(states.value[step.name])
        if key is None:
            for batch in batches:
                yield from compute(pa.Table.from_batches([batch])).to_batches()
            return
        received = list(batches)
        if received:
            yield from compute(pa.Table.from_batches(received)).to_batches()

    source = frame.select(*kept)
    if key is not None:
        source = source.repartition(key)
    return source.mapInArrow(run, schema)


def _view_time_column(node: Any) -> str:
    return SNAPSHOT_COLUMN if isinstance(node, LabelRateNode) else PROFILE_TIME_COLUMN


def _micros(frame: DataFrame, column: str) -> Any:
    """``column`` of ``frame`` as float µs since the epoch, as ``values.arrow_to_array`` reads
    it: instants by ``unix_micros`` (no zone involved), dates at midnight UTC."""
    f = _functions()
    kind = frame.schema[column].dataType.typeName()
    if kind == "timestamp":
        return f.unix_micros(f.col(column)).cast("double")
    if kind == "timestamp_ntz":  # a wall-clock time, read as UTC (the session zone), as locally
        return f.unix_micros(f.col(column).cast("timestamp")).cast("double")
    if kind == "date":
        return f.unix_date(f.col(column)).cast("double") * MICROS_PER_DAY
    return f.col(column).cast("double")


def _floor_div(column: Any, divisor: int) -> Any:
    """Floor division of a long column, exact: ``column - pmod`` is a multiple of ``divisor``
    below 2**53 (like every float-µs time), so the division of doubles is exact too."""
    f = _functions()
    return ((column - f.pmod(column, f.lit(divisor))) / divisor).cast("long")


def _spark_type(dtype: str) -> Any:
    types = _types()
    return {
        "int": types.LongType(),
        "float": types.DoubleType(),
        "string": types.StringType(),
        "timestamp": types.LongType(),  # int64 µs since the epoch (features.spec.FieldType)
    }[dtype]


def _arrow_type(dtype: str) -> pa.DataType:
    return {"int": pa.int64(), "float": pa.float64(), "string": pa.string()}.get(dtype, pa.int64())


def _functions() -> Any:
    return require("pyspark.sql.functions", extra="spark", purpose="the Spark offline builder")


def _types() -> Any:
    return require("pyspark.sql.types", extra="spark", purpose="the Spark offline builder")


def _window() -> Any:
    return require("pyspark.sql.window", extra="spark", purpose="the Spark offline builder").Window


__all__ = [
    "SparkTrainingSet",
    "asof_join_spark",
    "batch_views_spark",
    "build_training_set_spark",
    "label_rate_snapshots_spark",
    "require_utc_session",
]
