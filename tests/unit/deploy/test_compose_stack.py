"""deploy/compose.yaml, checked without a Docker engine: valid against the Compose
Specification's schema, and coherent with the rest of the repository (images built from real
Dockerfile targets, ferry commands that exist, FERRY_ variables the config accepts, mounted
files that exist, secrets that deploy/make-secrets writes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_checks import (
    DEPLOY,
    IMAGE,
    assert_ferry_command,
    assert_variables_accepted,
    dockerfile_targets,
    ferry_invocations,
    ferry_variables,
)

COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _ferry_services(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in stack["services"].items()
        if IMAGE.match(service.get("image", ""))
    }


def test_the_file_follows_the_compose_specification() -> None:
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stack_has_every_part_the_platform_needs(stack: dict[str, Any]) -> None:
    assert {
        "serve",
        "mlflow",
        "postgres",
        "redis",
        "monitor",
        "prometheus",
        "pushgateway",
        "grafana",
    } <= set(stack["services"])


def test_ferry_images_are_built_from_their_dockerfile_target(stack: dict[str, Any]) -> None:
    targets = dockerfile_targets()
    for name, service in _ferry_services(stack).items():
        match = IMAGE.match(service["image"])
        assert match is not None
        assert service["build"]["target"] == match["target"] in targets, name
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert (context / service["build"]["dockerfile"]).is_file(), name


def test_every_ferry_command_exists_and_every_variable_is_accepted(
    stack: dict[str, Any],
) -> None:
    checked = 0
    for name, service in _ferry_services(stack).items():
        entrypoint = service.get("entrypoint")
        if entrypoint not in (None, ["ferry"]):
            continue  # another program of the image (the MLflow server)
        for argv in ferry_invocations(None, service.get("command")):
            assert_ferry_command(argv, f"compose service {name}")
            checked += 1
        assert_variables_accepted(
            ferry_variables(service.get("environment", {})), f"compose service {name}"
        )
    assert checked >= 3  # serve, train, monitor


def test_the_mlflow_server_command_uses_options_the_server_has(stack: dict[str, Any]) -> None:
    service = stack["services"]["mlflow"]
    assert service["entrypoint"] == ["mlflow"]
    command = service["command"]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (word for word in command if word.startswith("--")):
        assert option in result.stdout, f"mlflow server has no {option}"


def test_dependencies_name_services_of_the_stack(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name, service in services.items():
        needed = service.get("depends_on", [])
        for other in needed if isinstance(needed, list) else needed.keys():
            assert other in services, f"{name} depends on an unknown service {other}"


def test_mounted_host_paths_exist(stack: dict[str, Any]) -> None:
    named = set(stack.get("volumes", {}))
    for name, service in stack["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source in named:
                continue
            assert (COMPOSE.parent / source).exists(), f"{name} mounts {source}: no such path"


def test_make_secrets_writes_every_secret_the_stack_reads(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    subprocess.run([str(DEPLOY / "make-secrets"), str(tmp_path)], check=True, capture_output=True)
    first = {p.name: p.read_text() for p in tmp_path.iterdir()}
    for name, secret in stack["secrets"].items():
        file = Path(secret["file"])
        assert file.parent == Path("secrets"), name
        assert len(first[file.name]) >= 32, name
    # a rerun keeps the keys that data was already signed with
    subprocess.run([str(DEPLOY / "make-secrets"), str(tmp_path)], check=True, capture_output=True)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == first
    for service in stack["services"].values():
        for secret in service.get("secrets", []):
            assert secret in stack["secrets"]
