"""Injectable time.

Every time-dependent part of ferryml takes a :class:`Clock` instead of calling
``datetime.now()``, so that replays run on event time and tests never sleep::

    >>> from datetime import datetime, timedelta, timezone
    >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> clock.advance(timedelta(hours=2)).isoformat()
    '2026-01-01T02:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and event-time replays."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> datetime:
        """Move to ``when``; time never goes backwards."""
        when = _require_aware(when)
        if when < self._now:
            raise ValueError(f"a ManualClock never goes back: {when} is before {self._now}")
        self._now = when
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        return self.set(self._now + delta)


def _require_aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"clock times must be timezone-aware, got naive {when.isoformat()}")
    return when.astimezone(UTC)


__all__ = ["Clock", "ManualClock", "SystemClock"]
