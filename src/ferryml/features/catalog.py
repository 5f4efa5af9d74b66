"""The feature set as the feature store's registry sees it: a :class:`FeatureSetSpec`.

Profiles and label rates become online batch views over the build's ``views/*.parquet``;
window groups become offline views over the training set (registered for discovery and
lineage; online, ferryml's window state serves them); derived features become one request
view whose inputs are the event's fields and the batch views.
"""

from __future__ import annotations

from ferryml.features.build import FeatureBuild
from ferryml.features.graph import FeatureSet
from ferryml.features.label_rates import SNAPSHOT_COLUMN
from ferryml.features.offline import PROFILE_TIME_COLUMN
from ferryml.features.spec import (
    BatchViewSpec,
    EntitySpec,
    FeatureSetSpec,
    FieldSpec,
    FieldType,
    RequestViewSpec,
)

REQUEST_VIEW = "request_features"


def feature_set_spec(feature_set: FeatureSet, build: FeatureBuild) -> FeatureSetSpec:
    """The registry entries of ``feature_set`` with sources in ``build``."""
    config = feature_set.config
    owner = config.owner
    tags = {"ferryml_feature_set_version": feature_set.version, "dataset": build.dataset_ref}
    entities = tuple(
        EntitySpec(name, entity.key, entity.description) for name, entity in config.entities.items()
    )
    views: list[BatchViewSpec] = []
    for profile in feature_set.profiles:
        definition = profile.definition
        fields = tuple(
            FieldSpec(name, kind, "", definition.owner or owner)
            for name, kind in profile.field_types.items()
        )
        views.append(
            BatchViewSpec(
                profile.name,
                profile.entity,
                build.view_path(profile.name),
                PROFILE_TIME_COLUMN,
                fields,
                description=definition.description,
                owner=definition.owner or owner,
                tags=tags,
            )
        )
    for rate in feature_set.label_rates:
        views.append(
            BatchViewSpec(
                rate.name,
                rate.entity,
                build.view_path(rate.name),
                SNAPSHOT_COLUMN,
                (rate.output,),
                description=rate.output.description,
                owner=rate.output.owner,
                tags=tags,
            )
        )
    for window in feature_set.windows:
        declared = config.windows[window.name]
        views.append(
            BatchViewSpec(
                window.name,
                window.entity,
                build.training_path,
                feature_set.event_time_column,
                window.outputs,
                online=False,
                description=declared.description,
                owner=declared.owner or owner,
                tags=tags,
            )
        )
    batch_names = {view.name for view in views}
    produced = {spec.name for view in views for spec in view.fields}
    derived = tuple(spec for t in feature_set.transforms for spec in t.outputs)
    produced |= {spec.name for spec in derived}
    request_inputs = sorted(
        {name for t in feature_set.transforms for name in t.inputs if name not in produced}
    )
    types = feature_set.value_types
    request = RequestViewSpec(
        REQUEST_VIEW,
        tuple(FieldSpec(name, _field_type(types[name])) for name in request_inputs),
        tuple(sorted(batch_names - {w.name for w in feature_set.windows})),
        derived,
        description="Features computed from the event at request time (same code offline).",
        owner=owner,
        tags=tags,
    )
    return FeatureSetSpec(
        feature_set.project,
        feature_set.version,
        entities,
        tuple(views),
        (request,) if derived else (),
    )


def _field_type(value_type: str) -> FieldType:
    if value_type in ("string", "int"):
        return "string" if value_type == "string" else "int"
    return "float"
