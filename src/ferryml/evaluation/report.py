"""The gate report: one self-contained HTML page and one JSON file per gated candidate.

The HTML answers, at a glance, whether the candidate may go to production and why not: a
verdict per gate, every check with its value and limit, the figures (precision-recall and
confusion at the threshold, latency histogram, error rates per segment, edge-case scores,
the paired-bootstrap intervals against the champion), and the rows it was judged on. Images
are embedded, so the file opens anywhere. The JSON holds the same facts for machines.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ferryml.evaluation.evaluate import GateReport
from ferryml.storage.atomic import atomic_write_text

TEMPLATE = "gate_report.html.j2"
"""In ``ferryml/resources/templates``."""


def report_name(report: GateReport) -> str:
    """The file stem of a candidate's report: its run id, else its label."""
    key = report.candidate.run_id or report.candidate.label
    return "gate-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in key)


def write_reports(
    report: GateReport, directory: Path, project: str, ranking: Sequence[GateReport] = ()
) -> tuple[Path, Path]:
    """Write the HTML and JSON reports of ``report`` into ``directory``."""
    environment = Environment(
        loader=PackageLoader("ferryml", "resources/templates"),
        autoescape=select_autoescape(default=True),
    )
    html = environment.get_template(TEMPLATE).render(
        report=report,
        project=project,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        images={
            result.gate: {k: base64.b64encode(v).decode() for k, v in result.images.items()}
            for result in report.results
        },
        ranking=ranking,
    )
    directory.mkdir(parents=True, exist_ok=True)
    stem = report_name(report)
    html_path = directory / f"{stem}.html"
    json_path = directory / f"{stem}.json"
    atomic_write_text(html_path, html)
    atomic_write_text(json_path, json.dumps(report.as_dict(), indent=2, default=_plain))
    return html_path, json_path


def _plain(value: object) -> object:
    """numpy scalars and other stragglers as plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


__all__ = ["report_name", "write_reports"]
