"""Hot reload: every worker serves the version it should, without a restart.

What to serve is the registry alias (``serving.model_alias``), unless an admin pinned a
version (``POST /admin/reload``, ``POST /admin/rollback``): the pin lives in the platform DB
(:class:`~ferryml.serving.state.SharedState`), so a call that reaches one worker moves them
all. Each worker reads the pin every ``follow_interval_ms`` and the alias every
``alias_poll_ms``; when the target differs from what it serves it loads the version in this
background thread — files verified against the registered hash, the feature path of its
build, a warm-up — and swaps it in with one reference assignment, so requests in flight
finish on the old model and the next ones use the new. A version that fails to load is not
retried for a minute; the old model keeps serving and ``GET /v1/models`` says why.

Blue/green: the version swapped out stays loaded (:attr:`Follower.standby`), and with the
``blue_green`` routing the challenger is loaded and warm in every worker before any traffic;
:meth:`Follower.switch` pins the challenger and names the old version the new challenger, so
the swap needs no load either way, and switching again is the instant rollback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ferryml.errors import ConflictError, FerryError, NotFoundError
from ferryml.serving.deployment import Deployment
from ferryml.serving.routing import Routing
from ferryml.serving.state import SharedState

if TYPE_CHECKING:
    from ferryml.registry import ModelRegistry

log = logging.getLogger(__name__)

Routed = tuple[Routing, Deployment | None]
"""The routing and the challenger's deployment (None when it has none)."""

PIN = "pin"
ROUTING = "routing"
RETRY_FAILED_AFTER_S = 60.0


class Follower:
    """Keeps ``current`` on the version every worker should serve."""

    def __init__(
        self,
        current: Callable[[], Deployment],
        swap: Callable[[Deployment], None],
        load: Callable[[str], Deployment],
        registry: ModelRegistry,
        state: SharedState,
        *,
        alias: str,
        follow_interval: float,
        alias_poll: float,
        routed: tuple[Callable[[], Routed], Callable[[Routed], None]] | None = None,
        default_routing: Routing | None = None,
        after_tick: Callable[[], object] | None = None,
        shadow: Callable[[str | None], None] | None = None,
    ) -> None:
        self.current = current
        self.swap = swap
        self.load = load
        self.registry = registry
        self.state = state
        self.alias = alias
        self.follow_interval = follow_interval
        self.alias_poll = alias_poll
        self.previous: str | None = None
        self.standby: Deployment | None = None
        """The deployment served before the latest swap, kept loaded and warm: serving it
        again (a rollback, or switching blue/green back) is instant."""
        self.error: str | None = None
        self.pinned: str | None = None
        self._alias_version: str | None = None
        self._alias_read_at = float("-inf")
        self._failed: dict[str, float] = {}
        self._lock = threading.Lock()  # the background thread and a direct call never overlap
        self.routed = routed
        self.after_tick = after_tick
        """Run after each follow (the canary's ramp tick)."""
        self.shadow = shadow
        """Told the version to shadow (None: stop shadowing); the shadow loads it itself."""
        self.default_routing = default_routing or Routing()
        self._challenger_version: tuple[str, str | None, float] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Follow in a background thread (again, after :meth:`stop`)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="model-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        stop = self._stop
        while not stop.wait(self.follow_interval):
            try:
                self.follow_once()
                if self.after_tick is not None:
                    self.after_tick()
            except FerryError as exc:  # the DB or the registry does not answer: try again
                log.warning("cannot read what to serve: %s", exc.message)

    def target(self) -> str | None:
        """The version to serve: the pin, else the alias's version (read every alias_poll)."""
        _, pin = self.state.read(PIN)
        version = pin.get("version") if isinstance(pin, dict) else None
        self.pinned = str(version) if version else None
        if self.pinned:
            return self.pinned
        now = time.monotonic()
        if now - self._alias_read_at >= self.alias_poll:
            self._alias_version = self.registry.alias_version(self.alias)
            self._alias_read_at = now
        return self._alias_version

    def follow_once(self) -> bool:
        """Load and swap in the targets (champion, challenger) that are not served yet; True
        when anything changed."""
        with self._lock:
            swapped = self._follow()
            return self._follow_routing() or swapped

    def routing(self) -> Routing:
        """The routing every worker should apply: the shared one, else the config's."""
        _, value = self.state.read(ROUTING)
        return Routing.model_validate(value) if value else self.default_routing

    def _follow_routing(self) -> bool:
        if self.routed is None:
            return False
        get, put = self.routed
        routing = self.routing()
        current_routing, current = get()
        wanted = self._challenger_target(routing)
        shadowing = routing.strategy == "shadow"
        if self.shadow is not None:
            self.shadow(wanted if shadowing else None)
        if wanted is None or shadowing:
            fresh: Routed = (routing, None)
        elif current is not None and current.version == wanted:
            fresh = (routing, current)
        else:
            challenger = self._loaded(wanted, "challenger version", "the routing stays as it was")
            if challenger is None:
                return False
            alias = "challenger" if routing.challenger == "challenger" else ""
            fresh = (routing, replace(challenger, alias=alias))
        if fresh[0] == current_routing and fresh[1] is current:
            return False
        put(fresh)
        return True

    def _challenger_target(self, routing: Routing) -> str | None:
        """The version the routing's challenger names (an alias is read every alias_poll)."""
        if routing.strategy == "single" or routing.challenger is None:
            return None
        reference = routing.challenger
        if reference.isdigit():
            return reference
        cached = self._challenger_version
        now = time.monotonic()
        if cached is None or cached[0] != reference or now - cached[2] >= self.alias_poll:
            cached = (reference, self.registry.alias_version(reference), now)
            self._challenger_version = cached
        return cached[1]

    def route(self, routing: Routing, *, actor: str) -> int:
        """Make every worker apply ``routing``."""
        if routing.challenger is not None and routing.strategy != "single":
            self.registry.get(routing.challenger)  # NotFoundError names what is missing
        if self._challenger_target(routing) is None and routing.strategy != "single":
            raise NotFoundError(
                f"the challenger {routing.challenger!r} names no model version",
                hint="register a challenger (`ferry train` does) or give a version number",
            )
        return self.state.write(ROUTING, routing.model_dump(), actor=actor)

    def _warm(self, version: str) -> Deployment | None:
        """``version`` if this worker holds it loaded already (standby or challenger)."""
        candidates = [self.standby]
        if self.routed is not None:
            candidates.append(self.routed[0]()[1])
        for candidate in candidates:
            if candidate is not None and candidate.version == version:
                return replace(candidate, alias="")
        return None

    def _loaded(self, version: str, what: str, meanwhile: str) -> Deployment | None:
        """``version`` loaded and warmed up, or None (the reason kept in :attr:`error`); a
        version that failed is not tried again for a minute. A version this worker holds
        already is reused (no load, no warm-up)."""
        warm = self._warm(version)
        if warm is not None:
            return warm
        failed_at = self._failed.get(version)
        if failed_at is not None and time.monotonic() - failed_at < RETRY_FAILED_AFTER_S:
            return None
        try:
            fresh = self.load(version)
            fresh.warm_up()
        except FerryError as exc:
            self._failed[version] = time.monotonic()
            self.error = f"{what} {version} was not loaded: {exc.message}"
            log.error("%s; %s", self.error, meanwhile)
            return None
        return fresh

    def _follow(self) -> bool:
        target = self.target()
        serving = self.current()
        if target is None or target == serving.version:
            return False
        fresh = self._loaded(target, "version", f"version {serving.version} keeps serving")
        if fresh is None:
            return False
        self.swap(fresh)
        self.previous = serving.version
        self.standby = serving
        self.error = None
        log.warning("now serving version %s (was %s)", fresh.version, serving.version)
        return True

    def pin(self, version: str | None, *, actor: str) -> int:
        """Make every worker serve ``version`` (None: follow the alias again)."""
        if version is not None:
            self.registry.get(version)  # a named error for a version that does not exist
            self._failed.pop(version, None)
        return self.state.write(PIN, {"version": version}, actor=actor)

    def switch(self, *, actor: str) -> tuple[str, str]:
        """Blue/green: make every worker serve the warm challenger and keep the version it
        replaces warm as the new challenger (switching again goes back). Returns the versions
        now serving and on standby."""
        routing = self.routing()
        if routing.strategy != "blue_green":
            raise ConflictError(
                f"a switch needs the blue_green routing; the routing is {routing.strategy!r}",
                hint='POST /admin/routing {"strategy": "blue_green", "challenger": "N"} first, '
                "then wait for GET /v1/models to show it loaded",
            )
        green = self._challenger_target(routing)
        blue = self.current().version
        if green is None or green == blue:
            raise ConflictError(
                f"the blue_green challenger {routing.challenger!r} is not another version "
                f"than the one served ({blue})",
                hint="name another registered version as the challenger",
            )
        self.pin(green, actor=actor)
        standby = Routing(strategy="blue_green", challenger=blue)
        self.state.write(ROUTING, standby.model_dump(), actor=actor)
        return green, blue

    def rollback(self, *, actor: str) -> str:
        """Pin the version this worker served before its latest swap."""
        if self.previous is None:
            raise ConflictError(
                f"nothing to roll back to: version {self.current().version} is the first this "
                "worker served",
                hint='pin a version with POST /admin/reload {"version": "N"}',
            )
        target = self.previous
        self.pin(target, actor=actor)
        return target


__all__ = ["PIN", "ROUTING", "Follower", "Routed"]
