"""The validation config: rules parse from YAML, bad rules are errors naming the problem."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ferryml.config import load_config
from ferryml.data.validate import ValidationConfig, resolve
from ferryml.errors import ConfigError

COLUMNS = {"transaction_id": False, "amount": False, "beneficiary_id": True}


def test_reference_block_parses() -> None:
    config = load_config(environ={}).config.validation
    assert {r.rule for r in config.rules} >= {"not_null", "unique", "null_when", "distribution"}


def test_not_null_auto_expands_to_non_nullable_columns() -> None:
    config = ValidationConfig.model_validate({"rules": [{"rule": "not_null"}]})
    ids = [c.rule_id for c in resolve(config, columns=COLUMNS)]
    assert ids == ["not_null:transaction_id", "not_null:amount"]


def test_unknown_column_is_reported_with_a_suggestion() -> None:
    config = ValidationConfig.model_validate(
        {"rules": [{"rule": "range", "column": "amout", "min": 0}]}
    )
    with pytest.raises(ConfigError, match="did you mean 'amount'"):
        resolve(config, columns=COLUMNS)


def test_duplicate_rule_ids_are_reported() -> None:
    rule = {"rule": "range", "column": "amount", "min": 0}
    config = ValidationConfig.model_validate({"rules": [rule, rule]})
    with pytest.raises(ConfigError, match="range:amount' 2 times"):
        resolve(config, columns=COLUMNS)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"rule": "range", "column": "amount"}, "needs min, max or both"),
        ({"rule": "range", "column": "amount", "min": 2, "max": 1}, "min"),
        ({"rule": "ranges", "column": "amount"}, "does not match any of the expected tags"),
        ({"rule": "range", "column": "amount", "min": 0, "typo": 1}, "Extra inputs"),
        ({"rule": "range", "column": "amount", "min": 0, "severity": "fatal"}, "'error' or 'warn'"),
    ],
)
def test_bad_rules_are_rejected(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ValidationConfig.model_validate({"rules": [rule]})
