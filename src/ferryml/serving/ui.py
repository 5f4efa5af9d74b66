"""The overview page and the reports it links, on the scoring app.

``GET /ui`` renders :class:`~ferryml.serving.overview.Overview` server-side (Jinja2, a little
CSS, no script); the data is gathered in a worker thread when the page is asked for, so the
event loop keeps answering scoring requests meanwhile. ``GET /ui/reports/{path}`` serves a file
of the workspace's ``reports/`` read-only (:func:`~ferryml.serving.report_files.report_file`
decides which). Neither takes the admin token: they show versions, routing, verdicts and
aggregate statistics, no record about a person (docs/serving.md says why, and which reports
stay off the port). ``serving.ui.enabled: false`` answers 404 on both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from ferryml.errors import NotFoundError
from ferryml.serving.overview import gather
from ferryml.serving.report_files import URL_PREFIX, report_file

if TYPE_CHECKING:
    from ferryml.serving.service import ScoringService

TEMPLATE = "overview.html.j2"
"""In ``ferryml/resources/templates``."""
PAGE_HEADERS = {
    # the page has no script and loads nothing from elsewhere: say so to the browser
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


def figure(value: float | None) -> str:
    """A number as the page prints it: four significant digits, a dash for none.

    >>> figure(0.041234), figure(1234.5), figure(None), figure(float("nan"))
    ('0.04123', '1234', '—', '—')
    """
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("ferryml", "resources/templates"),
        autoescape=select_autoescape(default=True),
    )
    environment.filters["figure"] = figure
    return environment


def add_ui(app: FastAPI, service: Callable[[], ScoringService]) -> None:
    """Mount ``/ui`` and ``/ui/reports/…`` on ``app``."""
    template = _environment().get_template(TEMPLATE)

    def enabled() -> ScoringService:
        current = service()
        if not current.config.ui.enabled:
            raise NotFoundError("the overview page is off", hint="serving.ui.enabled: true")
        return current

    @app.get("/ui", include_in_schema=False)
    async def overview() -> Response:
        """The overview page (not part of the API: it is for people, in a browser)."""
        current = enabled()
        page = await run_in_threadpool(gather, current)
        html = await run_in_threadpool(template.render, page=page)
        return HTMLResponse(html, headers=PAGE_HEADERS)

    @app.get(URL_PREFIX + "{path:path}", include_in_schema=False)
    async def report(path: str) -> Response:
        """A report file, as written (self-contained HTML, JSON, Markdown)."""
        current = enabled()
        file = report_file(
            current.context.workspace.reports, path, row_reports=current.config.ui.row_reports
        )
        return FileResponse(file, headers={"x-content-type-options": "nosniff"})


__all__ = ["TEMPLATE", "add_ui", "figure"]
