"""The quickstart's workspace config: the reference project with the quickstart's values
written in, comments kept, valid, and what every later command on the workspace reads."""

from __future__ import annotations

from pathlib import Path

from ferryml.config.loader import load_config
from ferryml.quickstart.settings import SETTINGS, quickstart_config_text
from ferryml.workspace import starter_config_text


def value_at(config: object, key: str) -> object:
    node = config
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def test_the_quickstart_config_holds_its_values_and_the_references_comments(
    tmp_path: Path,
) -> None:
    starter = starter_config_text("fraud")
    text = quickstart_config_text(starter)
    path = tmp_path / "configs" / "ferry.yaml"
    path.parent.mkdir()
    path.write_text(text)
    loaded = load_config(path)
    dumped = loaded.config.model_dump(by_alias=True)
    for key, expected in SETTINGS.items():
        assert value_at(dumped, key) == expected, key
    # what the quickstart did not change is the reference's
    reference = load_config(None, environ={}).config  # the embedded reference project
    assert loaded.config.schema_ == reference.schema_
    assert loaded.config.validation == reference.validation
    assert loaded.config.training.costs == reference.training.costs
    # the reference's comments survive, and the changed values say who changed them
    assert "# same seed, same bytes" in text and "# every enabled gate must pass" in text
    assert "transactions_per_day: 250    # quickstart" in text
    assert text.startswith("# ferry quickstart:")
