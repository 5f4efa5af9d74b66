"""The kinds of store a subject's data can be in, behind one small interface.

Stores are listed by short name in erasure order: data derived from other data first (logs,
online state, feature builds, reports), the sources last (dataset versions, raw files), so a
run that stops half-way leaves the sources from which the next run finds everything again::

    >>> list(STORE_TYPES)[:2], list(STORE_TYPES)[-1]
    (['labels', 'predictions'], 'raw')
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from ferryml.governance.gdpr.stores.base import (
    MASK,
    Erased,
    Location,
    Scope,
    SubjectStore,
)

STORE_TYPES: Mapping[str, str] = {
    "labels": "ferryml.governance.gdpr.stores.predictions:Labels",
    "predictions": "ferryml.governance.gdpr.stores.predictions:PredictionLog",
    "windows": "ferryml.governance.gdpr.stores.windows:WindowState",
    "online": "ferryml.governance.gdpr.stores.online:OnlineRows",
    "mlflow-examples": "ferryml.governance.gdpr.stores.examples:InputExamples",
    "features": "ferryml.governance.gdpr.stores.features:FeatureBuilds",
    "documents": "ferryml.governance.gdpr.stores.documents:Documents",
    "other-files": "ferryml.governance.gdpr.stores.files:OtherFiles",
    "datasets": "ferryml.governance.gdpr.stores.datasets:DatasetVersions",
    "raw": "ferryml.governance.gdpr.stores.files:RawFiles",
}
"""Short name -> ``module:class``, in erasure order."""


def open_stores(scope: Scope) -> list[SubjectStore]:
    """One instance of every store, in erasure order."""
    stores = []
    for target in STORE_TYPES.values():
        module, _, name = target.partition(":")
        cls: type[SubjectStore] = getattr(importlib.import_module(module), name)
        stores.append(cls(scope))
    return stores


__all__ = ["MASK", "STORE_TYPES", "Erased", "Location", "Scope", "SubjectStore", "open_stores"]
