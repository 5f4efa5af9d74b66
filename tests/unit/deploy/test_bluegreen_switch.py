"""deploy/k8s/bluegreen-switch against a stand-in for kubectl that keeps a cluster's state in
a file: the script must move the Service only to a colour that finished rolling out and has
ready pods, and say how to roll back. (The manifests themselves are checked in
test_kubernetes_manifests.py; no cluster runs here.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_checks import DEPLOY

SCRIPT = DEPLOY / "k8s" / "bluegreen-switch"

FAKE_KUBECTL = """\
import json, sys
from pathlib import Path
state_file = Path(__file__).with_name("cluster.json")
state = json.loads(state_file.read_text())
args = sys.argv[1:]
state["calls"].append(args)
assert args[0] == "--namespace", args
namespace, verb, rest = args[1], args[2], args[3:]
assert namespace == state["namespace"], f"namespace {namespace}"
if verb == "get" and rest[0] == "service":
    print(state["colour"], end="")
elif verb == "get" and rest[0] == "deployment":
    print(state["deployments"][rest[1]]["ready"], end="")
elif verb == "rollout":
    name = rest[1].split("/")[1]
    if not state["deployments"][name]["rolled_out"]:
        state_file.write_text(json.dumps(state))
        sys.exit("error: timed out waiting for the condition")
elif verb == "patch":
    patch = json.loads(rest[rest.index("-p") + 1])
    state["colour"] = patch["spec"]["selector"]["app.kubernetes.io/color"]
state_file.write_text(json.dumps(state))
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!{sys.executable}\n{FAKE_KUBECTL}")
    kubectl.chmod(0o755)
    _write(
        tmp_path,
        {
            "namespace": "ferryml",
            "colour": "blue",
            "deployments": {
                "ferryml-serve-blue": {"rolled_out": True, "ready": 3},
                "ferryml-serve-green": {"rolled_out": True, "ready": 3},
            },
            "calls": [],
        },
    )
    return tmp_path


def _write(directory: Path, state: dict[str, Any]) -> None:
    (directory / "cluster.json").write_text(json.dumps(state))


def _state(directory: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((directory / "cluster.json").read_text())
    return loaded


def _switch(cluster: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env={"KUBECTL": str(cluster / "kubectl"), "PATH": "/usr/bin:/bin"},
    )


def test_traffic_moves_to_a_ready_colour_and_the_rollback_is_named(cluster: Path) -> None:
    result = _switch(cluster, "green")
    assert result.returncode == 0, result.stderr
    assert _state(cluster)["colour"] == "green"
    assert "roll back: " in result.stdout and result.stdout.rstrip().endswith("blue ferryml")
    verbs = [call[2] for call in _state(cluster)["calls"]]
    assert verbs == ["get", "rollout", "get", "patch"]


def test_a_colour_still_rolling_out_keeps_the_traffic_where_it_is(cluster: Path) -> None:
    state = _state(cluster)
    state["deployments"]["ferryml-serve-green"]["rolled_out"] = False
    _write(cluster, state)
    result = _switch(cluster, "green")
    assert result.returncode == 1
    assert "did not finish rolling out; traffic stays on blue" in result.stderr
    assert _state(cluster)["colour"] == "blue"


def test_a_colour_without_ready_pods_is_refused(cluster: Path) -> None:
    state = _state(cluster)
    state["deployments"]["ferryml-serve-green"]["ready"] = 0
    _write(cluster, state)
    result = _switch(cluster, "green")
    assert result.returncode == 1
    assert "has no ready pod" in result.stderr
    assert _state(cluster)["colour"] == "blue"


def test_the_current_colour_is_left_alone(cluster: Path) -> None:
    result = _switch(cluster, "blue")
    assert result.returncode == 0
    assert "already sends its traffic to blue" in result.stdout
    assert [call[2] for call in _state(cluster)["calls"]] == ["get"]


@pytest.mark.parametrize("args", [(), ("purple",), ("blue", "ns", "extra")])
def test_bad_arguments_are_a_usage_error(cluster: Path, args: tuple[str, ...]) -> None:
    result = _switch(cluster, *args)
    assert result.returncode == 2
    assert "usage: " in result.stderr
    assert _state(cluster)["calls"] == []


def test_another_namespace_is_used_throughout(cluster: Path) -> None:
    state = _state(cluster)
    state["namespace"] = "ferryml-staging"
    _write(cluster, state)
    result = _switch(cluster, "green", "ferryml-staging")
    assert result.returncode == 0, result.stderr
    assert _state(cluster)["colour"] == "green"
