"""The reports behind the overview page: which files may be served (nothing outside reports/,
no row report unless asked), and the gate and monitoring files read as written or, when they
cannot be, as a problem to show."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ferryml.errors import NotFoundError
from ferryml.serving.config import ServingConfig, UiConfig
from ferryml.serving.report_files import (
    gate_rows,
    latest_monitoring,
    report_file,
    report_links,
    report_url,
)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A workspace root with a secret beside reports/ and one file of several kinds."""
    (tmp_path / "ferryml.db").write_text("secret")
    reports = tmp_path / "reports"
    for relative in (
        "gates/gate-a.html",
        "monitoring/monitor-x.html",
        "explain/fraud-v1.html",
        "validation/transactions/v1/summary.json",
        "gdpr/erasures/e-1.json",
        "gates/.hidden.html",
    ):
        path = reports / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<title>{relative}</title>")
    (reports / "gates" / "outside.html").symlink_to(tmp_path / "ferryml.db")
    return reports


def test_only_files_of_the_served_kinds_inside_reports_are_served(reports: Path) -> None:
    served = report_file(reports, "gates/gate-a.html", row_reports=False)
    assert served == (reports / "gates" / "gate-a.html").resolve()
    refused = [
        "../ferryml.db",
        "gates/../../ferryml.db",
        "gates/outside.html",  # a link out of reports/
        "gates/.hidden.html",
        "gates",  # a directory
        "gates/missing.html",
        "gdpr/erasures/e-1.json",  # records about people: no served kind
        "explain/fraud-v1.html",  # sample rows: only with row_reports
        "validation/transactions/v1/summary.json",
        "/etc/passwd",
        "",
        "gates/a\x00.html",
    ]
    for relative in refused:
        with pytest.raises(NotFoundError):
            report_file(reports, relative, row_reports=False)
    assert report_file(reports, "explain/fraud-v1.html", row_reports=True).is_file()


def test_links_name_every_kind_and_url_only_the_served_ones(reports: Path) -> None:
    older = reports / "gates" / "gate-b.html"
    older.write_text("old")
    os.utime(older, (1_000_000, 1_000_000))
    links = report_links(reports, row_reports=False)
    assert [(link.kind, link.path) for link in links] == [
        ("validation", "validation/transactions/v1/summary.json"),
        ("gates", "gates/gate-a.html"),  # newest first
        ("gates", "gates/gate-b.html"),
        ("monitoring", "monitoring/monitor-x.html"),
        ("explain", "explain/fraud-v1.html"),
    ]
    urls = {link.path: link.url for link in links}
    assert urls["gates/gate-a.html"] == "/ui/reports/gates/gate-a.html"
    assert urls["explain/fraud-v1.html"] is None and urls["monitoring/monitor-x.html"]
    assert all(link.url for link in report_links(reports, row_reports=True))
    assert report_url("gates/a b#1.html") == "/ui/reports/gates/a%20b%231.html"


def test_gate_reports_are_read_newest_first_and_a_broken_one_is_a_problem(
    reports: Path,
) -> None:
    gates = reports / "gates"
    report = {
        "candidate": {"label": "lightgbm 1a2b", "run_id": "1a2b", "version": None},
        "passed": False,
        "failed_gates": ["fairness"],
        "primary_metric": "pr_auc",
        "metrics": {"pr_auc": 0.81},
        "gates": [
            {"gate": "quality", "status": "passed"},
            {"gate": "fairness", "status": "failed"},
        ],
    }
    (gates / "gate-1a2b.json").write_text(json.dumps(report))
    (gates / "gate-1a2b.html").write_text("<title>gate</title>")
    os.utime(gates / "gate-1a2b.json", (2_000_000, 2_000_000))
    (gates / "gate-cut.json").write_text('{"candidate": {"label"')
    (gates / "gate-odd.json").write_text('{"candidate": {}}')
    rows = gate_rows(gates, reports)
    assert [row.candidate for row in rows][-1] == "lightgbm 1a2b"
    good = rows[-1]
    assert (good.passed, good.run_id, good.metric, good.value) == (False, "1a2b", "pr_auc", 0.81)
    assert good.gates == (("quality", "passed"), ("fairness", "failed"))
    assert good.link == "/ui/reports/gates/gate-1a2b.html" and good.problem is None
    problems = {row.candidate: row.problem for row in rows[:-1]}
    assert problems["gate-cut"] is not None and "cannot be read" in problems["gate-cut"]
    assert problems["gate-odd"] == "gate-odd.json: 'passed'"
    assert gate_rows(reports / "none", reports) == []


def test_the_latest_monitoring_report_gives_drift_per_feature_and_every_kpi(
    reports: Path,
) -> None:
    directory = reports / "monitoring"
    assert latest_monitoring(reports / "none", reports) is None

    def window(day: str, approval: float, extra: dict[str, float]) -> dict[str, object]:
        columns = [
            {"column": "amount", "kind": "numeric", "status": "stable",
             "effects": {"psi": 0.01, "wasserstein": 0.02}, "adjusted_p": 0.4, "reasons": []},
            {"column": "is_night", "kind": "binary", "status": "drift",
             "effects": {"rate_difference": 0.2}, "adjusted_p": 1e-9,
             "reasons": ["rate_difference 0.2 >= 0.02"]},
            {"column": "hour_mean", "kind": "numeric", "status": "not judged", "effects": {},
             "adjusted_p": None, "reasons": ["80 non-missing values"]},
        ]  # fmt: skip
        return {
            "from": f"{day}T00:00:00Z",
            "rows": 120,
            "findings": ["data drift in is_night"],
            "data_drift": {"columns": columns},
            "business": {"approval_rate": approval, **extra},
        }

    report = {
        "from": "2026-01-01T00:00:00Z",
        "until": "2026-01-15T00:00:00Z",
        "windows": [window("2026-01-01", 0.9, {}), window("2026-01-08", 0.8, {"loss": 5.0})],
        "alerts": [{"severity": "warning", "rule": "kpi", "message": "approval fell"}],
    }
    (directory / "monitor-a.json").write_text(json.dumps(report))
    summary = latest_monitoring(directory, reports)
    assert summary is not None
    assert summary.path == "monitoring/monitor-a.json"  # no HTML beside it: the JSON
    assert summary.link == "/ui/reports/monitoring/monitor-a.json"
    assert summary.period == ("2026-01-01", "2026-01-15")
    assert summary.windows == ("2026-01-01", "2026-01-08") and summary.rows == 120
    assert [(r.feature, r.drifted, r.statistic) for r in summary.drift] == [
        ("is_night", True, "rate_difference"),  # drifted first
        ("amount", False, "psi"),
        ("hour_mean", False, None),
    ]
    assert summary.drift[0].value == 0.2 and summary.drift[2].reason == "80 non-missing values"
    assert [(k.name, k.values) for k in summary.kpis] == [
        ("approval_rate", (0.9, 0.8)),
        ("loss", (None, 5.0)),  # a KPI of one window only
    ]
    assert summary.alerts == ("warning kpi: approval fell",)

    newer = directory / "monitor-b.json"
    for broken, said in (("[1, 2]", "holds no JSON object"), ('{"windows": [}', "cannot be read"),
                         ('{"windows": []}', "is not a monitoring report")):  # fmt: skip
        newer.write_text(broken)
        with pytest.raises(ValueError, match=said):
            latest_monitoring(directory, reports)


def test_the_mlflow_link_is_a_configured_http_url() -> None:
    assert ServingConfig().ui == UiConfig(
        enabled=True, mlflow_url="http://127.0.0.1:5000", row_reports=False
    )
    with pytest.raises(ValueError, match="mlflow_url"):
        UiConfig(mlflow_url="javascript:alert(1)")
