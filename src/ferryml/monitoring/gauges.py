"""The monitor job's figures for Prometheus, as a text file for node_exporter's textfile
collector (or any scraper of such a file): the latest window's drift, performance and KPIs.

Written atomically (``prometheus_client.write_to_textfile`` writes a temporary file and renames
it), so a scrape never reads half a file. Gauges, all labelled with the model version:

- ``ferry_monitor_psi{column}`` and ``ferry_monitor_drifted{column}`` (1 or 0);
- ``ferry_monitor_prediction_psi``, ``ferry_monitor_label_drift``, ``ferry_monitor_concept_drift``;
- ``ferry_monitor_pr_auc``, ``ferry_monitor_label_completeness``;
- ``ferry_monitor_kpi{kpi}``: approval rate, blocks per day, fraud loss, false-positive cost,
  cost per 1,000;
- ``ferry_monitor_attention{feature}``: the feature's share of the model's attention (mean
  absolute contribution), for explanation drift;
- ``ferry_monitor_alerts{rule, severity}``: alerts of the run;
- ``ferry_monitor_window_end_seconds`` and ``ferry_monitor_rows``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from ferryml.monitoring.alerts import Alert
from ferryml.monitoring.monitor import MonitorReport


def write_gauges(path: Path, report: MonitorReport, alerts: Sequence[Alert]) -> bool:
    """Write the latest window's gauges to ``path``; False (and nothing written) when the
    report has no window."""
    if not report.windows:
        return False
    window = report.windows[-1]
    version = report.baseline["model"]["version"]
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, *labels: str) -> Gauge:
        return Gauge(name, doc, ["version", *labels], registry=registry)

    psi = gauge("ferry_monitor_psi", "PSI of a column in the latest window", "column")
    drifted = gauge("ferry_monitor_drifted", "1 when the column drifted", "column")
    for column in window.data.columns:
        value = column.effects.get("psi")
        if value is not None and math.isfinite(value):
            psi.labels(version, column.column).set(value)
        drifted.labels(version, column.column).set(float(column.drifted))
    prediction = window.prediction.effects.get("psi", math.nan)
    gauge("ferry_monitor_prediction_psi", "PSI of the scores").labels(version).set(prediction)
    gauge("ferry_monitor_label_drift", "1 on label drift").labels(version).set(
        float(window.labels["drifted"])
    )
    gauge("ferry_monitor_concept_drift", "1 on concept drift").labels(version).set(
        float(window.concept_drift)
    )
    performance = window.performance
    gauge("ferry_monitor_pr_auc", "PR-AUC on matured events (NaN: not judged)").labels(version).set(
        performance["pr_auc"]
    )
    gauge("ferry_monitor_label_completeness", "Share of the window matured").labels(version).set(
        performance["label_completeness"]
    )
    kpi = gauge("ferry_monitor_kpi", "Business KPI of the latest window", "kpi")
    for name, value in window.business.items():
        kpi.labels(version, name).set(value)
    shares = window.explanations.get("shares") or {}
    attention = gauge("ferry_monitor_attention", "Share of mean |SHAP| of a feature", "feature")
    for name, share in shares.items():
        attention.labels(version, name).set(share)
    fired = gauge("ferry_monitor_alerts", "Alerts of the run", "rule", "severity")
    for (rule, severity), count in Counter((a.rule, a.severity) for a in alerts).items():
        fired.labels(version, rule, severity).set(count)
    gauge("ferry_monitor_window_end_seconds", "End of the latest window").labels(version).set(
        window.window.end_us / 1e6
    )
    gauge("ferry_monitor_rows", "Answers in the latest window").labels(version).set(window.rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return True


__all__ = ["write_gauges"]
