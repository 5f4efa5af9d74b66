"""Errors inside a tagged union (training.models.*, data.synth) name the key as the file
spells it, with its line and the keys that section accepts: pydantic's union tag is not a key."""

from __future__ import annotations

import pytest

from ferryml.config.loader import load_config
from ferryml.errors import ConfigError


@pytest.mark.parametrize(
    ("override", "key_path", "suggestion"),
    [
        ("training.models.lightgbm.n_estimatorz=3", "training.models.lightgbm.n_estimatorz",
         "n_estimators"),
        ("data.synth.dayz=3", "data.synth.dayz", "days"),
    ],
)  # fmt: skip
def test_a_typo_inside_a_tagged_union_names_its_key_and_the_known_ones(
    override: str, key_path: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, overrides=[override])
    (issue,) = caught.value.issues
    assert issue.key_path == key_path
    assert issue.source.startswith("--set")
    assert f"did you mean {suggestion!r}" in issue.expected


def test_a_bad_value_inside_a_tagged_union_points_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, overrides=["training.models.logistic.C=-1"])
    (issue,) = caught.value.issues
    assert issue.key_path == "training.models.logistic.C"
    assert "greater than 0" in issue.expected
