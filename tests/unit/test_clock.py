from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ferryml.clock import Clock, ManualClock, SystemClock


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_manual_clock_moves_only_when_told() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.now() == start
    assert clock.advance(timedelta(hours=2)) == start + timedelta(hours=2)
    assert isinstance(clock, Clock)


def test_manual_clock_normalizes_to_utc_and_never_goes_back() -> None:
    paris = timezone(timedelta(hours=1))
    clock = ManualClock(datetime(2026, 1, 1, 12, tzinfo=paris))
    assert clock.now() == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert clock.now().tzinfo == UTC
    with pytest.raises(ValueError, match="never goes back"):
        clock.set(datetime(2025, 1, 1, tzinfo=UTC))


def test_manual_clock_rejects_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_event_clock_tells_the_wall_until_an_event_then_the_latest_event() -> None:
    from ferryml.clock import EventClock

    clock = EventClock()
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)  # no event yet: the wall
    december = datetime(2025, 12, 1, 9, tzinfo=UTC)
    assert clock.observe(december) == december == clock.now()
    assert clock.observe(december - timedelta(days=1)) == december  # a late event: no going back
    paris = timezone(timedelta(hours=1))
    later = clock.observe(datetime(2025, 12, 1, 12, tzinfo=paris))
    assert later == datetime(2025, 12, 1, 11, tzinfo=UTC) and later.tzinfo == UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.observe(datetime(2025, 12, 2))
    assert isinstance(clock, Clock)
