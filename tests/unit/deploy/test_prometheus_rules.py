"""deploy/prometheus, checked with Prometheus's own promtool (no Prometheus server needed): the
config loads with its rule files, the rules parse, their unit tests pass, every alert says
how bad it is and what to do, and the scrape jobs are the services of the compose stack and the
names the rules select on. (That every metric the rules name is exported is checked against
a live server, tests/integration/test_serve_processes.py, and a real Pushgateway,
tests/integration/test_monitor_pushgateway.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import require_tool
from deploy_metrics import PROMETHEUS, RULES, rules
from ferryml.monitoring.gauges import JOB

SEVERITIES = {"info", "warning", "critical"}


@pytest.fixture(scope="module")
def promtool() -> Path:
    return require_tool("promtool", "make tools")


def run(command: list[str | Path], cwd: Path = PROMETHEUS) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    return loaded


def test_the_config_is_valid_and_finds_its_rule_files(promtool: Path) -> None:
    # from another directory: rule_files resolve against the config file, as in the container
    output = run([promtool, "check", "config", PROMETHEUS / "prometheus.yml"], cwd=Path("/"))
    assert "1 rule files found" in output and "SUCCESS" in output


def test_the_rules_are_valid(promtool: Path) -> None:
    assert "SUCCESS" in run([promtool, "check", "rules", RULES])


def test_the_rules_pass_their_unit_tests(promtool: Path) -> None:
    tests = sorted(RULES.parent.glob("*.test.yml"))
    assert [t.name for t in tests] == ["ferryml.rules.days.test.yml", "ferryml.rules.test.yml"]
    output = run([promtool, "test", "rules", *tests], cwd=RULES.parent)
    assert output.count("SUCCESS") == len(tests), output


def test_every_alert_says_how_bad_it_is_and_what_to_do() -> None:
    alerts = [rule for rule in rules() if "alert" in rule]
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names)), "alert names repeat"
    problems = []
    for rule in alerts:
        severity = rule.get("labels", {}).get("severity")
        if severity not in SEVERITIES and severity != "{{ $labels.severity }}":
            problems.append(f"{rule['alert']}: severity {severity!r} not one of {SEVERITIES}")
        annotations = rule.get("annotations", {})
        for key in ("summary", "description"):
            if len(annotations.get(key, "")) < 20:
                problems.append(f"{rule['alert']}: no {key} annotation worth the name")
        if not rule["alert"].startswith("Ferry"):
            problems.append(f"{rule['alert']}: not named Ferry… (the dashboard lists Ferry.*)")
    assert not problems, problems
    assert len(alerts) >= 15


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    tested = set()
    for path in RULES.parent.glob("*.test.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    tested.add(check["alertname"])
    untested = {rule["alert"] for rule in rules() if "alert" in rule} - tested
    assert not untested, f"alerts never fired by a unit test: {sorted(untested)}"


def test_scrape_jobs_are_the_stacks_services_and_what_the_rules_select(
    config: dict[str, Any],
) -> None:
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    serve = jobs["ferryml-serve"]
    assert serve.get("metrics_path", "/metrics") == "/metrics"
    assert serve["static_configs"][0]["targets"] == ["serve:8000"]
    gateway = jobs["pushgateway"]
    assert gateway["honor_labels"] is True  # keeps job="ferry-monitor" as pushed
    assert gateway["static_configs"][0]["targets"] == ["pushgateway:9091"]
    assert [PROMETHEUS / path for path in config["rule_files"]] == [RULES]
    selecting = [rule["expr"] for rule in rules() if "job=" in rule["expr"]]
    assert any('up{job="ferryml-serve"}' in e for e in selecting)
    assert all(f'job="{JOB}"' in e or 'job="ferryml-serve"' in e for e in selecting), selecting
    compose = yaml.safe_load((PROMETHEUS.parent / "compose.yaml").read_text())["services"]
    for target in ("serve:8000", "pushgateway:9091"):
        assert target.split(":")[0] in compose, f"no compose service for the target {target}"
    assert "./prometheus:/etc/prometheus:ro" in compose["prometheus"]["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in compose["prometheus"]["command"]
