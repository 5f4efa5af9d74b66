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


class EventClock:
    """The time of the latest event seen: a server replaying past traffic lives in it.

    A replay sends months of events in minutes; with this clock, whatever a server times
    (a canary step's dwell, the prediction log's ``ts``, a label's arrival) moves with the
    events it scores rather than with the wall. Before the first event it tells the wall
    time; after, never less than the latest event (a late event does not move it back)::

        >>> clock = EventClock()
        >>> clock.observe(datetime(2025, 12, 1, tzinfo=UTC)).isoformat()
        '2025-12-01T00:00:00+00:00'
        >>> clock.observe(datetime(2025, 11, 30, tzinfo=UTC)).isoformat()
        '2025-12-01T00:00:00+00:00'

    Only for replays and simulations (``serving.clock: event``): in production an event
    time is the client's claim, not the server's time.
    """

    def __init__(self) -> None:
        self._latest: datetime | None = None

    def now(self) -> datetime:
        return self._latest if self._latest is not None else datetime.now(UTC)

    def observe(self, when: datetime) -> datetime:
        """Move to ``when`` if it is later than every event seen; return the time now."""
        when = _require_aware(when)
        latest = self._latest
        if latest is None or when > latest:
            self._latest = when  # one assignment: safe from several threads
        return self.now()


def _require_aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"clock times must be timezone-aware, got naive {when.isoformat()}")
    return when.astimezone(UTC)


__all__ = ["Clock", "EventClock", "ManualClock", "SystemClock"]
