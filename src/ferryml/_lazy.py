"""Package attributes that import their module on first use.

A package whose config model the config loader imports (``ferryml.evaluation``,
``ferryml.serving``) would otherwise load its whole stage for a command that only reads a
config::

    __getattr__ = lazy_exports(__name__, {"ScoringService": "ferryml.serving.service"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``exports`` (name -> module that defines it)."""

    def attribute(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return attribute


__all__ = ["lazy_exports"]
