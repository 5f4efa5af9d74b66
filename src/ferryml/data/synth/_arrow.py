"""pyarrow, imported in one place: it ships no type stubs, so mypy sees it as ``Any`` here."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["pa", "pc", "pq"]
