"""Degraded mode: what features are when the online store does not answer.

Scoring never fails because a store is down. The fallback path computes the same features
with no batch-view row (every profile and rate field missing, as for an entity never seen)
and no window history (counts and sums 0, means and maxima missing): the documented
defaults, the same values a brand-new customer gets. The response says ``degraded: true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ferryml.features.windows.state.base import Events, WindowStateStore, WindowUpdate


class NoRows:
    """A batch-view reader that knows no entity (the online store is unreachable)."""

    def read_online_rows(self, lookups: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        return [None] * len(lookups)

    def read_online_with_windows(
        self,
        lookups: Sequence[tuple[str, str]],
        windows: WindowStateStore,
        updates: Sequence[WindowUpdate],
    ) -> tuple[list[dict[str, Any] | None], list[Events]]:
        return self.read_online_rows(lookups), windows.read_and_append(updates)


class NoHistory(WindowStateStore):
    """A window state with no events, that records nothing (its store is unreachable)."""

    type_name = "none"

    def __init__(self, project: str) -> None:
        self.project = project

    def read_and_append(self, updates: Sequence[WindowUpdate]) -> list[Events]:
        return [[] for _ in updates]

    def bulk_load(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def clear(self, view: str | None = None) -> None:
        return None

    def close(self) -> None:
        return None


__all__ = ["NoHistory", "NoRows"]
