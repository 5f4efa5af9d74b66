"""`ferry init --template`: a workspace starts from any project shipped in the package."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ferryml.cli import app
from ferryml.config.loader import TEMPLATES, embedded_config_text, load_config

REPO_CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_is_its_repository_config_and_validates(template: str) -> None:
    text = embedded_config_text(template)
    assert text == (REPO_CONFIGS / f"{template}.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["project"]["name"] == template
    assert load_config(REPO_CONFIGS / f"{template}.yaml").config.project.name == template


def test_init_from_the_churn_template(tmp_path: Path) -> None:
    target = tmp_path / "retention"
    result = CliRunner().invoke(app, ["init", str(target), "--template", "churn"])
    assert result.exit_code == 0, result.output
    config = load_config(target / "configs" / "ferry.yaml").config
    assert config.project.name == "retention"
    assert config.data.synth.kind == "churn"
    assert list(config.data.sources) == ["usage"]


def test_an_unknown_template_is_refused_with_the_choices_and_writes_nothing(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "ws"), "--template", "retail"])
    assert result.exit_code == 1
    assert "no project template 'retail'" in result.output
    assert "fraud, churn" in result.output
    assert not (tmp_path / "ws").exists()
