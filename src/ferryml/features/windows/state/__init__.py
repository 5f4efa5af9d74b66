"""Where online window aggregations keep each entity's recent events: a tiny ABC, two backends.

Backends are named by a short type name, as in a config's ``online_store: redis``; code never
branches on it. Each backend module is imported only when its store is opened::

    >>> sorted(STORE_TYPES)
    ['redis', 'sqlite']
    >>> open_window_store("sqlit", project="fraud")
    Traceback (most recent call last):
    ...
    ferryml.errors.InvalidInputError: unknown window store type 'sqlit'; known: redis, sqlite
      hint: did you mean 'sqlite'?
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ferryml.errors import InvalidInputError
from ferryml.features.windows.state.base import Events, WindowStateStore, WindowUpdate

STORE_TYPES: Mapping[str, str] = {
    "redis": "ferryml.features.windows.state.redis:RedisWindowStore",
    "sqlite": "ferryml.features.windows.state.sqlite:SqliteWindowStore",
}
"""Short type name -> ``module:class`` of the backend."""


def store_class(type_name: str) -> type[WindowStateStore]:
    """The backend class registered under ``type_name``."""
    target = STORE_TYPES.get(type_name)
    if target is None:
        close = difflib.get_close_matches(str(type_name), STORE_TYPES, n=1)
        raise InvalidInputError(
            f"unknown window store type {type_name!r}; known: {', '.join(sorted(STORE_TYPES))}",
            hint=f"did you mean {close[0]!r}?" if close else "use one of the known types",
        )
    module_name, _, class_name = target.partition(":")
    cls: type[WindowStateStore] = getattr(importlib.import_module(module_name), class_name)
    return cls


def open_window_store(type_name: str, *, project: str, **options: Any) -> WindowStateStore:
    """Open the ``type_name`` store of ``project``; ``options`` go to the backend's constructor
    (``path`` for SQLite; ``url`` or ``client`` for Redis)."""
    cls = store_class(type_name)
    try:
        inspect.signature(cls).bind(project=project, **options)
    except TypeError as exc:
        accepted = [p for p in inspect.signature(cls).parameters if p != "project"]
        raise InvalidInputError(
            f"the {type_name!r} window store does not take options {sorted(options)}: {exc}",
            hint=f"its options are {accepted}",
        ) from exc
    factory: Callable[..., WindowStateStore] = cls  # backends' constructors differ by design
    return factory(project=project, **options)


__all__ = [
    "STORE_TYPES",
    "Events",
    "WindowStateStore",
    "WindowUpdate",
    "open_window_store",
    "store_class",
]
