"""What deploy/prometheus and deploy/grafana query, for the tests that check it: the PromQL
expressions of the rules and of the dashboard, the metric names they read, and which of those
an exposition (a live server's /metrics, the Pushgateway's after a monitor push) lacks.

Names are compared as families: ``ferry_request_latency_seconds_bucket`` in a query is
``ferry_request_latency_seconds`` exported, the same for ``_sum``, ``_count`` and ``_created``.
The serving process exports every ``ferry_`` name but the monitor job's (``ferry_monitor_``),
which the Pushgateway holds with its own ``push_time_seconds``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "ferryml.rules.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "ferryml.json"

METRIC = re.compile(r"(?<![\w:])(ferry_[a-z0-9_]+|push_time_seconds|push_failure_time_seconds)\b")
RECORDED = re.compile(r"(?<![\w:])(ferry:[a-z0-9_:]+)")
SUFFIXES = ("_bucket", "_sum", "_count", "_created")
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*\w+\)$")


def family(name: str) -> str:
    """The family a series name belongs to (a histogram's bucket, sum and count are its)."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def from_monitor(name: str) -> bool:
    """Whether the monitor job (through the Pushgateway) exports ``name``, not the server."""
    return name.startswith(("ferry_monitor_", "push_"))


def rules() -> Iterator[dict[str, Any]]:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        yield from group["rules"]


def rule_expressions() -> list[tuple[str, str]]:
    """(the rule's name, its expression) of every alert and recording rule."""
    return [(rule.get("alert") or rule["record"], rule["expr"]) for rule in rules()]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row holds its panels


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return list(_panels(dashboard()["panels"]))


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel query and every variable's ``label_values`` selector,
    with Grafana's variables as they are in the JSON."""
    found = [
        (f"panel {panel['title']!r} query {target['refId']}", target["expr"])
        for panel in panels()
        for target in panel.get("targets", [])
    ]
    for variable in dashboard()["templating"]["list"]:
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else ""
        match = _LABEL_VALUES.match(query.strip())
        if match is not None:
            found.append((f"variable {variable['name']!r}", match["selector"]))
    return found


def as_promql(expression: str) -> str:
    """A dashboard query as plain PromQL: Grafana's interval variables become 5m, the
    dashboard's own variables (inside regex matchers) match anything."""
    expression = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expression)
    return re.sub(r"\$\{?\w+\}?", ".*", expression)


def names_in(expressions: list[tuple[str, str]]) -> set[str]:
    return {family(name) for _, expression in expressions for name in METRIC.findall(expression)}


def referenced() -> dict[Path, set[str]]:
    """The metric families each file queries."""
    return {
        RULES: names_in(rule_expressions()),
        DASHBOARD: names_in(dashboard_expressions()),
    }


def exported(exposition: str) -> set[str]:
    """The families of the samples an exposition holds (a family without a sample, as a
    labelled metric never used, is not exported: no query could find it)."""
    return {
        family(sample.name)
        for metrics in text_string_to_metric_families(exposition)
        for sample in metrics.samples
    }


def unexported(
    exports: set[str], where: str, keep: Callable[[str], bool], files: Mapping[Path, set[str]]
) -> list[str]:
    """One message per metric that a file queries, ``keep`` selects and ``exports`` lacks."""
    return [
        f"{path.relative_to(REPO)} queries {name}, which {where} does not export"
        for path, names in files.items()
        for name in sorted(names)
        if keep(name) and name not in exports
    ]
