"""The monitor job's gauges reach Prometheus through a real Pushgateway (the binary `make
tools` fetches): what is pushed is what the text file holds, under job ferry-monitor and the
project; a push replaces the project's group and leaves other projects alone; a gateway that
does not answer fails the job with a clear error after the report and the file are written;
and every monitor metric the alert rules and the dashboard query is on the gateway.

The report is a real :class:`MonitorReport` of generated traffic against a generated
baseline (the way tests/unit/monitoring/test_monitor.py builds them): no workspace, no model.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2 as httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import answering, require_tool
from deploy_metrics import exported, from_monitor, referenced, unexported
from ferryml.cli_monitor import _finish
from ferryml.errors import ServiceUnavailableError
from ferryml.monitoring.alerts import evaluate
from ferryml.monitoring.baseline import Baseline
from ferryml.monitoring.config import MonitoringConfig
from ferryml.monitoring.explanations import attention_shares
from ferryml.monitoring.gauges import JOB, monitor_gauges, push_gauges, write_gauges
from ferryml.monitoring.monitor import MonitorReport, Window, monitor
from ferryml.monitoring.performance import Outcomes
from ferryml.monitoring.project import MonitorRun
from ferryml.monitoring.times import US_PER_DAY, weekdays_of
from ferryml.monitoring.traffic import Traffic
from ferryml.quickstart.server import free_port

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
US = 1_000_000
FEATURES = ["amount", "risk"]
WEIGHTS = np.array([0.02, 1.0])


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Pushgateway on a free loopback port for the module; its URL."""
    binary = require_tool("prometheus-pushgateway", "make tools")
    port = free_port()
    log = tmp_path_factory.mktemp("pushgateway") / "pushgateway.log"
    url = f"http://127.0.0.1:{port}"
    command = [str(binary), f"--web.listen-address=127.0.0.1:{port}"]
    with answering(command, f"{url}/-/ready", log, timeout=20):
        yield url


def _events(
    rng: np.random.Generator, start: datetime, days: int, per_day: int, shift: float = 0.0
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Times, columns, labels and scores of generated events; ``shift`` moves the amounts."""
    n = days * per_day
    times = start.timestamp() * US + np.sort(rng.random(n)) * days * US_PER_DAY
    risk = rng.random(n)
    columns = {
        "amount": rng.lognormal(3.0 + shift, 0.5, n),
        "risk": risk,
        "category": rng.choice(np.array(["grocery", "fuel", "travel"], dtype=object), size=n),
    }
    label = (rng.random(n) < 0.02 + 0.25 * risk**4).astype(float)
    return times, columns, label, np.clip(risk + rng.normal(0, 0.05, n), 0, 1)


def _explain(values: np.ndarray) -> np.ndarray:
    """A linear model's contributions (and a zero base value, last)."""
    return np.column_stack([values * WEIGHTS, np.zeros(len(values))])


def _report(config: MonitoringConfig) -> MonitorReport:
    """A week of traffic whose amounts moved, against a four-week baseline."""
    rng = np.random.default_rng(7)
    ref_times, ref_columns, _, _ = _events(rng, START - timedelta(days=28), 28, 300)
    held_times, held_columns, held_label, held_scores = _events(
        rng, START - timedelta(days=7), 7, 300
    )
    held_matrix = np.column_stack([held_columns[name] for name in FEATURES])
    baseline = Baseline(
        model={"name": "fraud", "version": "3", "alias": "champion"},
        columns=ref_columns,
        weekdays=weekdays_of(ref_times),
        period_us=(ref_times[0], START.timestamp() * US),
        held_out=Outcomes(
            held_scores, held_scores >= 0.8, held_label, np.full(len(held_label), 100.0)
        ),
        held_out_weekdays=weekdays_of(held_times),
        held_out_period={"from": "", "until": ""},
        config=config,
        features=FEATURES,
        explain=_explain,
        held_out_shares=attention_shares(_explain(held_matrix), FEATURES),
        importance={"amount": 0.6, "risk": 0.4},
    )
    times, columns, label, scores = _events(rng, START, 7, 300, shift=0.5)
    traffic = Traffic(
        event_time_us=times,
        score=scores,
        blocked=scores >= 0.8,
        label=label,
        version=np.full(len(times), "3", dtype=object),
        degraded=np.zeros(len(times), dtype=bool),
        columns=columns,
    )
    return monitor(
        baseline,
        traffic,
        period=Window(START.timestamp() * US, (START + timedelta(days=7)).timestamp() * US),
        amount_column="amount",
        flat_false_negative=100.0,
        false_negative_factor=1.0,
        false_positive_cost=10.0,
    )


@pytest.fixture(scope="module")
def run() -> MonitorRun:
    """The report and the alerts its rules raised (the default rules, and a KPI rule that
    always fires)."""
    config = MonitoringConfig.model_validate(
        {"alerts": {"rules": [
            {"name": "amount-drift", "kind": "data_drift", "columns": ["amount"]},
            {"name": "approvals", "kind": "kpi", "kpi": "approval_rate", "max": 0.1,
             "severity": "critical"},
        ]}}
    )  # fmt: skip
    report = _report(config)
    alerts = evaluate(config.alerts.rules, report, {"amount": 0.6, "risk": 0.4})
    assert {a.rule for a in alerts} == {"amount-drift", "approvals"}
    return MonitorRun(report, alerts)


def scrape(url: str) -> dict[str, list[Any]]:
    """The gateway's samples, by name."""
    samples: dict[str, list[Any]] = {}
    for metrics in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=5).text):
        for sample in metrics.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def of_project(samples: dict[str, list[Any]], project: str) -> dict[tuple[str, Any], float]:
    """(name, labels without job, project and instance) → value, of one project's group."""
    found = {}
    for name, listed in samples.items():
        for sample in listed:
            labels = dict(sample.labels)
            if labels.pop("project", None) != project or labels.pop("job", None) != JOB:
                continue
            labels.pop("instance", None)
            found[name, frozenset(labels.items())] = sample.value
    return found


def same(left: dict[tuple[str, Any], float], right: dict[tuple[str, Any], float]) -> bool:
    return left.keys() == right.keys() and all(
        (math.isnan(v) and math.isnan(right[k])) or v == right[k] for k, v in left.items()
    )


def test_the_gateway_holds_what_the_text_file_holds(
    pushgateway: str, run: MonitorRun, tmp_path: Path
) -> None:
    registry = monitor_gauges(run.report, run.alerts)
    assert registry is not None
    file = tmp_path / "ferry.prom"
    write_gauges(file, registry)
    before = time.time()
    push_gauges(pushgateway, registry, project="fraud")
    samples = scrape(pushgateway)
    written = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for metrics in text_string_to_metric_families(file.read_text())
        for sample in metrics.samples
    }
    pushed = of_project(samples, "fraud")
    pushed_at = pushed.pop(("push_time_seconds", frozenset()))
    pushed.pop(("push_failure_time_seconds", frozenset()))
    assert same(pushed, written), set(pushed) ^ set(written)
    assert before - 1 <= pushed_at <= time.time() + 1
    # the figures are the report's
    window = run.report.windows[-1]
    assert pushed["ferry_monitor_drifted", frozenset({("version", "3"), ("column", "amount")})] == 1
    assert pushed["ferry_monitor_rows", frozenset({("version", "3")})] == window.rows
    rules = {("approvals", "critical"), ("amount-drift", "warning")}
    assert {
        (dict(labels)["rule"], dict(labels)["severity"])
        for name, labels in pushed
        if name == "ferry_monitor_alerts"
    } == rules


def test_a_push_replaces_the_projects_group_and_no_other(pushgateway: str, run: MonitorRun) -> None:
    first = monitor_gauges(run.report, run.alerts)
    assert first is not None
    push_gauges(pushgateway, first, project="cards")
    push_gauges(pushgateway, first, project="loans")
    quiet = monitor_gauges(run.report, [])  # the next run raised no alert
    assert quiet is not None
    push_gauges(pushgateway, quiet, project="cards")
    samples = scrape(pushgateway)
    assert not [k for k in of_project(samples, "cards") if k[0] == "ferry_monitor_alerts"]
    assert [k for k in of_project(samples, "loans") if k[0] == "ferry_monitor_alerts"]


def test_the_alert_rules_and_dashboard_query_only_monitor_gauges_the_gateway_holds(
    pushgateway: str, run: MonitorRun
) -> None:
    registry = monitor_gauges(run.report, run.alerts)
    assert registry is not None
    push_gauges(pushgateway, registry, project="queried")
    holds = exported(httpx.get(f"{pushgateway}/metrics", timeout=5).text)
    missing = unexported(holds, "the Pushgateway after a monitor push", from_monitor, referenced())
    assert not missing, "\n".join(missing)


def _context(project: str) -> Any:
    """What :func:`_finish` reads of a project without webhook nor retraining: its name."""
    return SimpleNamespace(workspace=SimpleNamespace(project=project))


def test_the_job_pushes_after_writing_the_report(
    pushgateway: str, run: MonitorRun, tmp_path: Path
) -> None:
    _finish(_context("job"), run, tmp_path, notify=False, gauges=None, pushgateway=pushgateway)
    assert len(list(tmp_path.glob("monitor-*.json"))) == 1
    assert of_project(scrape(pushgateway), "job")


def test_a_gateway_that_does_not_answer_fails_the_job_after_everything_is_written(
    run: MonitorRun, tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    gauges = tmp_path / "gauges" / "ferry.prom"
    with pytest.raises(ServiceUnavailableError) as raised:
        _finish(_context("fraud"), run, tmp_path, notify=False, gauges=gauges, pushgateway=nobody)
    message = str(raised.value)
    assert f"the Pushgateway at {nobody} did not answer" in message
    assert "--pushgateway" in message and "rerunning `ferry monitor run` pushes again" in message
    assert isinstance(raised.value.__cause__, OSError)
    assert len(list(tmp_path.glob("monitor-*.html"))) == 1
    assert len(list(tmp_path.glob("monitor-*.json"))) == 1
    assert "ferry_monitor_rows" in gauges.read_text()


def test_performance_comes_from_the_latest_window_whose_labels_were_judged(
    run: MonitorRun,
) -> None:
    """Labels arrive late: a job judging two windows gauges PR-AUC of the older, matured one
    while drift and rows stay those of the latest."""
    (judged,) = run.report.windows
    assert judged.performance["judged"]
    fresh = dataclasses.replace(
        judged,
        rows=judged.rows + 1,
        performance={**judged.performance, "judged": False, "pr_auc": math.nan,
                     "label_completeness": 0.0},
    )  # fmt: skip
    registry = monitor_gauges(dataclasses.replace(run.report, windows=[judged, fresh]), [])
    assert registry is not None
    values = {
        sample.name: sample.value for metric in registry.collect() for sample in metric.samples
    }
    assert values["ferry_monitor_pr_auc"] == judged.performance["pr_auc"]
    assert values["ferry_monitor_label_completeness"] == judged.performance["label_completeness"]
    assert values["ferry_monitor_rows"] == fresh.rows
