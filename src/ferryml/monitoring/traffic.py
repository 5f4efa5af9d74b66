"""Production traffic as monitoring reads it: the answered requests of the prediction log, with
the labels known at a cutoff.

One row per event (a retried event keeps its first answer), ordered by event time: what the
model saw (its logged ``features``, and raw request fields such as a category), what it answered
(score, block or not, which version) and, once the chargebacks have come in, what it was. Only
answers the clients received count (status 200, champion or challenger arm): shadow records
are the challenger's, not production's.

A label counts if it arrived by ``cutoff``; an event is *matured* when it is older than
``cutoff`` minus the maturity window (``training.label_maturity_days``, the rule training
uses): a matured event without a positive label is taken as legitimate, a younger one is not
judged yet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import Engine

from ferryml.serving.routing import CHALLENGER, CHAMPION
from ferryml.storage.answers import answers_with_labels
from ferryml.storage.tables import labels, predictions

ANSWERED_ARMS = (CHAMPION, CHALLENGER)
US = 1_000_000


@dataclass(frozen=True)
class Traffic:
    """Answered events, one array per attribute, aligned row by row."""

    event_time_us: npt.NDArray[np.float64]
    score: npt.NDArray[np.float64]
    blocked: npt.NDArray[np.bool_]
    label: npt.NDArray[np.float64]
    """1 (a positive known at the cutoff), 0 (matured without one) or NaN (not matured)."""
    version: npt.NDArray[np.object_]
    degraded: npt.NDArray[np.bool_]
    columns: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    """Monitored columns by name: numbers as float64 (NaN when absent), text as objects."""

    def __len__(self) -> int:
        return len(self.event_time_us)

    @property
    def matured(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.label)

    def where(self, mask: npt.NDArray[np.bool_]) -> Traffic:
        """The rows of ``mask``."""
        return Traffic(
            self.event_time_us[mask],
            self.score[mask],
            self.blocked[mask],
            self.label[mask],
            self.version[mask],
            self.degraded[mask],
            {name: values[mask] for name, values in self.columns.items()},
        )

    @classmethod
    def empty(cls, columns: Sequence[str] = ()) -> Traffic:
        nothing = np.empty(0)
        return cls(
            nothing,
            nothing,
            nothing.astype(bool),
            nothing,
            nothing.astype(object),
            nothing.astype(bool),
            {name: nothing.astype(object) for name in columns},
        )


def read_traffic(
    engine: Engine,
    project: str,
    *,
    start: datetime,
    end: datetime,
    cutoff: datetime,
    maturity_days: int,
    columns: Sequence[str],
) -> Traffic:
    """The answered events of ``project`` whose event time is in ``[start, end)``, with the
    labels known at ``cutoff`` and the ``columns`` each logged (a model feature, else a field
    of the request; absent: missing)."""
    columns_read = (
        predictions.c.event_id,
        predictions.c.event_time,
        predictions.c.score,
        predictions.c.decision,
        predictions.c.model_version,
        predictions.c.degraded,
        predictions.c.record,
        labels.c.label,
    )
    query = (
        answers_with_labels(columns_read, project=project, cutoff=cutoff, arms=ANSWERED_ARMS)
        .where(predictions.c.event_time >= start, predictions.c.event_time < end)
        .order_by(predictions.c.event_time, predictions.c.ts)
    )
    matured_before = (cutoff - timedelta(days=maturity_days)).timestamp() * US
    seen: set[str] = set()
    times: list[float] = []
    scores: list[float] = []
    blocked: list[bool] = []
    label: list[float] = []
    versions: list[str] = []
    degraded: list[bool] = []
    values: dict[str, list[Any]] = {name: [] for name in columns}
    with engine.connect() as conn:
        for row in conn.execute(query):
            if row.event_id is not None:
                if row.event_id in seen:  # a retried event keeps its first answer
                    continue
                seen.add(row.event_id)
            at = _utc(row.event_time).timestamp() * US
            times.append(at)
            scores.append(math.nan if row.score is None else float(row.score))
            blocked.append(row.decision == "block")
            # a young event is not judged even if a chargeback already came: training's rule
            label.append(float(row.label == 1) if at < matured_before else math.nan)
            versions.append(str(row.model_version))
            degraded.append(bool(row.degraded))
            record = orjson.loads(row.record)
            features = record.get("features") or {}
            request = record.get("request") or {}
            for name in columns:
                values[name].append(features.get(name, request.get(name)))
    if not times:
        return Traffic.empty(columns)
    return Traffic(
        np.asarray(times),
        np.asarray(scores),
        np.asarray(blocked, dtype=bool),
        np.asarray(label),
        np.asarray(versions, dtype=object),
        np.asarray(degraded, dtype=bool),
        {name: column_array(logged) for name, logged in values.items()},
    )


def column_array(values: Sequence[Any]) -> npt.NDArray[Any]:
    """Logged JSON values as one column: float64 (None as NaN) when every present value is a
    number or a boolean, else objects (None kept as missing)."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, int | float) for v in present):  # bool is an int
        return np.asarray([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    return np.asarray([v if v is None else str(v) for v in values], dtype=object)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["ANSWERED_ARMS", "Traffic", "column_array", "read_traffic"]
