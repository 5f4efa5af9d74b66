"""Every package's public face: each name in `__all__` imports."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "ferryml",
    "ferryml.config",
    "ferryml.errors",
    "ferryml.clock",
    "ferryml.storage",
    "ferryml.storage.duckdb_session",
    "ferryml.governance",
    "ferryml.data",
    "ferryml.data.synth",
    "ferryml.data.ingest",
    "ferryml.data.pseudonymize",
    "ferryml.data.versioning",
    "ferryml.data.validate",
    "ferryml.features.windows",
    "ferryml.features.windows.state",
    "ferryml.features.store",
    "ferryml.features.transforms",
    "ferryml.training",
    "ferryml.training.trainers",
    "ferryml.evaluation",
    "ferryml.evaluation.gates",
    "ferryml.serving",
    "ferryml.serving.routing",
    "ferryml.batch",
    "ferryml.monitoring",
    "ferryml.monitoring.stats",
    "ferryml.explain",
    "ferryml.registry",
    "ferryml.quickstart",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_import(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported, f"{name} exports nothing"
    for attribute in exported:
        assert getattr(module, attribute) is not None, f"{name}.{attribute}"


def test_every_error_is_a_ferry_error() -> None:
    import ferryml.errors as errors

    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, errors.FerryError), name
