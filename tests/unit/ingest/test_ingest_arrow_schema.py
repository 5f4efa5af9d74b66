"""Project column types map to one Arrow type each, with nullability from the spec."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ferryml.config.schema import ColumnSpec
from ferryml.data.ingest import ARROW_TYPES, arrow_schema


@pytest.mark.parametrize(
    ("logical", "arrow"),
    [
        ("string", pa.string()),
        ("int", pa.int64()),
        ("float", pa.float64()),
        ("bool", pa.bool_()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("date", pa.date32()),
    ],
)
def test_each_type_maps_to_its_arrow_type(logical: str, arrow: pa.DataType) -> None:
    schema = arrow_schema({"c": ColumnSpec.model_validate({"type": logical, "nullable": True})})
    assert schema.field("c").type == arrow
    assert schema.field("c").nullable


def test_order_and_nullability_follow_the_spec() -> None:
    schema = arrow_schema(
        {
            "b": ColumnSpec(type="int"),
            "a": ColumnSpec(type="string", nullable=True),
        }
    )
    assert schema.names == ["b", "a"]
    assert [f.nullable for f in schema] == [False, True]


def test_every_logical_type_is_mapped() -> None:
    from typing import get_args

    from ferryml.config.schema import ColumnType

    assert set(ARROW_TYPES) == set(get_args(ColumnType))
