"""A circuit breaker for the online stores: while they are down, answers stay fast.

Each request's feature step waits at most ``serving.store_timeout_ms`` on the online store
and window state. When the stores fail ``failures_to_open`` times in a row, the breaker
*opens*: for ``cooldown`` seconds requests do not try them at all and are answered at once
with the documented default features (``degraded: true``); then one request tries again
(*half-open*), and a success closes the breaker. A single slow read therefore costs one
degraded answer, not a second of them; a Redis that is down costs each request nothing
beyond the first few::

    >>> now = [0.0]
    >>> breaker = Breaker(failures_to_open=2, cooldown=1.0, clock=lambda: now[0])
    >>> breaker.failed(); breaker.allow()
    True
    >>> breaker.failed(); breaker.allow()
    False
    >>> now[0] = 1.5; breaker.allow()
    True
    >>> breaker.succeeded(); breaker.is_open
    False
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ferryml.serving import metrics


class Breaker:
    """Counts consecutive store failures of one worker; opens after ``failures_to_open``."""

    def __init__(
        self,
        *,
        failures_to_open: int = 3,
        cooldown: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._failures >= self.failures_to_open

    def allow(self) -> bool:
        """Whether this request may try the stores (closed, or half-open after the cooldown)."""
        return not self.is_open or self.clock() >= self._open_until

    def succeeded(self) -> None:
        if self.is_open:
            metrics.STORE_BREAKER_OPEN.set(0)
        self._failures = 0

    def failed(self) -> None:
        self._failures += 1
        if self.is_open:  # opened now, or a half-open trial failed: wait again
            self._open_until = self.clock() + self.cooldown
            metrics.STORE_BREAKER_OPEN.set(1)


__all__ = ["Breaker"]
