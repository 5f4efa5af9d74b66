"""The workspace's reports as the overview page shows them: the latest gate verdicts, the
latest monitoring report's drift per feature and business KPIs, links to every kind of report,
and the one function that resolves a link back to a file (nothing outside ``reports/``).

Everything is read when ``GET /ui`` asks, never on the scoring path. A file that cannot be
read or does not have the expected shape becomes a ``problem`` shown on the page: a report
written by an older ferryml, or half a file, must not take the page down.

    >>> report_url("gates/gate-1a2b.html")
    '/ui/reports/gates/gate-1a2b.html'
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ferryml.errors import NotFoundError

URL_PREFIX = "/ui/reports/"
REPORT_KINDS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "validation": ("validation", ("**/summary.json", "**/local_site/index.html")),
    "gates": ("gates", ("*.html",)),
    "monitoring": ("drift and monitoring", ("*.html",)),
    "explain": ("explanations", ("*.html",)),
    "cards": ("model cards", ("*.html",)),
    "training": ("training", ("*.html",)),
}
"""The directories of ``reports/`` that are served: their title and the files linked."""
ROW_KINDS = frozenset({"validation", "explain"})
"""Reports that show sample rows of events: served only with ``serving.ui.row_reports``."""


def report_url(relative: str) -> str:
    """The URL under which the file ``reports/<relative>`` is served."""
    return URL_PREFIX + quote(relative)


def report_file(reports: Path, relative: str, *, row_reports: bool) -> Path:
    """The file ``reports/<relative>``, if it may be served: a regular file of a served kind
    of report, inside ``reports`` once every link is followed. Anything else, a ``..`` or a
    hidden file included, is :class:`~ferryml.errors.NotFoundError` (404): what exists
    outside the served reports is not told."""
    missing = NotFoundError(f"no report {relative!r}", hint="the reports are linked from /ui")
    parts = PurePosixPath(relative).parts
    if not parts or any(part in {"..", "/"} or part.startswith(".") for part in parts):
        raise missing
    kind = parts[0]
    if kind not in REPORT_KINDS or (kind in ROW_KINDS and not row_reports):
        raise missing
    try:
        base = (reports / kind).resolve()
        target = (reports / relative).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            raise missing
    except (OSError, ValueError) as exc:  # a NUL byte, a loop of links, no permission
        raise missing from exc
    return target


@dataclass(frozen=True)
class ReportLink:
    """One report file: where it is and, when it is served, its URL."""

    kind: str
    title: str
    path: str
    """Relative to ``reports/``."""
    url: str | None
    """None: a row report while ``serving.ui.row_reports`` is off."""
    written: str


@dataclass(frozen=True)
class GateRow:
    """The verdict of one gate report."""

    candidate: str
    run_id: str | None
    version: str | None
    """The registered version (None until the candidate is registered)."""
    passed: bool | None
    gates: tuple[tuple[str, str], ...]
    """(gate, passed | failed | skipped), in the order they ran."""
    metric: str | None
    value: float | None
    link: str | None
    written: str
    problem: str | None = None


@dataclass(frozen=True)
class DriftRow:
    """One monitored column in the latest window."""

    feature: str
    kind: str
    status: str
    """``drift``, ``stable`` or ``not judged``."""
    statistic: str | None
    value: float | None
    p_value: float | None
    reason: str

    @property
    def drifted(self) -> bool:
        return self.status == "drift"


@dataclass(frozen=True)
class Kpi:
    """A business figure of the report, one value per window."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class MonitoringSummary:
    """The latest monitoring report, reduced to what the page shows."""

    path: str
    link: str | None
    period: tuple[str, str]
    windows: tuple[str, ...]
    """The first day of each window."""
    rows: int
    """Answers in the latest window."""
    drift: tuple[DriftRow, ...]
    """The latest window's columns, drifted first."""
    kpis: tuple[Kpi, ...]
    findings: tuple[str, ...]
    alerts: tuple[str, ...]


def _written(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return stamp.isoformat(timespec="seconds")


def _newest(paths: Iterable[Path], limit: int) -> list[Path]:
    found = [p for p in paths if p.is_file()]
    found.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    return found[:limit]


def _relative(path: Path, reports: Path) -> str | None:
    return path.relative_to(reports).as_posix() if path.is_relative_to(reports) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ValueError naming the file for anything else."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} cannot be read: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{path.name} holds no JSON object")
    return value


def report_links(reports: Path, *, row_reports: bool, limit: int = 5) -> list[ReportLink]:
    """The newest ``limit`` files of each kind of report, kind by kind."""
    links = []
    for kind, (title, patterns) in REPORT_KINDS.items():
        directory = reports / kind
        if not directory.is_dir():
            continue
        found = (p for pattern in patterns for p in directory.glob(pattern))
        files = _newest((p for p in found if _servable(reports, p)), limit)
        served = row_reports or kind not in ROW_KINDS
        for path in files:
            relative = path.relative_to(reports).as_posix()
            url = report_url(relative) if served else None
            links.append(ReportLink(kind, title, relative, url, _written(path)))
    return links


def _servable(reports: Path, path: Path) -> bool:
    """Whether ``path`` is a file :func:`report_file` serves (row reports included)."""
    try:
        report_file(reports, path.relative_to(reports).as_posix(), row_reports=True)
    except NotFoundError:
        return False
    return True


def gate_rows(directory: Path, reports: Path, limit: int = 10) -> list[GateRow]:
    """The newest ``limit`` gate reports of ``directory`` (their JSON), newest first."""
    if not directory.is_dir():
        return []
    rows = []
    for path in _newest(directory.glob("gate-*.json"), limit):
        html = path.with_suffix(".html")
        relative = _relative(html, reports) if html.is_file() else None
        link = report_url(relative) if relative is not None else None
        try:
            rows.append(_gate_row(_read_json(path), link, _written(path)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            problem = f"{path.name}: {exc}" if isinstance(exc, KeyError) else str(exc)
            rows.append(GateRow(path.stem, None, None, None, (), None, None, link, "", problem))
    return rows


def _gate_row(report: dict[str, Any], link: str | None, written: str) -> GateRow:
    candidate = report["candidate"]
    metric = report.get("primary_metric")
    value = _number(report.get("metrics", {}).get(metric)) if isinstance(metric, str) else None
    version, run_id = candidate.get("version"), candidate.get("run_id")
    return GateRow(
        candidate=str(candidate.get("label") or run_id or "?"),
        run_id=None if run_id is None else str(run_id),
        version=None if version is None else str(version),
        passed=bool(report["passed"]),
        gates=tuple((str(g["gate"]), str(g["status"])) for g in report.get("gates", [])),
        metric=metric if isinstance(metric, str) else None,
        value=value,
        link=link,
        written=written,
    )


def latest_monitoring(directory: Path, reports: Path) -> MonitoringSummary | None:
    """The newest monitoring report of ``directory``; None when there is none. ValueError
    (saying what) for a file that is not a monitoring report."""
    newest = _newest(directory.glob("*.json"), 1) if directory.is_dir() else []
    if not newest:
        return None
    path = newest[0]
    report = _read_json(path)
    try:
        return _summary(report, path, reports)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path.name} is not a monitoring report ({exc!r})") from exc


def _summary(report: dict[str, Any], path: Path, reports: Path) -> MonitoringSummary:
    windows = report["windows"]
    html = path.with_suffix(".html")
    shown = html if html.is_file() else path
    relative = _relative(shown, reports)
    names: list[str] = []
    for window in windows:
        names.extend(k for k in window.get("business", {}) if k not in names)
    kpis = tuple(
        Kpi(name, tuple(_number(w.get("business", {}).get(name)) for w in windows))
        for name in names
    )
    latest = windows[-1] if windows else {}
    columns = latest.get("data_drift", {}).get("columns", []) if latest else []
    drift = sorted((_drift_row(c) for c in columns), key=lambda r: (not r.drifted, r.feature))
    return MonitoringSummary(
        path=relative or str(shown),
        link=report_url(relative) if relative is not None else None,
        period=(str(report["from"])[:10], str(report["until"])[:10]),
        windows=tuple(str(w["from"])[:10] for w in windows),
        rows=int(latest.get("rows", 0)),
        drift=tuple(drift),
        kpis=kpis,
        findings=tuple(str(f) for f in latest.get("findings", [])),
        alerts=tuple(
            f"{a.get('severity', '?')} {a.get('rule', '?')}: {a.get('message', '')}"
            for a in report.get("alerts", [])
        ),
    )


def _drift_row(column: dict[str, Any]) -> DriftRow:
    """A column's verdict with its first effect size (PSI for numbers and categories, the
    share's change for 0/1 columns) and the main test's corrected p-value."""
    effects = column.get("effects") or {}
    statistic = next(iter(effects), None)
    reasons = column.get("reasons") or []
    return DriftRow(
        feature=str(column["column"]),
        kind=str(column.get("kind", "")),
        status=str(column["status"]),
        statistic=statistic,
        value=None if statistic is None else _number(effects[statistic]),
        p_value=_number(column.get("adjusted_p")),
        reason=str(reasons[0]) if reasons else "",
    )


__all__ = [
    "REPORT_KINDS",
    "ROW_KINDS",
    "URL_PREFIX",
    "DriftRow",
    "GateRow",
    "Kpi",
    "MonitoringSummary",
    "ReportLink",
    "gate_rows",
    "latest_monitoring",
    "report_file",
    "report_links",
    "report_url",
]
