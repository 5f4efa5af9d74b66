"""Alert rules on monitoring windows, and where alerts go.

Rules come from ``monitoring.alerts.rules`` (defaults: PSI >= 0.2 on one of the model's ten
most important features, a null rate that rose, prediction, label and concept drift, a PR-AUC
drop). Each window of a report is checked against each rule; every firing is an
:class:`Alert` saying which rule, which window, what was seen and whether the rule asks for
retraining.

Alerts are logged (one ``WARNING`` line each) and, when ``monitoring.alerts.webhook`` is set,
POSTed as one JSON document per run. A monitor job that runs every hour sees the same window
again: :func:`unsent` keeps the alerts not yet delivered (keyed by rule and window, remembered
in the platform DB once the webhook took them), so each is sent once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ferryml.errors import ConfigError, ConfigIssue, ServiceUnavailableError
from ferryml.monitoring.baseline import by_importance
from ferryml.monitoring.config import (
    AlertRule,
    DataDriftRule,
    KpiRule,
    NullRateRule,
    VerdictRule,
    WebhookConfig,
)
from ferryml.monitoring.monitor import MonitorReport, WindowReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    rule: str
    kind: str
    severity: str
    window: dict[str, str]
    message: str
    retrain: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The same rule on the same window is the same alert."""
        return f"{self.rule}@{self.window['from']}/{self.window['until']}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    rules: Sequence[AlertRule], report: MonitorReport, importance: Mapping[str, float]
) -> list[Alert]:
    """Every rule on every window of ``report``; ``importance``: the model's, by feature."""
    ranked = by_importance(importance)
    alerts = []
    for window in report.windows:
        for rule in rules:
            alerts.extend(_fire(rule, window, ranked))
    return alerts


def _fire(rule: AlertRule, window: WindowReport, ranked: list[str]) -> list[Alert]:
    period = window.window.describe()

    def alert(message: str, **details: Any) -> Alert:
        return Alert(rule.name, rule.kind, rule.severity, period, message, rule.retrain, details)

    if window.rows == 0:
        return []
    if isinstance(rule, DataDriftRule):
        chosen = set(rule.columns) or None
        if rule.top_features is not None:
            top = set(ranked[: rule.top_features])
            chosen = top if chosen is None else chosen & top
        hits = {
            column.column: column.effects.get("psi", math.nan)
            for column in window.data.columns
            if column.drifted
            and (chosen is None or column.column in chosen)
            and (rule.min_psi is None or column.effects.get("psi", 0.0) >= rule.min_psi)
        }
        if not hits:
            return []
        listed = ", ".join(f"{name} (PSI {psi:.2f})" for name, psi in sorted(hits.items()))
        return [alert(f"data drift in {listed}", columns=hits)]
    if isinstance(rule, NullRateRule):
        moved = {
            column.column: (column.null_rate_reference, column.null_rate_current)
            for column in window.data.columns
            if column.current_rows
            and _moved(column.null_rate_current - column.null_rate_reference, rule)
            and column.p_values.get("null_rate", 0.0) < window.data.config.alpha
        }
        return [
            alert(f"null rate of {name} moved from {before:.1%} to {after:.1%}", column=name)
            for name, (before, after) in sorted(moved.items())
        ]
    if isinstance(rule, VerdictRule):
        return _verdict(rule, window, alert)
    if isinstance(rule, KpiRule):
        value = window.business[rule.kpi]
        if math.isnan(value):
            return []
        low = rule.min is not None and value < rule.min
        high = rule.max is not None and value > rule.max
        if not (low or high):
            return []
        band = f"[{'' if rule.min is None else rule.min}, {'' if rule.max is None else rule.max}]"
        return [alert(f"{rule.kpi} {value:.4g} outside {band}", value=value)]
    raise AssertionError(f"unknown rule kind {rule!r}")  # pragma: no cover


def _moved(change: float, rule: NullRateRule) -> bool:
    if rule.direction == "up":
        return change >= rule.delta
    if rule.direction == "down":
        return -change >= rule.delta
    return abs(change) >= rule.delta


def _verdict(rule: VerdictRule, window: WindowReport, alert: Any) -> list[Alert]:
    performance = window.performance
    if rule.kind == "prediction_drift" and window.prediction.drifted:
        return [
            alert("prediction drift: the score distribution moved", **window.prediction.effects)
        ]
    if rule.kind == "label_drift" and window.labels["drifted"]:
        labels = window.labels
        return [
            alert(
                f"label drift: fraud rate {labels['rate']:.2%} vs {labels['reference_rate']:.2%} "
                "in the training history",
                rate=labels["rate"],
                reference_rate=labels["reference_rate"],
            )
        ]
    if rule.kind == "concept_drift" and window.concept_drift:
        return [
            alert(
                f"concept drift: PR-AUC {performance['pr_auc']:.3f} vs "
                f"{performance['held_out_pr_auc']:.3f} held out with stable inputs",
                pr_auc=performance["pr_auc"],
            )
        ]
    if rule.kind == "explanation_drift" and window.explanations.get("drifted"):
        reasons = window.explanations["reasons"]
        return [alert("explanation drift: " + "; ".join(reasons), reasons=reasons)]
    if rule.kind == "performance_drop" and performance.get("dropped"):
        return [
            alert(
                f"performance drop: PR-AUC {performance['pr_auc']:.3f} vs "
                f"{performance['held_out_pr_auc']:.3f} held out "
                f"(labels in: {performance['label_completeness']:.0%})",
                pr_auc=performance["pr_auc"],
            )
        ]
    return []


def log_alerts(alerts: Sequence[Alert], project: str) -> None:
    for item in alerts:
        log.warning(
            "ALERT %s [%s] %s %s..%s: %s",
            project,
            item.severity,
            item.rule,
            item.window["from"][:16],
            item.window["until"][:16],
            item.message,
        )


def post_webhook(
    webhook: WebhookConfig, alerts: Sequence[Alert], *, project: str, model: Mapping[str, str]
) -> None:
    """POST the alerts as one JSON document; a refusal or no answer is an error (the alerts
    stay unsent, and are sent again by the next run)."""
    headers = {"Content-Type": "application/json"}
    if webhook.token_env is not None:
        token = os.environ.get(webhook.token_env)
        if not token:
            raise ConfigError(
                "the webhook's bearer token is not set",
                issues=[
                    ConfigIssue(
                        source=f"environment variable {webhook.token_env}",
                        key_path="monitoring.alerts.webhook.token_env",
                        expected="a non-empty token",
                        found="unset or empty",
                    )
                ],
            )
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(
        {"project": project, "model": dict(model), "alerts": [a.as_dict() for a in alerts]},
        allow_nan=False,
        default=str,
    ).encode()
    request = urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=webhook.timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ServiceUnavailableError(
            f"the alert webhook {webhook.url} does not answer: {exc}",
            hint="check monitoring.alerts.webhook.url; the alerts are in the report and the "
            "log, and the next run sends them again",
        ) from exc
    if not 200 <= status < 300:
        raise ServiceUnavailableError(
            f"the alert webhook {webhook.url} answered {status}",
            hint="the alerts are in the report and the log; the next run sends them again",
        )


__all__ = ["Alert", "evaluate", "log_alerts", "post_webhook"]
