"""deploy/grafana, checked without a Grafana server: the dashboard is a dashboard Grafana
provisions (uid, title, schema version, unique panel ids, a grid without overlaps, queries on
the provisioned data source), every query is valid PromQL (promtool parses each as a
recording rule), the recording rules it reads exist, it shows what the platform promises, and
the provisioning files point where deploy/compose.yaml mounts them. (That every metric it
queries is exported is checked against a live server and a real Pushgateway.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import require_tool
from deploy_metrics import (
    DASHBOARD,
    RECORDED,
    REPO,
    as_promql,
    dashboard,
    dashboard_expressions,
    panels,
    referenced,
    rules,
)

GRAFANA = REPO / "deploy" / "grafana"
PANEL_TYPES = {"row", "timeseries", "stat", "bargauge", "table", "gauge", "alertlist"}


@pytest.fixture(scope="module")
def datasource() -> dict[str, Any]:
    loaded = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    (source,) = loaded["datasources"]
    assert isinstance(source, dict)
    return source


def test_the_dashboard_is_one_grafana_provisions(datasource: dict[str, Any]) -> None:
    board = dashboard()
    assert (board["uid"], board["title"]) == ("ferryml", "ferryml")
    assert 36 <= board["schemaVersion"] <= 41  # Grafana 10.x-11.x
    assert "id" not in board or board["id"] is None  # provisioning assigns it
    every = panels()
    ids = [panel["id"] for panel in every]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    taken: dict[tuple[int, int], str] = {}
    for panel in every:
        assert panel["type"] in PANEL_TYPES, (panel["title"], panel["type"])
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] >= 1 and grid["x"] + grid["w"] <= 24, panel["title"]
        for cell in (
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        ):
            assert cell not in taken, f"{panel['title']!r} overlaps {taken[cell]!r}"
            taken[cell] = panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == datasource["uid"], panel["title"]
            assert target["expr"].strip(), panel["title"]
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] == datasource["uid"], variable["name"]


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """Each query, its Grafana variables replaced, as a recording rule: `promtool check
    rules` parses it; a failure names the panel."""
    promtool = require_tool("promtool", "make tools")
    expressions = dashboard_expressions()
    where = {f"dashboard:query_{n}": place for n, (place, _) in enumerate(expressions)}
    group = {
        "name": "dashboard",
        "rules": [
            {"record": f"dashboard:query_{n}", "expr": as_promql(expression)}
            for n, (_, expression) in enumerate(expressions)
        ],
    }
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [group]}))
    result = subprocess.run(
        [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    named = re.sub(r"dashboard:query_\d+", lambda m: where.get(m[0], m[0]), output)
    assert result.returncode == 0, f"{DASHBOARD.relative_to(REPO)}: {named}"
    assert f"SUCCESS: {len(expressions)} rules found" in output


def test_the_recording_rules_it_reads_exist() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    read = {name for _, e in dashboard_expressions() for name in RECORDED.findall(e)}
    assert read, "the dashboard reads no recording rule"
    assert read <= recorded, f"{DASHBOARD.relative_to(REPO)} reads unrecorded {read - recorded}"


def test_it_shows_what_the_platform_promises() -> None:
    rows = [panel["title"] for panel in panels() if panel["type"] == "row"]
    for topic in ("latency", "errors", "shadow", "drift", "performance", "kpi", "alerts"):
        assert any(topic in row.lower() for row in rows), f"no row about {topic}: {rows}"
    queried = referenced()[DASHBOARD]
    assert {
        "ferry_request_latency_seconds",  # latency percentiles
        "ferry_requests_total",  # req/s per arm, errors
        "ferry_degraded_total",
        "ferry_challenger_errors_total",
        "ferry_shadow_compared_total",  # shadow agreement
        "ferry_monitor_psi",  # drift gauges
        "ferry_monitor_drifted",
        "ferry_monitor_prediction_psi",
        "ferry_monitor_label_drift",
        "ferry_monitor_concept_drift",
        "ferry_monitor_pr_auc",  # performance
        "ferry_monitor_label_completeness",
        "ferry_monitor_kpi",  # business KPIs
        "ferry_monitor_alerts",
    } <= queried
    expressions = [e for _, e in dashboard_expressions()]
    assert all(q in " ".join(expressions) for q in ("0.5,", "0.95,", "0.99,"))  # p50, p95, p99
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert "model_version" in variables["model_version"]["query"]["query"]
    version_filtered = [e for e in expressions if "$model_version" in e]
    assert len(version_filtered) >= 10


def test_provisioning_points_where_compose_mounts_it(datasource: dict[str, Any]) -> None:
    assert datasource["uid"] == "prometheus"
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "ferryml.yaml").read_text()
    )["providers"]
    (provider,) = providers
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    assert path == "/var/lib/grafana/dashboards"
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())["services"]
    volumes = compose["grafana"]["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in volumes
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert "prometheus" in compose
