"""Project names: the one rule, in ferryml.names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ferryml.config.project import ProjectMeta
from ferryml.errors import InvalidInputError
from ferryml.names import validate_project_name


@pytest.mark.parametrize("name", ["a", "fraud", "fraud-eu", "churn_2", "a" * 63])
def test_valid_names(name: str) -> None:
    assert validate_project_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Fraud", "1fraud", "-x", "fraud eu", "a:b", "a*", "a" * 64, "fraud\n", 7, None]
)
def test_invalid_names_state_rule_and_value(name: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_project_name(name)
    message = str(caught.value)
    assert repr(name) in message
    assert "1-63 lowercase letters, digits, '-' or '_', starting with a letter" in message


@pytest.mark.parametrize("name", ["Fraud", "fraud eu", "a" * 64, "fraud\n"])
def test_config_rejects_what_the_rule_rejects(name: str) -> None:
    with pytest.raises(ValidationError, match="should match pattern"):
        ProjectMeta(name=name)


@pytest.mark.parametrize("name", ["fraud", "fraud-eu", "a" * 63])
def test_config_accepts_what_the_rule_accepts(name: str) -> None:
    assert ProjectMeta(name=name).name == name
