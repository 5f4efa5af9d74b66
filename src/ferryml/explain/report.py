"""The explanation report: one self-contained HTML page (Plotly figures, plotly.js embedded
once, so the file opens anywhere without a network) and one JSON file with its numbers.

Sections, in order: SHAP global (mean |SHAP|, beeswarm), SHAP local (a waterfall per chosen
row), LIME, permutation importance, partial dependence and ICE (with the correlation warning),
the surrogate tree (fidelity first, then its rules) and the EBM.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from ferryml.storage.atomic import atomic_write_text

if TYPE_CHECKING:
    from ferryml.explain.explanation import Explanation

TEMPLATE = "explain_report.html.j2"
"""In ``ferryml/resources/templates``."""
SECTIONS = (
    "shap-global",
    "shap-local",
    "lime",
    "permutation",
    "dependence",
    "surrogate",
    "ebm",
)
"""The ids of the page's sections, in order."""


def write_explain_report(
    explanation: Explanation, directory: Path, stem: str, project: str
) -> tuple[Path, Path]:
    """Write ``stem``.html and ``stem``.json into ``directory``; return their paths."""
    import plotly.offline

    facts = jsonable(explanation.as_dict())
    environment = Environment(
        loader=PackageLoader("ferryml", "resources/templates"),
        autoescape=select_autoescape(default=True),
    )
    html = environment.get_template(TEMPLATE).render(
        report=facts,
        project=project,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        figures=figures(explanation),
        rules=explanation.surrogate.rules,
        plotlyjs=plotly.offline.get_plotlyjs(),
    )
    html_path, json_path = directory / f"{stem}.html", directory / f"{stem}.json"
    atomic_write_text(json_path, json.dumps(facts, indent=2, allow_nan=False))
    atomic_write_text(html_path, html)
    return html_path, json_path


def figures(explanation: Explanation) -> dict[str, list[str]]:
    """Each section's figures as HTML fragments (plotly.js is embedded once by the page)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    shap = explanation.shap
    top = explanation.options.top_features
    made: dict[str, list[Any]] = {section: [] for section in SECTIONS}
    ranked = list(shap.mean_abs().items())[:top]
    names = [name for name, _ in ranked][::-1]
    bar = go.Figure(go.Bar(x=[v for _, v in ranked][::-1], y=names, orientation="h"))
    bar.update_layout(title="Mean |SHAP| (log-odds)", height=_height(len(names)))
    made["shap-global"].append(bar)
    swarm = go.Figure()
    rng = np.random.default_rng(explanation.seed)
    dots = shap.beeswarm(names, explanation.options.beeswarm_points, explanation.seed)
    for position, name in enumerate(names):
        values, ranks = dots[name]["shap"], dots[name]["rank"]
        jitter = position + rng.uniform(-0.3, 0.3, len(values))
        missing = np.isnan(ranks)
        swarm.add_scatter(
            x=values[~missing], y=jitter[~missing], mode="markers", name=name, showlegend=False,
            marker={"size": 4, "color": ranks[~missing], "colorscale": "RdBu_r", "cmin": 0,
                    "cmax": 1, "showscale": position == 0,
                    "colorbar": {"title": "feature value (rank)"}},
        )  # fmt: skip
        if missing.any():
            swarm.add_scatter(
                x=values[missing], y=jitter[missing], mode="markers", name=f"{name} missing",
                showlegend=False, marker={"size": 4, "color": "#999"},
            )  # fmt: skip
    swarm.update_layout(
        title="Beeswarm: each row's SHAP value, coloured by the feature's value (grey: missing)",
        xaxis={"title": "SHAP value (log-odds)"},
        yaxis={"tickvals": list(range(len(names))), "ticktext": names},
        height=_height(len(names)),
    )
    made["shap-global"].append(swarm)
    for waterfall in explanation.waterfalls:
        steps = waterfall.contributions
        labels = [f"{c.feature} = {_value(c.value)}" for c in steps]
        figure = go.Figure(
            go.Waterfall(
                orientation="h", measure=["absolute", *["relative"] * (len(steps) + 1), "total"],
                y=["base value", *labels, "other features", "raw score"],
                x=[waterfall.base, *[c.shap for c in steps], waterfall.rest, 0.0],
            )
        )  # fmt: skip
        figure.update_layout(
            title=f"{waterfall.row_id}: score {waterfall.score:.4f} "
            f"(raw score {waterfall.raw_score:.3f} log-odds)",
            yaxis={"autorange": "reversed"},
            height=_height(len(steps) + 3),
        )
        made["shap-local"].append(figure)
    for lime in explanation.lime:
        weights = lime.weights[::-1]
        figure = go.Figure(
            go.Bar(
                x=[w for _, w in weights], y=[f for f, _ in weights], orientation="h",
                marker={"color": ["#b00020" if w > 0 else "#1f77b4" for _, w in weights]},
            )
        )  # fmt: skip
        figure.update_layout(
            title=f"LIME {lime.row_id}: score {lime.score:.4f}, local fit R² {lime.fit_r2:.2f}",
            height=_height(len(weights)),
        )
        made["lime"].append(figure)
    if explanation.permutation is not None:
        permutation = explanation.permutation.as_dict(top)["features"][::-1]
        figure = go.Figure(
            go.Bar(
                x=[p["mean"] for p in permutation], y=[p["feature"] for p in permutation],
                orientation="h", error_x={"type": "data", "array": [p["std"] for p in permutation]},
            )
        )  # fmt: skip
        figure.update_layout(title="Drop in PR-AUC when shuffled", height=_height(len(permutation)))
        made["permutation"].append(figure)
    for dependence in explanation.dependence:
        figure = go.Figure()
        for curve in dependence.ice:
            figure.add_scatter(x=dependence.grid, y=curve, mode="lines", showlegend=False,
                               line={"color": "rgba(120,120,120,0.25)", "width": 1})  # fmt: skip
        figure.add_scatter(
            x=dependence.grid, y=dependence.average, mode="lines+markers",
            name="partial dependence", line={"color": "#b00020", "width": 3},
        )  # fmt: skip
        figure.update_layout(
            title=f"{dependence.feature}: partial dependence and ICE",
            xaxis={"title": dependence.feature}, yaxis={"title": "score"},
        )  # fmt: skip
        made["dependence"].append(figure)
    if explanation.dependence_2d is not None:
        two = explanation.dependence_2d
        heat = go.Figure(
            go.Heatmap(z=two.average, y=two.grid_a, x=two.grid_b, colorscale="Reds",
                       colorbar={"title": "score"})
        )  # fmt: skip
        heat.update_layout(
            title=f"Partial dependence on {two.features[0]} and {two.features[1]}",
            yaxis={"title": two.features[0]}, xaxis={"title": two.features[1]},
        )  # fmt: skip
        made["dependence"].append(heat)
    if explanation.ebm is not None:
        terms = explanation.ebm.importances[::-1]
        figure = go.Figure(
            go.Bar(x=[v for _, v in terms], y=[t for t, _ in terms], orientation="h")
        )
        figure.update_layout(title="EBM term importances (mean |score|, log-odds)",
                             height=_height(len(terms)))  # fmt: skip
        made["ebm"].append(figure)
    return {
        section: [pio.to_html(f, full_html=False, include_plotlyjs=False) for f in listed]
        for section, listed in made.items()
    }


def jsonable(value: Any) -> Any:
    """``value`` with numpy numbers as Python ones and NaN or infinities as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    return value


def _height(bars: int) -> int:
    return max(320, 22 * bars + 140)


def _value(value: float) -> str:
    return "missing" if math.isnan(value) else f"{value:.4g}"


__all__ = ["SECTIONS", "TEMPLATE", "figures", "jsonable", "write_explain_report"]
