"""Alert rules fire on the windows that break them and on no other; alerts reach a real HTTP
webhook (with its bearer token) once each, however often the job runs; a webhook that refuses
or does not answer is a clear error and the alerts are sent again next time; rule configs
with mistakes are refused with the rule named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from ferryml.errors import ConfigError, ServiceUnavailableError
from ferryml.monitoring.alerts import evaluate, post_webhook
from ferryml.monitoring.config import AlertsConfig, DriftConfig, WebhookConfig
from ferryml.monitoring.drift import ColumnDrift, DriftReport
from ferryml.monitoring.monitor import MonitorReport, Window, WindowReport
from ferryml.monitoring.project import MonitorRun, deliver
from webhook_receiver import Receiver

DAY_US = 86_400 * 1_000_000
START = 1_767_571_200 * 1_000_000  # 2026-01-05


def column(name: str, *, drift: bool = False, psi: float = 0.01, nulls: float = 0.0) -> ColumnDrift:
    return ColumnDrift(
        column=name,
        kind="numeric",
        status="drift" if drift else "stable",
        reference_rows=1000,
        current_rows=1000,
        null_rate_reference=0.0,
        null_rate_current=nulls,
        effects={"psi": psi},
    )


def window(
    week: int,
    columns: list[ColumnDrift],
    *,
    prediction: bool = False,
    labels: bool = False,
    dropped: bool = False,
    approval: float = 0.95,
    rows: int = 1000,
) -> WindowReport:
    start = START + week * 7 * DAY_US
    performance = {"judged": True, "pr_auc": 0.5 if dropped else 0.8, "held_out_pr_auc": 0.8,
                   "label_completeness": 0.9, "dropped": dropped}  # fmt: skip
    return WindowReport(
        window=Window(start, start + 7 * DAY_US),
        rows=rows,
        weekdays=list(range(7)),
        data=DriftReport(tuple(columns), DriftConfig()),
        prediction=column("score", drift=prediction),
        labels={"drifted": labels, "rate": 0.05, "reference_rate": 0.02},
        performance=performance,
        business={
            "approval_rate": approval,
            "blocks_per_day": 10.0,
            "fraud_loss": 0.0,
            "false_positive_cost": 0.0,
            "cost_per_1000": 1.0,
        },
        versions=["1"],
        degraded_share=0.0,
    )


def report(*windows: WindowReport) -> MonitorReport:
    model = {"name": "fraud", "version": "1", "alias": "champion"}
    return MonitorReport({"model": model}, Window(START, START + 28 * DAY_US), list(windows))


IMPORTANCE = {f"f{i}": 1.0 / (i + 1) for i in range(12)}  # f0 most important


def rules(*raw: dict[str, Any]) -> AlertsConfig:
    return AlertsConfig.model_validate({"rules": list(raw)})


def test_each_rule_fires_on_the_window_that_breaks_it_only() -> None:
    quiet = window(0, [column("f0"), column("f11")])
    top_drift = window(1, [column("f0", drift=True, psi=0.31), column("f11", drift=True, psi=0.5)])
    mild = window(2, [column("f0", drift=True, psi=0.12)])  # below the rule's PSI
    dropped_column = window(3, [column("f3", nulls=0.4)])
    everything = window(4, [column("f0")], prediction=True, labels=True, dropped=True, approval=0.7)
    config = AlertsConfig()  # the defaults
    alerts = evaluate(config.rules, report(quiet, top_drift, mild, dropped_column, everything),
                      IMPORTANCE)  # fmt: skip
    fired = {(a.rule, a.window["from"][:10]) for a in alerts}
    assert fired == {
        ("top-feature-drift", "2026-01-12"),  # f0 only: f11 is not in the top 10
        ("null-rate", "2026-01-26"),
        ("prediction-drift", "2026-02-02"),
        ("label-drift", "2026-02-02"),
        ("concept-drift", "2026-02-02"),  # a drop with no input drifted
        ("performance-drop", "2026-02-02"),
    }
    (drift,) = [a for a in alerts if a.rule == "top-feature-drift"]
    assert drift.details["columns"] == {"f0": 0.31} and "f0 (PSI 0.31)" in drift.message
    assert {a.rule for a in alerts if a.retrain} == {"concept-drift", "performance-drop"}
    band = rules({"name": "approvals", "kind": "kpi", "kpi": "approval_rate", "min": 0.9})
    kpi = evaluate(band.rules, report(quiet, everything), IMPORTANCE)
    assert [(a.rule, a.details["value"]) for a in kpi] == [("approvals", 0.7)]


def test_the_null_rate_rule_fires_on_rises_that_are_significant_by_default() -> None:
    import dataclasses

    rose = column("f1", nulls=0.4)
    fell = dataclasses.replace(column("f2"), null_rate_reference=0.4)
    by_chance = dataclasses.replace(column("f3", nulls=0.4), p_values={"null_rate": 0.2})
    windows = report(window(0, [rose, fell, by_chance]))
    fired = evaluate(AlertsConfig().rules, windows, IMPORTANCE)
    assert [a.details["column"] for a in fired if a.kind == "null_rate"] == ["f1"]
    both = rules({"name": "nulls", "kind": "null_rate", "direction": "both"})
    assert [a.details["column"] for a in evaluate(both.rules, windows, IMPORTANCE)] == ["f1", "f2"]


def test_an_empty_window_raises_no_alert() -> None:
    empty = window(0, [column("f0", nulls=1.0)], approval=float("nan"), rows=0)
    assert evaluate(AlertsConfig().rules, report(empty), IMPORTANCE) == []


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"name": "x", "kind": "kpi", "kpi": "approval_rate"}, "give min, max or both"),
        ({"name": "x", "kind": "kpi", "kpi": "approval_rate", "min": 2, "max": 1}, "above max"),
        ({"name": "x", "kind": "typo"}, "does not match any of the expected tags"),
        ({"name": "x", "kind": "null_rate", "delat": 0.1}, "Extra inputs are not permitted"),
    ],
)
def test_a_broken_rule_is_refused_with_what_is_wrong(rule: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        rules(rule)


def test_rule_names_are_unique() -> None:
    with pytest.raises(ValidationError, match="x repeated"):
        rules({"name": "x", "kind": "label_drift"}, {"name": "x", "kind": "concept_drift"})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def test_alerts_reach_the_webhook_once_each_with_the_token(
    receiver: Receiver, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRY_TEST_HOOK_TOKEN", "hook-s3cret")
    webhook = WebhookConfig(url=receiver.url, token_env="FERRY_TEST_HOOK_TOKEN")
    first = report(window(0, [column("f0")], prediction=True))
    run = MonitorRun(first, evaluate(AlertsConfig().rules, first, IMPORTANCE))
    assert [a.rule for a in deliver(sqlite_engine, "p", webhook, run)] == ["prediction-drift"]
    assert deliver(sqlite_engine, "p", webhook, run) == []  # the job runs again: nothing new
    later = report(window(0, [column("f0")], prediction=True), window(1, [], labels=True))
    run = MonitorRun(later, evaluate(AlertsConfig().rules, later, IMPORTANCE))
    assert [a.rule for a in deliver(sqlite_engine, "p", webhook, run)] == ["label-drift"]
    assert len(receiver.posts) == 2
    headers, body = receiver.posts[0]
    assert headers["Authorization"] == "Bearer hook-s3cret"
    assert body["project"] == "p" and body["model"]["version"] == "1"
    assert [a["rule"] for a in body["alerts"]] == ["prediction-drift"]
    assert body["alerts"][0]["window"] == {"from": "2026-01-05T00:00:00.000000Z",
                                           "until": "2026-01-12T00:00:00.000000Z"}  # fmt: skip


def test_a_refusing_or_absent_webhook_is_an_error_and_the_alerts_go_again(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusing = Receiver(status=500)
    try:
        alerting = report(window(0, [column("f0")], labels=True))
        run = MonitorRun(alerting, evaluate(AlertsConfig().rules, alerting, IMPORTANCE))
        with pytest.raises(ServiceUnavailableError, match="answered 500"):
            deliver(sqlite_engine, "p", WebhookConfig(url=refusing.url), run)
        refusing.status = 204
        assert [
            a.rule for a in deliver(sqlite_engine, "p", WebhookConfig(url=refusing.url), run)
        ] == ["label-drift"]  # not remembered as sent after the failure: sent now
        url = refusing.url
    finally:
        refusing.close()
    with pytest.raises(ServiceUnavailableError, match="does not answer"):
        post_webhook(WebhookConfig(url=url, timeout_s=2), run.alerts, project="p", model={})
    monkeypatch.delenv("FERRY_NO_SUCH_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="FERRY_NO_SUCH_TOKEN"):
        post_webhook(WebhookConfig(url=url, token_env="FERRY_NO_SUCH_TOKEN"), run.alerts,
                     project="p", model={})  # fmt: skip
