"""Shared readers for the synthetic-data tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def read_transactions(out_dir: Path) -> pd.DataFrame:
    """Every partition as one frame; string amounts (bad data) are parsed back to floats."""
    frames = []
    for path in sorted((out_dir / "transactions").glob("date=*/part-0.parquet")):
        table = pq.read_table(path)
        amount_is_string = table.schema.field("amount").type == pa.string()
        frame = table.to_pandas()
        frame["amount"] = frame["amount"].astype("float64")
        frame["date"] = pd.Timestamp(path.parent.name.removeprefix("date="), tz="UTC")
        frame["amount_was_string"] = amount_is_string
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
