"""Change points on monitored streams: when a change began, and whether it was sudden or
gradual.

Windows say *that* a week differs; a stream detector says *when*. Each monitored stream (the
scores, the per-event log loss on matured labels, each numeric column that drifted) is fed
event by event, in event-time order, to river's ADWIN (adaptive windowing: it keeps the
longest recent window whose two halves do not differ significantly, and cuts it when they do;
``delta`` is its confidence). A detection comes some time after the change began, and ADWIN's
kept window still holds older values, so where the change began is located inside that
window as the split that best separates two means (the maximum of the CUSUM of deviations).

A sudden change is caught once. A gradual one keeps moving the mean and is caught again and
again in the same direction: detections whose located starts follow the previous detection
within ``group_days`` form one change, called *gradual* when they span more than
``gradual_days``. A stream with a weekly cycle is fed as :func:`weekly_ranks` (each value's
rank among the reference's values of its weekday), or every weekend would be a change. The
module is generic: any stream of numbers with times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ferryml.monitoring.times import US_PER_DAY, iso_us


@dataclass(frozen=True)
class ChangePoint:
    series: str
    began: str
    """Where the change began (located inside ADWIN's window at the first detection)."""
    detected: str
    """When ADWIN first detected it."""
    settled: str
    """The last detection of the change (the same as ``detected`` for a sudden one)."""
    kind: str
    """``sudden`` or ``gradual``."""
    before: float
    after: float
    detections: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Detection:
    start: int
    """First index of ADWIN's window at the detection."""
    began: int
    """The located change inside it."""
    at: int
    direction: float


def change_points(
    times_us: npt.NDArray[np.float64],
    values: npt.ArrayLike,
    series: str,
    *,
    delta: float = 0.002,
    group_days: float = 3.0,
    gradual_days: float = 1.0,
) -> list[ChangePoint]:
    """The changes of ``values`` (in the order of ``times_us``, microseconds since the epoch;
    missing values skipped)."""
    from river.drift import ADWIN

    raw = np.asarray(values, dtype=np.float64)
    order = np.argsort(times_us, kind="stable")
    keep = np.isfinite(raw[order])
    times = np.asarray(times_us, dtype=np.float64)[order][keep]
    x = raw[order][keep]
    detector = ADWIN(delta=delta)  # type: ignore[no-untyped-call]  # river leaves it untyped
    detections: list[_Detection] = []
    for index, value in enumerate(x.tolist()):
        detector.update(value)  # type: ignore[no-untyped-call]
        if detector.drift_detected:
            start = max(0, index - int(detector.width) + 1)
            began = start + _split(x[start : index + 1])
            before, after = x[start:began], x[began : index + 1]
            direction = float(np.sign(after.mean() - before.mean())) if before.size else 0.0
            detections.append(_Detection(start, began, index, direction))
    changes = []
    for group in _groups(detections, times, group_days * US_PER_DAY):
        first, last = group[0], group[-1]
        span = times[last.at] - times[first.began]
        gradual = len(group) > 1 and span > gradual_days * US_PER_DAY
        before = x[first.start : first.began]
        changes.append(
            ChangePoint(
                series=series,
                began=iso_us(times[first.began]),
                detected=iso_us(times[first.at]),
                settled=iso_us(times[last.at]),
                kind="gradual" if gradual else "sudden",
                before=float(before.mean()) if before.size else float(x[: first.began + 1].mean()),
                after=float(x[last.began : last.at + 1].mean()),
                detections=len(group),
            )
        )
    return changes


def weekly_ranks(
    weekdays: npt.NDArray[np.integer[Any]],
    values: npt.ArrayLike,
    reference_weekdays: npt.NDArray[np.integer[Any]],
    reference_values: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Each value as its rank in the reference's values of the same weekday, in [0, 1] (the
    reference's distribution function, weekday by weekday): without drift the ranks are
    uniform whatever the weekly cycle in level, spread or shape, and a lasting change moves
    them from its start. A weekday the reference lacks is ranked against every reference
    value; missing values stay missing."""
    x = np.asarray(values, dtype=np.float64)
    reference = np.asarray(reference_values, dtype=np.float64)
    present = np.isfinite(reference)
    everything = np.sort(reference[present])
    ranks = np.full(x.shape, np.nan)
    for day in range(7):
        same = (np.asarray(weekdays) == day) & np.isfinite(x)
        if not same.any():
            continue
        pool = np.sort(reference[present & (np.asarray(reference_weekdays) == day)])
        pool = pool if pool.size else everything
        if pool.size == 0:
            continue
        below = np.searchsorted(pool, x[same], side="left")
        at_most = np.searchsorted(pool, x[same], side="right")
        ranks[same] = (below + at_most) / (2 * pool.size)  # mid-rank: ties count half
    return ranks


def _split(segment: npt.NDArray[np.float64]) -> int:
    """The index that best splits ``segment`` into two means (CUSUM's maximum), at least 1."""
    if segment.size < 3:
        return max(1, segment.size - 1)
    cusum = np.cumsum(segment - segment.mean())
    return int(np.argmax(np.abs(cusum[:-1]))) + 1


def _groups(
    detections: list[_Detection], times: npt.NDArray[np.float64], gap_us: float
) -> list[list[_Detection]]:
    groups: list[list[_Detection]] = []
    for detection in detections:
        if groups:
            previous = groups[-1][-1]
            same_way = detection.direction == previous.direction
            if same_way and times[detection.began] <= times[previous.at] + gap_us:
                groups[-1].append(detection)
                continue
        groups.append([detection])
    return groups


__all__ = ["ChangePoint", "change_points", "weekly_ranks"]
