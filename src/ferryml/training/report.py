"""The training report: one self-contained HTML page per ``ferry train``.

What a reviewer asks first, on one page: which periods and labels the models saw (with label
completeness per week), how each model ranks frauds, what its threshold costs in money on the
test period next to blocking nothing, the warnings, the plots, and the lineage that makes the
run traceable. Images are embedded, so the file can be mailed or attached to a ticket.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from ferryml.storage.atomic import atomic_write_text

if TYPE_CHECKING:
    from ferryml.training.project import ProjectTraining

TEMPLATE = "training_report.html.j2"
"""In ``ferryml/resources/templates``."""


def write_report(training: ProjectTraining, directory: Path, project: str) -> Path:
    """Write the report of ``training`` into ``directory``; return its path."""
    from ferryml.training.run import completeness_rows

    result = training.result
    environment = Environment(
        loader=PackageLoader("ferryml", "resources/templates"),
        autoescape=select_autoescape(default=True),
    )
    html = environment.get_template(TEMPLATE).render(
        training=training,
        result=result,
        project=project,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        split=training.prepared.split.describe(),
        summary=training.prepared.summary(),
        completeness=completeness_rows(training.prepared),
        currency=training.currency,
        warnings=training.prepared.warnings,
        images={
            m.name: {k: base64.b64encode(v).decode() for k, v in m.images.items()}
            for m in result.models
        },
        lineage=training.lineage,
    )
    path = directory / f"training-{result.training_id}.html"
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, html)
    return path


__all__ = ["write_report"]
