"""Typed project configuration: pydantic models that reject unknown keys, loaded from YAML,
environment (``FERRY_…``) and CLI flags, in that order of precedence.

Names are imported lazily so that stage packages may import :mod:`ferryml.config.base`
without pulling in every section (which would import those stages back).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ferryml.config.base import StrictModel
    from ferryml.config.loader import LoadedConfig, embedded_config_text, load_config
    from ferryml.config.project import ProjectConfig

_EXPORTS = {
    "StrictModel": "ferryml.config.base",
    "LoadedConfig": "ferryml.config.loader",
    "embedded_config_text": "ferryml.config.loader",
    "load_config": "ferryml.config.loader",
    "ProjectConfig": "ferryml.config.project",
}

__all__ = [
    "LoadedConfig",
    "ProjectConfig",
    "StrictModel",
    "embedded_config_text",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ferryml.config' has no attribute {name!r}")
