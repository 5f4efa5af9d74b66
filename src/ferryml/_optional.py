"""Import optional heavy dependencies lazily, with an install hint when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ferryml.errors import MissingDependencyError


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install.

    >>> require("json", extra="core", purpose="reading JSON").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module.split(".")[0], extra=extra, purpose=purpose) from exc
