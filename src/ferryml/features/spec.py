"""What a compiled feature set is made of, as plain data: entities, views and fields.

These dataclasses are the neutral description that the YAML/Python definitions compile into and
that backends consume (the Feast repository, the offline builder, the online path). Nothing here
computes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

FieldType = Literal["int", "float", "string", "timestamp"]
"""Value types a feature can have. Timestamps are int64 microseconds since the epoch, UTC."""


@dataclass(frozen=True)
class EntitySpec:
    """A business object features are keyed by (customer, card, merchant)."""

    name: str
    key: str
    """The join key column in the event table and in the entity's views."""
    description: str = ""


@dataclass(frozen=True)
class FieldSpec:
    """One feature (or request input) with the people-facing facts about it."""

    name: str
    dtype: FieldType
    description: str = ""
    owner: str = ""


@dataclass(frozen=True)
class BatchViewSpec:
    """Features computed in batch and keyed by one entity: a Feast ``FeatureView``.

    ``source`` is a Parquet file or directory written by ferryml with the entity's key column,
    ``timestamp_column`` (when each row became true) and one column per field. ``online`` views
    are materialized into the online store; offline-only views are registered for discovery and
    lineage.
    """

    name: str
    entity: str
    source: Path
    timestamp_column: str
    fields: tuple[FieldSpec, ...]
    online: bool = True
    ttl: timedelta | None = None
    description: str = ""
    owner: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestViewSpec:
    """Features computed at request time from the event and batch views: a Feast
    ``OnDemandFeatureView``. ferryml computes them itself (one code path for every engine);
    the Feast object records their inputs, outputs and owner in the registry.
    """

    name: str
    request_fields: tuple[FieldSpec, ...]
    """Fields of the event itself (from the request or the event table)."""
    batch_views: tuple[str, ...]
    """Names of the batch views whose fields the computation reads."""
    fields: tuple[FieldSpec, ...]
    description: str = ""
    owner: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureSetSpec:
    """Everything a feature set declares, with its version (a hash of its definitions)."""

    project: str
    version: str
    entities: tuple[EntitySpec, ...]
    batch_views: tuple[BatchViewSpec, ...]
    request_views: tuple[RequestViewSpec, ...]
