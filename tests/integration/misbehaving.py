"""A challenger that misbehaves on cue, for the shadow tests: it is loaded in the shadow
process (spawned, so it is found by module name) and acts on the prefix of the transaction id.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ferryml.config.loader import LoadedConfig
from ferryml.serving.deployment import Deployment, Scored, load_version


class Misbehaving:
    """The real deployment, except: ``raise-…`` raises, ``sleep-…`` takes 200 ms, ``hang-…``
    never answers, ``spin-…`` busy-loops on the CPU forever."""

    def __init__(self, inner: Deployment) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def feature_set(self) -> Any:
        """Another feature-set version than the champion's: the shadow calls :meth:`score`
        with the request (and its cue), not the champion's features."""
        return SimpleNamespace(version="misbehaving")

    def warm_up(self) -> None:
        self.inner.warm_up()

    def score(self, event: dict[str, Any]) -> Scored:
        cue = str(event.get("transaction_id", "")).split("-", 1)[0]
        if cue == "raise":
            raise RuntimeError("challenger exploded")
        if cue == "sleep":
            time.sleep(0.2)
        if cue == "hang":
            time.sleep(3600)
        while cue == "spin":
            pass
        return self.inner.score(event)


def load_misbehaving(loaded: LoadedConfig, root: Path, version: str) -> Misbehaving:
    return Misbehaving(load_version(loaded, root, None, version))
