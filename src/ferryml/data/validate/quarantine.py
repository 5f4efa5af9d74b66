"""The quarantine writer: rows set aside, and why, written atomically.

``<directory>/rows.parquet`` holds the rows with their ``_broken_rules``; ``reasons.json``
counts the rows per rule (a row breaking two rules counts once under each)::

    >>> import tempfile, pathlib, pyarrow as pa
    >>> rows = pa.table({"x": [1], "_broken_rules": [["range:x"]]})
    >>> write_quarantine(rows, pathlib.Path(tempfile.mkdtemp()))["range:x"]
    1
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ferryml.data.validate.chunk import BROKEN_RULES_COLUMN
from ferryml.errors import InvalidInputError
from ferryml.storage.atomic import atomic_path, atomic_write_text

ROWS_NAME = "rows.parquet"
REASONS_NAME = "reasons.json"


def write_quarantine(rows: pa.Table, directory: Path) -> dict[str, int]:
    """Write ``rows`` and their reason counts under ``directory``; return the counts."""
    if BROKEN_RULES_COLUMN not in rows.column_names:
        raise InvalidInputError(
            f"quarantined rows need a {BROKEN_RULES_COLUMN!r} column",
            hint="pass ChunkVerdict.quarantined (or rows from quarantine_duplicates)",
        )
    counts = Counter(
        rule for rules in rows.column(BROKEN_RULES_COLUMN).to_pylist() for rule in rules or ()
    )
    reasons = dict(sorted(counts.items()))
    with atomic_path(Path(directory) / ROWS_NAME) as tmp:
        pq.write_table(rows, tmp)
    document = {"rows": rows.num_rows, "rules": reasons}
    atomic_write_text(Path(directory) / REASONS_NAME, json.dumps(document, indent=2) + "\n")
    return reasons


__all__ = ["REASONS_NAME", "ROWS_NAME", "write_quarantine"]
