"""Delayed labels: what was known at a cutoff, and how complete that knowledge is.

A chargeback confirms a fraud 1-90 days after the transaction. At a cutoff, a fraud whose
chargeback has not arrived looks legitimate; training on it as a negative teaches the model
that recent frauds are fine. Two rules keep that out:

- a positive label counts only if its label time is at or before the cutoff
  (:func:`labels_known_at`): a label arriving later is not used;
- events younger than the label-maturity window are left out altogether (see
  :mod:`ferryml.training.splits`).

What stays unknown is reported per period (:func:`label_completeness`)::

    >>> import numpy as np
    >>> day = 86_400_000_000.0
    >>> labels_known_at(np.array([1, 1, 0]), np.array([5 * day, 9 * day, np.nan]), 7 * day)
    array([1, 0, 0], dtype=int8)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MICROS_PER_DAY = 86_400_000_000.0


def labels_known_at(
    labels: npt.ArrayLike, label_times_us: npt.ArrayLike, cutoff_us: float
) -> npt.NDArray[np.int8]:
    """1 where a positive label had arrived by ``cutoff_us``, else 0.

    ``label_times_us`` are float microseconds, NaN where the source gives no label time: such a
    positive counts as known (a source without label times relies on the maturity window alone).
    """
    y = np.asarray(labels)
    times = np.asarray(label_times_us, dtype=np.float64)
    arrived = np.isnan(times) | (times <= cutoff_us)
    known: npt.NDArray[np.int8] = ((y == 1) & arrived).astype(np.int8)
    return known


@dataclass(frozen=True)
class PeriodLabels:
    """Label knowledge for one period of event times (a week by default)."""

    start_us: float
    events: int
    known_positives: int
    later_positives: int
    """Positives in the data whose label arrived after the cutoff (known only in hindsight)."""

    @property
    def completeness(self) -> float | None:
        """Share of this period's positives known at the cutoff; None when it has none."""
        total = self.known_positives + self.later_positives
        return self.known_positives / total if total else None


def label_completeness(
    event_times_us: npt.ArrayLike,
    labels: npt.ArrayLike,
    label_times_us: npt.ArrayLike,
    cutoff_us: float,
    period_days: int = 7,
) -> list[PeriodLabels]:
    """Per period of ``period_days`` (from the first event): events, positives known at the
    cutoff, positives that arrived later."""
    times = np.asarray(event_times_us, dtype=np.float64)
    if times.size == 0:
        return []
    y = np.asarray(labels)
    known = labels_known_at(y, label_times_us, cutoff_us).astype(bool)
    later = (y == 1) & ~known
    width = period_days * MICROS_PER_DAY
    first = float(times.min())
    period = ((times - first) // width).astype(np.int64)
    count = int(period.max()) + 1
    events = np.bincount(period, minlength=count)
    known_counts = np.bincount(period, weights=known, minlength=count)
    later_counts = np.bincount(period, weights=later, minlength=count)
    return [
        PeriodLabels(first + i * width, int(events[i]), int(known_counts[i]), int(later_counts[i]))
        for i in range(count)
        if events[i]
    ]


__all__ = ["MICROS_PER_DAY", "PeriodLabels", "label_completeness", "labels_known_at"]
