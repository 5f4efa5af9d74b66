"""Label files: delayed outcomes in bulk (what ``ferry labels ingest`` reads).

A file is checked whole before anything is written: one bad row refuses the file, naming the
row and the field, so a half-loaded file never exists.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ferryml.errors import InvalidInputError


def read_label_file(path: Path, *, project: str, now: datetime) -> list[dict[str, Any]]:
    """The rows of ``path`` (CSV or Parquet) ready for the ``labels`` table."""
    if not path.is_file():
        raise InvalidInputError(f"no label file at {path}", hint="give a CSV or Parquet file")
    try:
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        else:
            options = pacsv.ConvertOptions(
                column_types={"event_id": pa.string(), "label_time": pa.string()}
            )
            table = pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(f"cannot read the label file {path}: {exc}") from exc
    missing = sorted({"event_id", "label"} - set(table.column_names))
    if missing:
        raise InvalidInputError(
            f"the label file {path} lacks the columns {missing}",
            hint="columns: event_id, label (0 or 1), label_time (optional, ISO 8601 with a zone)",
        )
    problems: list[str] = []
    rows = []
    for number, item in enumerate(table.to_pylist(), start=2 if path.suffix != ".parquet" else 1):
        row, problem = _row(item, now)
        if problem:
            problems.append(f"row {number}: {problem}")
        elif row is not None:
            rows.append({**row, "project": project, "received_at": now, "source": path.name})
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; … {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise InvalidInputError(
            f"the label file {path} has {len(problems)} bad row(s), nothing was recorded: {shown}"
        )
    return rows


def _row(item: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    event_id = item.get("event_id")
    if not isinstance(event_id, str) or not event_id.strip():
        return None, "event_id is empty"
    label = item.get("label")
    if isinstance(label, bool) or label not in (0, 1):
        return None, f"label must be 0 or 1, found {label!r}"
    when = item.get("label_time")
    if when is None or when == "":
        stamp = now
    elif isinstance(when, datetime):
        stamp = when
    else:
        try:
            stamp = datetime.fromisoformat(str(when))
        except ValueError:
            return None, f"label_time {when!r} is not ISO 8601"
    if stamp.tzinfo is None:
        return None, f"label_time {when!r} has no time zone (add Z or +00:00)"
    return {"event_id": event_id, "label": 1 if label == 1 else 0, "label_time": stamp}, ""


__all__ = ["read_label_file"]
