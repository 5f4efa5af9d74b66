"""The one query of answers with their delayed labels: what A/B outcomes and monitoring read.

An answer counts when a client received it (status 200) from one of ``arms``; its label is the
one that had arrived by ``cutoff`` (an outer join: none yet is NULL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select

from ferryml.storage.tables import labels, predictions


def answers_with_labels(
    columns: Sequence[ColumnElement[Any]], *, project: str, cutoff: datetime, arms: Sequence[str]
) -> Select[Any]:
    """``SELECT columns`` of the answered predictions of ``project`` joined with the labels
    known at ``cutoff`` (``labels.c.label`` is NULL without one); add filters and order."""
    known = and_(
        labels.c.project == predictions.c.project,
        labels.c.event_id == predictions.c.event_id,
        labels.c.label_time <= cutoff,
    )
    return (
        select(*columns)
        .select_from(predictions.outerjoin(labels, known))
        .where(
            predictions.c.project == project,
            predictions.c.status == 200,
            predictions.c.arm.in_(list(arms)),
        )
    )


__all__ = ["answers_with_labels"]
