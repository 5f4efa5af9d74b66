"""The FERRY_ variables ferryml reads: every switch the code names is documented in
ferryml.config.environment (deployment files are checked against that list), and the code
identity recorded with a model falls back to the switches set by the images."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from ferryml.config.environment import SWITCHES, is_config_variable
from ferryml.training.tracking import code_identity, file_sha256

SOURCE = Path(__file__).resolve().parents[3] / "src" / "ferryml"


def _ferry_literals() -> set[str]:
    names = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if text.startswith("FERRY_") and text.isupper() and " " not in text:
                    names.add(text)
    return names


def test_every_switch_named_in_the_code_is_documented() -> None:
    named = {name for name in _ferry_literals() if not is_config_variable(name)} - {"FERRY_"}
    assert named, "no FERRY_ switch found: the scan is broken"
    undocumented = named - set(SWITCHES)
    assert not undocumented, f"add {sorted(undocumented)} to ferryml.config.environment.SWITCHES"
    unused = set(SWITCHES) - named
    assert not unused, f"{sorted(unused)} are documented but read nowhere"


def test_outside_a_checkout_the_image_switches_name_the_code(tmp_path: Path) -> None:
    lock = tmp_path / "runtime.lock"
    lock.write_text("mlflow==3.0\n")
    env = {"FERRY_GIT_SHA": "0123abc", "FERRY_LOCK_FILE": str(lock)}
    assert code_identity(tmp_path / "not-a-checkout", env) == ("0123abc", file_sha256(lock))
    assert code_identity(tmp_path / "not-a-checkout", {}) == (None, None)


def test_a_checkout_wins_over_the_switches(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "requirements.lock").write_text("numpy==2.0\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org",
         "commit", "-qm", "lock"],
        check=True,
    )  # fmt: skip
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    env = {"FERRY_GIT_SHA": "from-the-image", "FERRY_LOCK_FILE": "/nonexistent"}
    assert code_identity(tmp_path, env) == (head, file_sha256(tmp_path / "requirements.lock"))
