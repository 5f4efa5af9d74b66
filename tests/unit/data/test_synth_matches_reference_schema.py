"""The generator writes exactly the columns, types and nullability the reference config declares."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from ferryml.config import load_config
from ferryml.data.synth import SynthConfig, generate

ARROW_KINDS = {
    "string": pa.types.is_string,
    "timestamp": pa.types.is_timestamp,
    "float": pa.types.is_floating,
    "int": pa.types.is_integer,
}


def test_generated_transactions_follow_the_reference_schema(tmp_path: Path) -> None:
    schema = load_config(environ={}).config.schema_
    generate(SynthConfig(start=date(2025, 1, 1), days=2, customers=200), tmp_path / "s")
    table = ds.dataset(tmp_path / "s" / "transactions", format="parquet").to_table()

    assert table.column_names == list(schema.columns)
    for name, spec in schema.columns.items():
        column = table.column(name)
        assert ARROW_KINDS[spec.type](column.type), (name, column.type)
        if not spec.nullable:
            assert column.null_count == 0, name
    assert table.schema.field("event_time").type.tz == "UTC"
