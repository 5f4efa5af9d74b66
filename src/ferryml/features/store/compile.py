"""A :class:`~ferryml.features.spec.FeatureSetSpec` as Feast objects: the checks Feast would
fail on, the compilation, and :func:`computed_by_ferryml`, the UDF of every request view.

- **Types.** int -> ``Int64``, float -> ``Float64``, string -> ``String``; ``timestamp``
  (int64 microseconds in ferryml) -> ``Int64`` with the field tag ``ferryml_dtype=timestamp``,
  not ``UnixTimestamp``, which Feast stores in whole seconds (``unix_timestamp_val``) and
  would silently drop the microseconds.
- **Request views** are registered as ``OnDemandFeatureView`` whose UDF is
  :func:`computed_by_ferryml`: see there why, and why they bypass Feast's UDF inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ferryml.errors import InvalidInputError
from ferryml.features.spec import FeatureSetSpec, FieldSpec, FieldType
from ferryml.features.store.feast_errors import did_you_mean

FEATURE_SET_VERSION_TAG = "ferryml_feature_set_version"
DTYPE_TAG = "ferryml_dtype"

_FEAST_TYPES: dict[FieldType, str] = {
    "int": "Int64",
    "float": "Float64",
    "string": "String",
    "timestamp": "Int64",
}


def computed_by_ferryml(inputs: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The UDF recorded for every ferryml request view; it refuses to run.

    ferryml computes request features itself (one code path for training, batch and serving);
    the Feast ``OnDemandFeatureView`` records their inputs, outputs and owner. Feast pickles a
    UDF with dill: a closure or a function made at run time is pickled *by value* (bytecode
    that only loads on the same Python version, plus whatever it captured). This one is a
    module-level function with no closure and no globals, so dill pickles it by reference
    (``ferryml.features.store.compile.computed_by_ferryml``, 69 bytes): the registry loads
    wherever ferryml is installed. Registries written before this function moved here refer to
    ``ferryml.features.store.feast_repo.computed_by_ferryml``, which ``feast_repo`` re-exports.
    Since it computes nothing, Feast's apply-time inference (which runs the UDF on made-up
    inputs) cannot run: ferryml registers these views itself, with the schema from the spec.
    """
    raise InvalidInputError(
        f"ferryml request views are computed by ferryml, not by Feast (inputs: {sorted(inputs)})",
        hint="read request features through ferryml's online path or its offline builder",
    )


# Kept word for word although the function now lives in this module (the old path still
# resolves, through feast_repo's re-export): Feast 0.67 tells a changed UDF by this text alone
# (PythonTransformation.__eq__), so registries written before the move see the same UDF.
_UDF_TEXT = (
    "# computed by ferryml, not by Feast: "
    "ferryml.features.store.feast_repo.computed_by_ferryml raises if called\n"
)


@dataclass
class Compiled:
    """A feature set as Feast objects."""

    entities: list[Any]
    sources: list[Any]
    views: list[Any]
    request_sources: list[Any]
    request_views: list[Any]

    @classmethod
    def from_spec(cls, spec: FeatureSetSpec) -> Compiled:
        import feast
        from feast.on_demand_feature_view import OnDemandFeatureView

        version = {FEATURE_SET_VERSION_TAG: spec.version}
        entities = {
            e.name: feast.Entity(
                name=e.name,
                join_keys=[e.key],
                value_type=feast.ValueType.STRING,
                description=e.description,
                tags=version,
            )
            for e in spec.entities
        }
        compiled = cls(list(entities.values()), [], [], [], [])
        views: dict[str, Any] = {}
        for bv in spec.batch_views:
            entity = entities[bv.entity]
            source = feast.FileSource(
                name=f"{bv.name}__source",
                path=str(Path(bv.source).absolute()),
                timestamp_field=bv.timestamp_column,
                description=f"Parquet rows of batch view {bv.name}",
                tags=version,
                owner=bv.owner,
            )
            views[bv.name] = feast.FeatureView(
                name=bv.name,
                entities=[entity],
                source=source,
                schema=[
                    feast.Field(name=entity.join_key, dtype=feast.types.String),
                    *(feast_field(f) for f in bv.fields),
                ],
                ttl=bv.ttl or timedelta(0),
                online=bv.online,
                description=bv.description,
                owner=bv.owner,
                tags={**bv.tags, **version},
            )
            compiled.sources.append(source)
        compiled.views.extend(views.values())
        for rv in spec.request_views:
            request = feast.RequestSource(
                name=f"{rv.name}__request",
                schema=[feast_field(f) for f in rv.request_fields],
                description=f"request fields of request view {rv.name}",
                tags=version,
                owner=rv.owner,
            )
            compiled.request_sources.append(request)
            compiled.request_views.append(
                OnDemandFeatureView(
                    name=rv.name,
                    sources=[*(views[name] for name in rv.batch_views), request],
                    schema=[feast_field(f) for f in rv.fields],
                    udf=computed_by_ferryml,  # type: ignore[arg-type]  # a FunctionType
                    udf_string=_UDF_TEXT,
                    mode="python",
                    description=rv.description,
                    owner=rv.owner,
                    tags={**rv.tags, **version},
                )
            )
        return compiled

    def keys(self) -> set[tuple[str, str]]:
        """(class name, object name) of every object, as the registry lists them."""
        every = [
            *self.entities,
            *self.sources,
            *self.views,
            *self.request_sources,
            *self.request_views,
        ]
        return {(type(obj).__name__, obj.name) for obj in every}


def feast_field(spec: FieldSpec) -> Any:
    """The ``feast.Field`` of a field, its ferryml type in the ``ferryml_dtype`` tag."""
    import feast

    tags: dict[str, str] = {DTYPE_TAG: spec.dtype}
    if spec.owner:
        tags["owner"] = spec.owner
    dtype = getattr(feast.types, _FEAST_TYPES[spec.dtype])
    return feast.Field(name=spec.name, dtype=dtype, description=spec.description, tags=tags)


def check_spec(spec: FeatureSetSpec) -> None:
    """Every rule Feast would break on, as one error listing every failure."""
    problems: list[str] = []
    entities = {e.name: e for e in spec.entities}
    if len(entities) != len(spec.entities):
        problems.append("two entities share a name")
    names = [v.name for v in spec.batch_views] + [v.name for v in spec.request_views]
    problems += [
        f"two views are named {n!r}" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    batch = {v.name: v for v in spec.batch_views}
    for bv in spec.batch_views:
        entity = entities.get(bv.entity)
        if entity is None:
            problems.append(
                f"batch view {bv.name!r}: unknown entity {bv.entity!r}"
                + did_you_mean(bv.entity, list(entities))
            )
        if not bv.fields:
            problems.append(f"batch view {bv.name!r} has no fields")
        reserved = {bv.timestamp_column, entity.key if entity else ""}
        problems += _field_problems(f"batch view {bv.name!r}", bv.fields, reserved)
    for rv in spec.request_views:
        where = f"request view {rv.name!r}"
        problems += [
            f"{where}: unknown batch view {name!r}" + did_you_mean(name, list(batch))
            for name in rv.batch_views
            if name not in batch
        ]
        problems += _field_problems(where, (*rv.request_fields, *rv.fields), set())
    if problems:
        raise InvalidInputError(
            f"feature set {spec.project!r} {spec.version!r} cannot be applied:\n  - "
            + "\n  - ".join(problems)
        )


def _field_problems(where: str, fields: Sequence[FieldSpec], reserved: set[str]) -> list[str]:
    names = [f.name for f in fields]
    problems = [
        f"{where}: two fields are named {n!r}" for n in sorted(set(names)) if names.count(n) > 1
    ]
    return problems + [
        f"{where}: field {n!r} is its key or timestamp column" for n in names if n in reserved
    ]
