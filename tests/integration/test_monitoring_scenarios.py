"""Monitoring on the generator's drift scenarios: a model trained on eight weeks, then eleven
later weeks judged window by window — four quiet weeks (the no-drift control), two of a new
fraud pattern, two of the holiday season, one after it, one with a new merchant category and
one where a feed drops ``ip_country`` for 40 % of rows.

The later weeks' features are computed offline by the training code (window aggregates over
the events themselves, label-rate snapshots materialized daily, the model's fitted encodings),
which the skew test proves equal to what online scoring computes; the prediction log's own
reading is tested in ``test_monitoring_traffic.py`` and on replayed traffic in
``test_serving.py``. All labels have come in by the cutoff, so every window is judged on
performance too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ferryml.config.loader import LoadedConfig, load_config
from ferryml.monitoring.alerts import Alert, evaluate
from ferryml.monitoring.baseline import Baseline, baseline_of, monitored_columns
from ferryml.monitoring.monitor import MonitorReport, Window, WindowReport, monitor
from ferryml.monitoring.traffic import Traffic, column_array
from ferryml.pipeline import (
    ProjectContext,
    build_feature_store,
    generate_data,
    ingest_data,
    record_new_workspace,
)
from ferryml.registered import RegisteredModel
from ferryml.workspace import write_starter_config

START = date(2025, 1, 6)  # a Monday: every window is a whole week, Monday to Sunday
TRAINING_WEEKS = 8
WEEKS = 19


def week(number: int, day: int = 0) -> date:
    return START + timedelta(weeks=number, days=day)


CONTROL = range(8, 12)
NEW_FRAUD = (12, 13)
HOLIDAY = (14, 15)
AFTER_HOLIDAY = 16
NEW_CATEGORY = 17
MISSING = 18

SETTINGS = (
    f"data.synth.start={START}",
    f"data.synth.days={WEEKS * 7}",
    "data.synth.transactions_per_day=300",
    "data.synth.customers=1500",
    "data.synth.merchants=200",
    "data.synth.base_fraud_rate=0.03",
    "data.synth.label_delay_days.max=7",
    "data.synth.scenarios.bad_data.enabled=false",
    # one window each, at a strength a weekly window of ~2,000 rows and ~60 frauds shows
    "data.synth.scenarios.new_fraud_pattern={enabled: true, "
    f"start: {week(NEW_FRAUD[0])}, end: {week(NEW_FRAUD[1], 6)}, fraud_rate: 0.5}}",
    "data.synth.scenarios.holiday_season={enabled: true, "
    f"start: {week(HOLIDAY[0])}, end: {week(HOLIDAY[1], 6)}}}",
    "data.synth.scenarios.new_merchant_category={enabled: true, "
    f"start: {week(NEW_CATEGORY)}, end: {week(NEW_CATEGORY, 6)}}}",
    "data.synth.scenarios.missing_data={enabled: true, "
    f"start: {week(MISSING)}, end: {week(MISSING, 6)}, column: ip_country}}",
    # eight weeks of history: a label-rate window that fills within it (the reference
    # project's 90 days would still be filling, and drifting, in the weeks after training)
    "features.label_rates.merchant_risk.window=28d",
    "training.label_maturity_days=7",
    "training.split.validation_days=7",
    "training.split.test_days=7",
    "training.models={lightgbm: {kind: lightgbm, n_estimators: 200, learning_rate: 0.05, "
    "num_leaves: 31, min_child_samples: 50}}",
)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def us(day: date) -> float:
    return midnight(day).timestamp() * 1e6


@dataclass(frozen=True)
class Scenarios:
    loaded: LoadedConfig
    registered: RegisteredModel
    baseline: Baseline
    traffic: Traffic
    report: MonitorReport
    alerts: list[Alert]

    def window(self, number: int) -> WindowReport:
        (found,) = [w for w in self.report.windows if w.window.start_us == us(week(number))]
        return found

    def alerts_in(self, number: int) -> list[Alert]:
        return [a for a in self.alerts if a.window["from"].startswith(str(week(number)))]

    def judge(self, start: date, end: date, **windows: object) -> tuple[MonitorReport, list[Alert]]:
        """The traffic of ``[start, end)`` judged with other ``monitoring.windows`` settings."""
        config = self.loaded.config.monitoring
        changed = config.model_copy(update={"windows": config.windows.model_copy(update=windows)})
        baseline = Baseline(**{**vars(self.baseline), "config": changed, "_profiles": {}})
        report = run_monitor(self.loaded, baseline, self.traffic, start, end)
        return report, evaluate(changed.alerts.rules, report, self.registered.model.importance())


def run_monitor(
    loaded: LoadedConfig, baseline: Baseline, traffic: Traffic, start: date, end: date
) -> MonitorReport:
    costs = loaded.config.training.costs
    return monitor(
        baseline,
        traffic,
        period=Window(us(start), us(end)),
        amount_column=costs.false_negative_column,
        flat_false_negative=costs.false_negative,
        false_negative_factor=costs.false_negative_factor,
        false_positive_cost=costs.false_positive,
    )


def scored_traffic(
    context: ProjectContext, registered: RegisteredModel, columns: list[str], cutoff: datetime
) -> Traffic:
    """Every event of the latest dataset version as the model saw and answered it, with the
    labels known at ``cutoff`` (all matured by then)."""
    from ferryml.batch.local import feature_matrix
    from ferryml.features.build import load_views, read_events
    from ferryml.features.offline import scoring_features
    from ferryml.pipeline import resolve_version

    version = resolve_version(context, "transactions")
    table = read_events(registered.feature_set, version.path).sort_by(
        [("event_time", "ascending"), ("transaction_id", "ascending")]
    )
    # the label-rate snapshots of every day, as a daily `ferry features materialize` keeps
    # them; the encodings stay the model's own
    daily = build_feature_store(context, version.ref, as_of=cutoff)
    features = scoring_features(registered.feature_set, table, load_views(daily.build))
    scores = registered.model.predict_array(
        feature_matrix(features, registered, slice(0, table.num_rows))
    )
    stamps = pc.cast(table.column("event_time"), pa.timestamp("us", tz="UTC"))
    times = stamps.cast(pa.int64()).to_numpy().astype(np.float64)
    label_times = pc.cast(table.column("label_time"), pa.timestamp("us", tz="UTC"))
    known = pc.and_(pc.equal(table.column("is_fraud"), 1), pc.less(label_times, cutoff))
    logged = {
        name: column_array(
            list(features[name]) if name in features else table.column(name).to_pylist()
        )
        for name in columns
    }
    return Traffic(
        event_time_us=times,
        score=scores,
        blocked=scores >= registered.threshold,
        label=pc.fill_null(known, False).to_numpy(zero_copy_only=False).astype(np.float64),
        version=np.full(len(times), registered.version, dtype=object),
        degraded=np.zeros(len(times), dtype=bool),
        columns=logged,
    )


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenarios]:
    from ferryml.registered import load_registered
    from ferryml.registry import ModelRegistry
    from ferryml.training.project import tracker_for, train_project

    root = tmp_path_factory.mktemp("scenarios") / "ws"
    write_starter_config(root, "fraud")
    loaded = load_config(root / "configs" / "ferry.yaml", overrides=list(SETTINGS))
    context = ProjectContext.open(loaded)
    try:
        record_new_workspace(context)
        generated = root / "data" / "raw" / "generated"
        generate_data(context, generated)
        source = root / "data" / "raw" / "synth"
        (source / "transactions").mkdir(parents=True)
        for name in ("customers.parquet", "cards.parquet", "merchants.parquet"):
            shutil.copy(generated / name, source / name)

        def arrive(first: date, end: date) -> None:
            """The generated days in ``[first, end)`` land in the ingested source."""
            for part in sorted((generated / "transactions").iterdir()):
                if first <= date.fromisoformat(part.name.split("=")[1]) < end:
                    shutil.copytree(part, source / "transactions" / part.name)

        trained_at = midnight(week(TRAINING_WEEKS))
        arrive(START, week(TRAINING_WEEKS))
        ingested = ingest_data(context, "transactions", as_of=trained_at)
        built = build_feature_store(context, ingested.version.ref, as_of=trained_at)
        training = train_project(context, build=built.build, as_of=trained_at)
        assert training.registered is not None
        registry = ModelRegistry(tracker_for(loaded, root), loaded.config.project.name)
        registered = load_registered(loaded, root, registry, training.registered.version)

        arrive(week(TRAINING_WEEKS), week(WEEKS))
        cutoff = midnight(week(WEEKS + 2))  # chargebacks come within 7 days: all are in
        ingest_data(context, "transactions", as_of=midnight(week(WEEKS)))
        columns = monitored_columns(loaded, registered.model.features)
        baseline = baseline_of(loaded, registered, registry, columns)
        traffic = scored_traffic(context, registered, columns, cutoff)
        report = run_monitor(loaded, baseline, traffic, week(TRAINING_WEEKS), week(WEEKS))
        alerts = evaluate(
            loaded.config.monitoring.alerts.rules, report, registered.model.importance()
        )
        yield Scenarios(loaded, registered, baseline, traffic, report, alerts)
    finally:
        context.close()


def test_the_no_drift_control_period_raises_no_alert(scenarios: Scenarios) -> None:
    """Four quiet weeks right after training, in tumbling weekly windows and then in weekly
    windows rolled a day at a time (22 windows: a denominator for the false-alarm rate): no
    alert at the default thresholds."""
    for number in CONTROL:
        window = scenarios.window(number)
        assert window.rows > 1500 and window.performance["judged"]
        assert not window.performance["dropped"] and not window.labels["drifted"]
        assert scenarios.alerts_in(number) == [], [a.message for a in scenarios.alerts_in(number)]
    rolling, alerts = scenarios.judge(week(CONTROL[0]), week(CONTROL[-1] + 1), step_days=1)
    assert len(rolling.windows) == 22
    judged = [c for w in rolling.windows for c in w.data.columns if c.status != "not judged"]
    flagged = [c for c in judged if c.drifted]
    print(
        f"\nno-drift control: {len(alerts)} alerts in {len(rolling.windows)} rolling weekly "
        f"windows; {len(flagged)} of {len(judged)} column verdicts drift "
        f"({', '.join(sorted({c.column for c in flagged}))})"
    )
    assert alerts == [], [(a.window["from"], a.message) for a in alerts]


def test_the_new_fraud_pattern_is_concept_drift_with_stable_inputs(scenarios: Scenarios) -> None:
    for number in NEW_FRAUD:
        window = scenarios.window(number)
        assert window.performance["dropped"] and window.unstable_inputs == []
        assert window.concept_drift and window.labels["drifted"]
        assert not window.prediction.drifted
        kinds = {a.kind for a in scenarios.alerts_in(number)}
        assert {"concept_drift", "label_drift"} <= kinds
        assert any(a.retrain for a in scenarios.alerts_in(number))
    for number in (*CONTROL, *HOLIDAY, AFTER_HOLIDAY):
        assert not scenarios.window(number).concept_drift


def test_the_holiday_peak_is_data_drift_on_amount_and_category_in_season_only(
    scenarios: Scenarios,
) -> None:
    seasonal = {"amount_eur", "merchant_category", "merchant_category_rank"}
    for number in HOLIDAY:
        window = scenarios.window(number)
        assert seasonal <= set(window.data.drifted), window.data.drifted
        assert window.rows > 1.2 * scenarios.window(CONTROL[0]).rows  # the volume peak
    for number in (*CONTROL, *NEW_FRAUD, AFTER_HOLIDAY):
        assert not seasonal & set(scenarios.window(number).data.drifted), number


def test_the_new_merchant_category_is_flagged(scenarios: Scenarios) -> None:
    window = scenarios.window(NEW_CATEGORY)
    (category,) = [c for c in window.data.columns if c.column == "merchant_category"]
    assert category.drifted
    assert any(r.startswith("categories the reference never had: 6051") for r in category.reasons)
    assert category.effects["new_category_share"] == pytest.approx(0.05, abs=0.015)
    for number in (*CONTROL, *HOLIDAY):
        (before,) = [
            c for c in scenarios.window(number).data.columns if c.column == "merchant_category"
        ]
        assert "new_category_share" not in before.effects


def test_the_dropped_column_raises_a_null_rate_alert(scenarios: Scenarios) -> None:
    """``ip_country`` left null in 40 % of rows: the feature made of it (the distance between
    home and the IP's country) loses values, and the null-rate rule fires there only."""
    fired = [a for a in scenarios.alerts if a.kind == "null_rate"]
    assert fired and {a.window["from"][:10] for a in fired} == {str(week(MISSING))}
    assert {a.details["column"] for a in fired} == {"ip_distance_km"}
    (column,) = [c for c in scenarios.window(MISSING).data.columns if c.column == "ip_distance_km"]
    assert column.null_rate_current - column.null_rate_reference > 0.05
