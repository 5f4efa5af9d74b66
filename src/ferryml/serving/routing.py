"""Which model answers a request: sticky, deterministic assignment of keys to arms.

A request's key (an entity field, e.g. the customer) is hashed with SHA-256 — never Python's
``hash()``, which is salted per process and would send one customer to different arms on
different workers — into a number in [0, 1); keys below the challenger's weight go to the
challenger. The same key always lands on the same arm, in every worker and every restart,
until the weight or the salt changes::

    >>> routing = Routing(strategy="ab", challenger="2", weight=0.5, key="customer_id")
    >>> routing.arm({"customer_id": "c-1"}) == routing.arm({"customer_id": "c-1"})
    True
    >>> round(bucket("c-1", ""), 6)
    0.141618

``canary`` and ``ab`` split traffic the same way; they differ in what is done with the split
(a canary ramps up under guardrails, an A/B test measures the effect per arm). ``single``
sends everything to the champion. Two strategies keep every answer with the champion and use
the challenger otherwise: ``shadow`` scores each request again with the challenger, in a
separate process, off the request path (:mod:`ferryml.serving.shadow`); ``blue_green`` keeps
the challenger loaded and warm in every worker, so that ``POST /admin/switch`` makes it the
champion at once (and switching again puts the old one back). The routing lives in the platform DB
(:class:`~ferryml.serving.state.SharedState`), so a change made through one worker reaches all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from ferryml.config.base import StrictModel

CHAMPION = "champion"
CHALLENGER = "challenger"
Strategy = Literal["single", "canary", "ab", "shadow", "blue_green"]
SPLITTING: frozenset[str] = frozenset({"canary", "ab"})
"""The strategies that send some answers to the challenger (they need a ``key``)."""


def bucket(key: str, salt: str) -> float:
    """``key``'s place in [0, 1): the first 8 bytes of SHA-256(salt:key) over 2**64."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Routing(StrictModel):
    """How requests are split between the champion and a challenger."""

    strategy: Strategy = Field(
        default="single", description="single, canary, ab, shadow or blue_green."
    )
    challenger: str | None = Field(
        default=None, description="Registry alias or version of the challenger."
    )
    weight: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of keys sent to the challenger."
    )
    key: str | None = Field(
        default=None, description="Request field hashed for stickiness (an entity column)."
    )
    salt: str = Field(default="", max_length=64, description="Change it to reshuffle keys.")

    @model_validator(mode="after")
    def _complete(self) -> Routing:
        if self.strategy in SPLITTING and (self.challenger is None or self.key is None):
            raise ValueError(f"strategy {self.strategy!r} needs a `challenger` and a `key`")
        if self.strategy != "single" and self.challenger is None:
            raise ValueError(f"strategy {self.strategy!r} needs a `challenger`")
        return self

    def arm(self, event: Mapping[str, Any]) -> str:
        """``champion`` or ``challenger`` for this request."""
        if self.strategy not in SPLITTING or self.weight <= 0.0 or self.key is None:
            return CHAMPION
        value = event.get(self.key)
        if value is None:
            return CHAMPION  # no key, no stickiness: the champion answers
        return CHALLENGER if bucket(str(value), self.salt) < self.weight else CHAMPION


__all__ = ["CHALLENGER", "CHAMPION", "SPLITTING", "Routing", "Strategy", "bucket"]
