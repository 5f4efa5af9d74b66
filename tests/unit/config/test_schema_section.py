"""The schema section: roles are consistent or the config is rejected with every reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ferryml.config.schema import SchemaConfig

BASE: dict[str, Any] = {
    "id": {"type": "string", "role": "id"},
    "user": {"type": "string", "role": "entity"},
    "ts": {"type": "timestamp", "role": "event_time"},
    "y": {"type": "int", "role": "label"},
    "y_time": {"type": "timestamp", "role": "label_time", "nullable": True},
    "email": {"type": "string", "pii": True},
}


def test_a_consistent_schema_validates() -> None:
    schema = SchemaConfig.model_validate({"columns": BASE})
    assert schema.columns_with_role("entity") == ["user"]
    assert schema.pii_columns == ["email"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ts2": {"type": "timestamp", "role": "event_time"}}, "role 'event_time' is given to 2"),
        ({"ts": {"type": "string", "role": "event_time"}}, "role 'event_time' but type 'string'"),
        ({"user": {"type": "string"}}, "no column has role 'entity'"),
        ({"y_time": {"type": "timestamp"}}, "needs a 'label_time' column"),
        ({"id": {"type": "string", "role": "id", "nullable": True}}, "cannot be nullable"),
        ({"x": {"type": "decimal"}}, "Input should be"),
    ],
)
def test_inconsistent_schemas_are_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SchemaConfig.model_validate({"columns": {**BASE, **change}})


def test_a_schema_without_event_time_is_rejected() -> None:
    columns = {k: v for k, v in BASE.items() if k != "ts"}
    with pytest.raises(ValidationError, match="no column has role 'event_time'"):
        SchemaConfig.model_validate({"columns": columns})
