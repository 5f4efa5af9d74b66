"""Time-based splits: train on the past, validate on a later period, test on the latest.

A random split across time lets the model learn from the future of its own test rows (a
fraud ring's later transactions teach it the earlier ones); here every training event precedes
every validation event, which precedes every test event. Periods are half-open in event time::

    ... train ... | validation | test | too young (labels may still arrive) | cutoff
                  v            t      m                                      c

with ``m = c - label_maturity``, ``t = m - test_days``, ``v = t - validation_days``.

    >>> day = 86_400_000_000.0
    >>> split = plan_split(first_us=0.0, cutoff_us=100 * day, maturity_days=30,
    ...                    validation_days=10, test_days=10, min_train_days=14)
    >>> bounds = (split.validation_start_us, split.test_start_us, split.mature_end_us)
    >>> [round(x / day) for x in bounds]
    [50, 60, 70]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ferryml.errors import InvalidInputError
from ferryml.training.labels import MICROS_PER_DAY


@dataclass(frozen=True)
class TimeSplit:
    """The boundaries of one split, in float microseconds since the epoch (UTC)."""

    first_us: float
    validation_start_us: float
    test_start_us: float
    mature_end_us: float
    cutoff_us: float

    def masks(
        self, event_times_us: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Boolean masks of the training, validation and test events; events at or after the
        maturity boundary are in none."""
        t = np.asarray(event_times_us, dtype=np.float64)
        train = t < self.validation_start_us
        validation = (t >= self.validation_start_us) & (t < self.test_start_us)
        test = (t >= self.test_start_us) & (t < self.mature_end_us)
        return train, validation, test

    def describe(self) -> dict[str, str]:
        """The boundaries as ISO dates, for run parameters and reports."""
        from datetime import UTC, datetime

        def iso(us: float) -> str:
            return datetime.fromtimestamp(us / 1e6, UTC).isoformat(timespec="seconds")

        return {
            "train_from": iso(self.first_us),
            "validation_from": iso(self.validation_start_us),
            "test_from": iso(self.test_start_us),
            "test_until": iso(self.mature_end_us),
            "label_cutoff": iso(self.cutoff_us),
        }


def plan_split(
    *,
    first_us: float,
    cutoff_us: float,
    maturity_days: int,
    validation_days: int,
    test_days: int,
    min_train_days: int,
) -> TimeSplit:
    """The split of events from ``first_us`` with labels known at ``cutoff_us``; a named error
    when the history is too short for the configured periods."""
    mature_end = cutoff_us - maturity_days * MICROS_PER_DAY
    test_start = mature_end - test_days * MICROS_PER_DAY
    validation_start = test_start - validation_days * MICROS_PER_DAY
    train_days = (validation_start - first_us) / MICROS_PER_DAY
    if train_days < min_train_days:
        span = (cutoff_us - first_us) / MICROS_PER_DAY
        need = min_train_days + validation_days + test_days + maturity_days
        raise InvalidInputError(
            f"the data spans {span:.1f} days up to the cutoff, too short for the split: "
            f"{min_train_days} training + {validation_days} validation + {test_days} test + "
            f"{maturity_days} label-maturity days need {need}",
            hint="shorten training.split.validation_days / test_days or "
            "training.label_maturity_days, or train on a longer history",
        )
    return TimeSplit(first_us, validation_start, test_start, mature_end, cutoff_us)


__all__ = ["TimeSplit", "plan_split"]
