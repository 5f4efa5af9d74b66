"""The monitoring report: one self-contained HTML page (Plotly figures, plotly.js embedded
once, so the file opens anywhere without a network) and one JSON file with every figure's
numbers.

The page answers, window by window: did the inputs move (a heat map of PSI per column and
window, the drifted columns named), did the scores and the fraud rate move, how did the model
do on the labels that have come in (PR-AUC against the held-out period's, with label
completeness, since recent windows are judged on few labels), what it cost, and whether the
model now leans on other features (its attention per feature, latest window vs held out).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ferryml.monitoring.alerts import Alert
from ferryml.monitoring.monitor import MonitorReport
from ferryml.storage.atomic import atomic_write_text

TEMPLATE = "monitor_report.html.j2"
"""In ``ferryml/resources/templates``."""


def write_monitor_report(
    report: MonitorReport,
    directory: Path,
    project: str,
    stem: str,
    alerts: Sequence[Alert] = (),
) -> tuple[Path, Path]:
    """Write ``stem``.html and ``stem``.json into ``directory``."""
    facts = {**report.as_dict(), "alerts": [alert.as_dict() for alert in alerts]}
    environment = Environment(
        loader=PackageLoader("ferryml", "resources/templates"),
        autoescape=select_autoescape(default=True),
    )
    html = environment.get_template(TEMPLATE).render(
        report=facts,
        project=project,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        figures=figures(report),
    )
    directory.mkdir(parents=True, exist_ok=True)
    html_path = directory / f"{stem}.html"
    json_path = directory / f"{stem}.json"
    atomic_write_text(json_path, json.dumps(_finite(facts), indent=2, allow_nan=False))
    atomic_write_text(html_path, html)
    return html_path, json_path


def figures(report: MonitorReport) -> list[str]:
    """The report's figures as HTML fragments (the first carries plotly.js)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    labels = [w.window.describe()["from"][:10] for w in report.windows]
    made: list[Any] = []
    if report.windows:
        columns = [c.column for c in report.windows[0].data.columns]
        psi = [[_psi(w, column) for w in report.windows] for column in columns]
        heat = go.Figure(
            go.Heatmap(z=psi, x=labels, y=columns, colorscale="Reds", zmin=0, zmax=0.3,
                       colorbar={"title": "PSI"}, hoverongaps=False)
        )  # fmt: skip
        heat.update_layout(
            title="Data drift: PSI per column and window (0.1 moderate, 0.2 major)",
            height=max(320, 18 * len(columns) + 140),
            yaxis={"autorange": "reversed"},
        )
        made.append(heat)
        performance = go.Figure()
        performance.add_scatter(
            x=labels, y=[_number(w.performance.get("pr_auc")) for w in report.windows],
            mode="lines+markers", name="PR-AUC (matured events)",
        )  # fmt: skip
        performance.add_scatter(
            x=labels, y=[_number(w.performance.get("held_out_pr_auc")) for w in report.windows],
            mode="lines", name="PR-AUC held out", line={"dash": "dash"},
        )  # fmt: skip
        performance.add_bar(
            x=labels, y=[w.performance["label_completeness"] for w in report.windows],
            name="label completeness", opacity=0.3, yaxis="y2",
        )  # fmt: skip
        performance.update_layout(
            title="Performance on the labels that have come in",
            yaxis={"title": "PR-AUC", "range": [0, 1]},
            yaxis2={"title": "matured share", "overlaying": "y", "side": "right", "range": [0, 1]},
        )
        made.append(performance)
        business = go.Figure()
        business.add_scatter(
            x=labels, y=[w.business["approval_rate"] for w in report.windows],
            mode="lines+markers", name="approval rate",
        )  # fmt: skip
        business.add_scatter(
            x=labels, y=[_number(w.business["cost_per_1000"]) for w in report.windows],
            mode="lines+markers", name="cost per 1,000 matured answers", yaxis="y2",
        )  # fmt: skip
        business.update_layout(
            title="Business KPIs",
            yaxis={"title": "approval rate"},
            yaxis2={"title": "cost / 1,000", "overlaying": "y", "side": "right"},
        )
        made.append(business)
        latest = report.windows[-1].explanations
        if latest.get("explained"):
            held, now = latest["held_out_shares"], latest["shares"]
            names = sorted(held, key=lambda name: -max(held[name], now[name]))[:15]
            attention = go.Figure()
            attention.add_bar(x=names, y=[held[n] for n in names], name="held out")
            attention.add_bar(x=names, y=[now[n] for n in names], name=labels[-1])
            attention.update_layout(
                title="Explanations: share of the model's attention (mean |SHAP|), latest window",
                barmode="group",
                yaxis={"title": "share", "tickformat": ".0%"},
            )
            made.append(attention)
    return [
        pio.to_html(figure, full_html=False, include_plotlyjs=index == 0)
        for index, figure in enumerate(made)
    ]


def _psi(window: Any, column: str) -> float | None:
    for drift in window.data.columns:
        if drift.column == column:
            value = drift.effects.get("psi")
            return None if value is None or not math.isfinite(value) else float(value)
    return None


def _number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


__all__ = ["figures", "write_monitor_report"]
