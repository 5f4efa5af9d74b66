"""What every deployment file of deploy/ must satisfy, checked the same way for each: the
commands its containers run exist in the ``ferry`` CLI, and the ``FERRY_…`` variables it sets
are ones ferryml reads (config keys the loader accepts, or documented switches)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ferryml.cli import app
from ferryml.config.environment import SWITCHES, is_config_variable
from ferryml.config.loader import load_config
from ferryml.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
IMAGE = re.compile(r"^ghcr\.io/ferryml/ferryml-(?P<target>[a-z]+)(:[\w.-]+)?$")
"""ferryml's images: one per target of deploy/docker/Dockerfile."""

_SHELL_VARIABLE = re.compile(r"\$\{?\w+\}?|\$\([^)]*\)")


def dockerfile_targets() -> set[str]:
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", DOCKERFILE.read_text(), re.M | re.I))


def ferry_invocations(command: Sequence[str] | None, args: Sequence[str] | None) -> list[list[str]]:
    """The ``ferry`` argument lists a container runs: its command and arguments, with
    ``ferry`` as the images' entrypoint when no command is given, and every ``ferry …`` of a
    ``sh -c`` script (its shell variables replaced by a placeholder)."""
    command = list(command or [])
    args = list(args or [])
    if command[:1] in (["/bin/sh"], ["sh"], ["/bin/bash"], ["bash"]) and "-c" in command + args:
        script = " ".join([*command, *args][[*command, *args].index("-c") + 1 :])
        found = []
        for part in re.split(r"[;&|]+|\n", _SHELL_VARIABLE.sub("placeholder", script)):
            words = shlex.split(part)
            if words[:1] == ["exec"]:
                words = words[1:]
            if words[:1] == ["ferry"]:
                found.append(words[1:])
        return found
    if command[:1] == ["ferry"]:
        return [command[1:] + args]
    if not command:
        return [args]
    return []


def assert_ferry_command(argv: Sequence[str], where: str) -> None:
    """``ferry ARGV --help`` parses: the command and every option it names exist."""
    result = CliRunner().invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, (
        f"{where}: `ferry {shlex.join(argv)}` is not a ferry command line: {result.output}"
    )


def ferry_variables(environment: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in environment.items() if k.startswith("FERRY_")}


def assert_variables_accepted(variables: Mapping[str, str], where: str) -> None:
    """Switches must be documented ones; config variables must load (unknown keys and bad
    values are refused by the loader, which names the variable)."""
    unknown = [name for name in variables if not is_config_variable(name) and name not in SWITCHES]
    assert not unknown, (
        f"{where}: {unknown} are neither config keys (FERRY_SECTION__KEY) nor switches of "
        "ferryml.config.environment.SWITCHES"
    )
    keys = {k: v for k, v in variables.items() if is_config_variable(k)}
    try:
        load_config(None, environ=keys)
    except ConfigError as exc:
        pytest.fail(f"{where}: the config refuses its FERRY_ variables: {exc}")


def env_list(items: Iterable[Mapping[str, object]] | None) -> dict[str, str]:
    """A Kubernetes container's ``env`` as a mapping (values from references are skipped)."""
    return {str(i["name"]): str(i["value"]) for i in items or [] if "value" in i}


def render_kustomizations(
    kubectl: Path, workdir: Path, directories: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each kustomization of ``directories`` (relative to deploy/) rendered by
    ``kubectl kustomize`` from a copy of deploy/ and configs/ in ``workdir``, with secrets made
    by deploy/make-secrets (the real ones are never in the repository)."""
    shutil.copytree(DEPLOY, workdir / "deploy", ignore=shutil.ignore_patterns("secrets"))
    shutil.copytree(
        DEPLOY / "secrets",
        workdir / "deploy" / "secrets",
        ignore=lambda _, names: [n for n in names if n != "kustomization.yaml"],
    )
    shutil.copytree(REPO / "configs", workdir / "configs")
    subprocess.run([str(workdir / "deploy" / "make-secrets")], check=True, capture_output=True)
    rendered = {}
    for directory in directories:
        result = subprocess.run(
            [str(kubectl), "kustomize", str(workdir / "deploy" / directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"kubectl kustomize deploy/{directory}: {result.stderr}"
        rendered[directory] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return rendered
