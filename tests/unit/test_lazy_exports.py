"""Packages that load their names on first use (``ferryml._lazy``) hand out the same objects
as the modules defining them — also once every submodule is imported, when a submodule named
like one of the names would shadow it."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import ferryml

LAZY_PACKAGES = sorted(
    info.name
    for info in pkgutil.walk_packages(ferryml.__path__, "ferryml.")
    if info.ispkg
    and "migrations" not in info.name
    and hasattr(importlib.import_module(info.name), "_EXPORTS")
)


def test_the_lazy_packages_are_found() -> None:
    assert {"ferryml.storage", "ferryml.monitoring", "ferryml.data.synth"} <= set(LAZY_PACKAGES)


@pytest.mark.parametrize("package_name", LAZY_PACKAGES)
def test_every_lazy_name_is_its_module_object_after_all_submodules_load(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for info in pkgutil.walk_packages(package.__path__, package_name + "."):
        importlib.import_module(info.name)
    exports: dict[str, str] = package._EXPORTS
    for name, module in exports.items():
        value = getattr(package, name)
        assert not isinstance(value, types.ModuleType), f"{package_name}.{name} is a module"
        assert value is getattr(importlib.import_module(module), name), f"{package_name}.{name}"
        assert name in package.__all__
