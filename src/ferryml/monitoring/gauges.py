"""The monitor job's figures for Prometheus: the latest window's drift, performance and KPIs.

:func:`monitor_gauges` builds them once, in a registry of their own; two outputs take it:

- :func:`write_gauges`: a text file for node_exporter's textfile collector (or any scraper
  of such a file), written atomically (``prometheus_client.write_to_textfile`` writes a
  temporary file and renames it), so a scrape never reads half a file;
- :func:`push_gauges`: a Prometheus Pushgateway, the path Prometheus recommends for batch
  jobs (a job ends before any scrape could reach it). The job is ``ferry-monitor``, grouped
  by project; a push replaces the group, so an alert or a column gone from the latest window
  is gone from the gateway too.

Gauges, all labelled with the model version:

- ``ferry_monitor_psi{column}`` and ``ferry_monitor_drifted{column}`` (1 or 0);
- ``ferry_monitor_prediction_psi`` and ``ferry_monitor_prediction_drifted`` (1 or 0, the
  monitor's verdict on the scores), ``ferry_monitor_label_drift``,
  ``ferry_monitor_concept_drift``;
- ``ferry_monitor_pr_auc`` (of the latest window whose labels had matured enough to judge it;
  NaN: none was), ``ferry_monitor_held_out_pr_auc`` (the model's on its held-out period),
  ``ferry_monitor_performance_dropped`` (1 when PR-AUC fell by
  ``monitoring.performance.pr_auc_drop`` or more), ``ferry_monitor_label_completeness`` (the
  same window's);
- ``ferry_monitor_kpi{kpi}``: approval rate, blocks per day, fraud loss, false-positive cost,
  cost per 1,000;
- ``ferry_monitor_attention{feature}``: the feature's share of the model's attention (mean
  absolute contribution), for explanation drift;
- ``ferry_monitor_alerts{rule, severity}``: alerts of the run;
- ``ferry_monitor_window_end_seconds`` and ``ferry_monitor_rows``.

>>> from prometheus_client import CollectorRegistry, Gauge, generate_latest
>>> registry = CollectorRegistry()
>>> Gauge("ferry_monitor_rows", "Answers", registry=registry).set(3)
>>> b"ferry_monitor_rows 3.0" in generate_latest(registry)
True
"""

from __future__ import annotations

import math
import urllib.error
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from ferryml.errors import InvalidInputError, ServiceUnavailableError
from ferryml.monitoring.alerts import Alert
from ferryml.monitoring.monitor import MonitorReport

JOB = "ferry-monitor"
"""The Pushgateway's ``job`` label of the monitor's gauges (alert rules select on it)."""

PUSH_TIMEOUT_SECONDS = 10.0


def monitor_gauges(report: MonitorReport, alerts: Sequence[Alert]) -> CollectorRegistry | None:
    """The latest window's gauges in a registry of their own; None when the report has no
    window."""
    if not report.windows:
        return None
    window = report.windows[-1]
    version = report.baseline["model"]["version"]
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, *labels: str) -> Gauge:
        return Gauge(name, doc, ["version", *labels], registry=registry)

    def single(name: str, doc: str, value: float) -> None:
        gauge(name, doc).labels(version).set(value)

    psi = gauge("ferry_monitor_psi", "PSI of a column in the latest window", "column")
    drifted = gauge("ferry_monitor_drifted", "1 when the column drifted", "column")
    for column in window.data.columns:
        value = column.effects.get("psi")
        if value is not None and math.isfinite(value):
            psi.labels(version, column.column).set(value)
        drifted.labels(version, column.column).set(float(column.drifted))
    prediction = window.prediction
    single(
        "ferry_monitor_prediction_psi", "PSI of the scores", prediction.effects.get("psi", math.nan)
    )
    single(
        "ferry_monitor_prediction_drifted", "1 when the scores drifted", float(prediction.drifted)
    )
    single("ferry_monitor_label_drift", "1 on label drift", float(window.labels["drifted"]))
    single("ferry_monitor_concept_drift", "1 on concept drift", float(window.concept_drift))
    # Labels arrive late: the latest window has few matured labels, if any, so PR-AUC and
    # completeness come from the latest window whose performance was judged (a job judging
    # two or more windows gauges one with matured labels), else from the latest.
    judged = [w for w in report.windows if w.performance.get("judged")]
    performance = (judged[-1] if judged else window).performance
    single(
        "ferry_monitor_pr_auc", "PR-AUC on matured events (NaN: not judged)", performance["pr_auc"]
    )
    single(
        "ferry_monitor_held_out_pr_auc",
        "PR-AUC of the model on its held-out period",
        performance.get("held_out_pr_auc", math.nan),
    )
    single(
        "ferry_monitor_performance_dropped",
        "1 when PR-AUC fell by pr_auc_drop or more",
        float(bool(performance.get("dropped"))),
    )
    single(
        "ferry_monitor_label_completeness",
        "Share of the window matured",
        performance["label_completeness"],
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
    single(
        "ferry_monitor_window_end_seconds", "End of the latest window", window.window.end_us / 1e6
    )
    single("ferry_monitor_rows", "Answers in the latest window", window.rows)
    return registry


def write_gauges(path: Path, registry: CollectorRegistry) -> None:
    """Write the gauges to ``path`` (Prometheus text format), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


def push_gauges(
    url: str, registry: CollectorRegistry, *, project: str, timeout: float = PUSH_TIMEOUT_SECONDS
) -> None:
    """Replace the gauges of job ``ferry-monitor``, group ``project``, on the Pushgateway at
    ``url`` (``http://pushgateway:9091``; without a scheme, http).

    Raises :class:`ServiceUnavailableError` when the gateway does not answer or refuses the
    push, :class:`InvalidInputError` when ``url`` is not a URL."""
    try:
        push_to_gateway(
            url, job=JOB, registry=registry, grouping_key={"project": project}, timeout=timeout
        )
    except urllib.error.HTTPError as exc:  # it answered, and refused
        body = exc.read().decode("utf-8", "replace").strip()
        raise ServiceUnavailableError(
            f"the Pushgateway at {url} refused the monitor's gauges: HTTP {exc.code} {body}",
            hint="its log says why; the report and any --prometheus-file are written",
        ) from exc
    except OSError as exc:  # refused, unreachable, timed out
        reason = getattr(exc, "reason", exc)
        raise ServiceUnavailableError(
            f"the Pushgateway at {url} did not answer ({reason}): the monitor's gauges were "
            "not pushed",
            hint="check the URL of --pushgateway and that the gateway runs (docker compose "
            "-f deploy/compose.yaml up -d pushgateway); the report and any --prometheus-file "
            "are written, and rerunning `ferry monitor run` pushes again",
        ) from exc
    except ValueError as exc:  # urllib: not a URL it can open
        raise InvalidInputError(
            f"--pushgateway {url!r} is not a URL: {exc}",
            hint="give the gateway's address, e.g. http://pushgateway:9091",
        ) from exc


__all__ = ["JOB", "monitor_gauges", "push_gauges", "write_gauges"]
