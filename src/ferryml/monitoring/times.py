"""Event times as monitoring holds them: float microseconds since the epoch (UTC)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

US_PER_DAY = 86_400 * 1_000_000


def weekdays_of(times_us: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """The UTC weekday (Monday 0) of each time in microseconds since the epoch."""
    days = np.floor(times_us / US_PER_DAY).astype(np.int64)
    return ((days + 3) % 7).astype(np.int8)  # 1970-01-01 was a Thursday


def iso_us(us: float) -> str:
    """Microseconds since the epoch as an ISO UTC time."""
    return str(np.datetime64(int(us), "us")) + "Z"


__all__ = ["US_PER_DAY", "iso_us", "weekdays_of"]
