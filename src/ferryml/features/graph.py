"""Compile the ``features`` section into a checked, ordered :class:`FeatureSet`.

Every definition names its inputs; compiling resolves each against the schema's columns,
the profiles' columns and the other features, checks its type (a window needs a timestamp,
an encoding a string, arithmetic a number), orders everything so that each feature comes after
its inputs, and refuses a cycle. Every problem is reported at once, each naming the feature::

    features.derived.amount_eur.currency: expected a column or feature (did you mean
    'currency'?), found 'curency'
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from ferryml.config.schema import SchemaConfig
from ferryml.errors import ConfigError, ConfigIssue, InvalidInputError
from ferryml.features import definitions as d
from ferryml.features.spec import FieldSpec, FieldType
from ferryml.features.transforms import make_transform
from ferryml.features.transforms.base import Transform
from ferryml.features.windows import WindowAggregation, parse_window

CODE_VERSION = 1
"""Bumped when the meaning of a transform changes: it enters every feature set's version."""


@dataclass(frozen=True)
class WindowNode:
    """One window group: the entity's key column, the value it aggregates, its outputs."""

    name: str
    entity: str
    key_column: str
    time_column: str
    value: str
    aggregation: WindowAggregation
    outputs: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class LabelRateNode:
    """One label rate (e.g. merchant risk): computed from labelled events, as of snapshots."""

    name: str
    entity: str
    key_column: str
    window_us: int
    prior_weight: float
    output: FieldSpec


@dataclass(frozen=True)
class ProfileNode:
    """An entity's attribute table, joined as of each event."""

    name: str
    entity: str
    key_column: str
    definition: d.ProfileDefinition

    @property
    def field_types(self) -> dict[str, FieldType]:
        """Each column's feature type: strings stay strings, numbers and times become floats."""
        return {
            name: "string" if kind == "string" else "float"
            for name, kind in self.definition.columns.items()
        }


Node = Transform | WindowNode


@dataclass
class FeatureSet:
    """A compiled, ordered feature set. ``order`` lists derived transforms and window groups
    so that each comes after everything it reads; label rates and profiles come first."""

    project: str
    version: str
    schema: SchemaConfig
    config: d.FeaturesConfig
    profiles: tuple[ProfileNode, ...]
    label_rates: tuple[LabelRateNode, ...]
    order: tuple[Node, ...]
    outputs: tuple[FieldSpec, ...]
    """Model features, in a stable order: label rates, windows, derived."""
    value_types: Mapping[str, str] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()
    """Event or profile columns kept beside the features (for subpopulations), not features."""

    @property
    def transforms(self) -> tuple[Transform, ...]:
        return tuple(node for node in self.order if isinstance(node, Transform))

    @property
    def windows(self) -> tuple[WindowNode, ...]:
        return tuple(node for node in self.order if isinstance(node, WindowNode))

    @property
    def joined_views(self) -> tuple[ProfileNode | LabelRateNode, ...]:
        """The batch views joined to each event by entity key: profiles, then label rates."""
        return (*self.profiles, *self.label_rates)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.outputs)

    @property
    def event_columns(self) -> tuple[str, ...]:
        """Columns of the event table the features read (inputs, keys, times, labels)."""
        needed = {self.event_time_column}
        needed.update(node.key_column for node in self.joined_views)
        for node in self.order:
            if isinstance(node, WindowNode):
                needed.update((node.key_column, node.time_column, node.value))
            else:
                needed.update(node.inputs)
        needed.update(self.attributes)
        if self.label_rates:
            needed.update(self.schema.columns_with_role("label"))
            needed.update(self.schema.columns_with_role("label_time"))
        return tuple(name for name in self.schema.columns if name in needed)

    @property
    def scoring_columns(self) -> tuple[str, ...]:
        """Columns of the event table scoring needs: :attr:`event_columns` without the labels
        (label rates come from batch views when scoring)."""
        labels = {
            *self.schema.columns_with_role("label"),
            *self.schema.columns_with_role("label_time"),
        }
        used = {name for node in self.order if isinstance(node, Transform) for name in node.inputs}
        return tuple(name for name in self.event_columns if name not in labels or name in used)

    @property
    def kept_columns(self) -> tuple[str, ...]:
        """What a training set carries beside the features: ids, entities, event time, labels,
        window values (to reload the window state online) and the attributes."""
        schema = self.schema
        return tuple(
            dict.fromkeys(
                [
                    *schema.columns_with_role("id"),
                    *schema.columns_with_role("entity"),
                    self.event_time_column,
                    *schema.columns_with_role("label"),
                    *schema.columns_with_role("label_time"),
                    *(node.value for node in self.windows),
                    *self.attributes,
                ]
            )
        )

    @property
    def event_time_column(self) -> str:
        return self.schema.columns_with_role("event_time")[0]


def compile_features(
    project: str, config: d.FeaturesConfig, schema: SchemaConfig, *, source: str = "features"
) -> FeatureSet:
    """Check ``config`` against ``schema`` and order it.

    Raises :class:`ConfigError` listing every problem, each naming its feature.
    """
    issues: list[ConfigIssue] = []
    types: dict[str, str] = {name: spec.type for name, spec in schema.columns.items()}
    origin: dict[str, str] = dict.fromkeys(schema.columns, "schema")

    def declare(name: str, value_type: str, where: str) -> None:
        if name in origin:
            issues.append(
                ConfigIssue(
                    source,
                    where,
                    "a name not used yet",
                    f"{name!r}, already defined by {origin[name]}",
                )
            )
            return
        types[name] = value_type
        origin[name] = where

    entity_keys = {}
    for name, entity in config.entities.items():
        if entity.key not in schema.columns:
            issues.append(_missing(source, f"features.entities.{name}.key", entity.key, types))
        entity_keys[name] = entity.key

    profiles = []
    for name, profile in config.profiles.items():
        for column, column_type in profile.columns.items():
            declare(column, column_type, f"features.profiles.{name}")
        profiles.append(ProfileNode(name, profile.entity, entity_keys[profile.entity], profile))

    label_rates = []
    default_owner = config.owner
    for name, rate in config.label_rates.items():
        where = f"features.label_rates.{name}"
        if not schema.columns_with_role("label"):
            issues.append(ConfigIssue(source, where, "a schema column with role 'label'", "none"))
        window_us = _window_us(rate.window, where, source, issues)
        declare(name, "float", where)
        label_rates.append(
            LabelRateNode(
                name,
                rate.entity,
                entity_keys[rate.entity],
                window_us,
                rate.prior_weight,
                FieldSpec(name, "float", rate.description, rate.owner or default_owner),
            )
        )

    nodes: dict[str, Node] = {}
    reads: dict[str, tuple[tuple[str, str], ...]] = {}  # node -> ((field, input name), ...)
    produced_by: dict[str, str] = {}
    event_time = schema.columns_with_role("event_time")
    for name, window in config.windows.items():
        where = f"features.windows.{name}"
        time_column = window.time or (event_time[0] if event_time else "")
        try:
            aggregation = WindowAggregation.of(name, window.windows, window.aggregations)
        except InvalidInputError as exc:
            issues.append(
                ConfigIssue(source, f"{where}.windows", "windows like 1h, 24h, 7d", exc.message)
            )
            continue
        kinds = [agg for _ in aggregation.windows for agg in aggregation.aggregations]
        outputs = tuple(
            FieldSpec(
                out,
                "int" if kind == "count" else "float",
                window.description,
                window.owner or default_owner,
            )
            for out, kind in zip(aggregation.output_names(), kinds, strict=True)
        )
        for spec in outputs:
            declare(spec.name, spec.dtype, where)
            produced_by[spec.name] = name
        nodes[name] = WindowNode(
            name,
            window.entity,
            entity_keys[window.entity],
            time_column,
            window.value,
            aggregation,
            outputs,
        )
        reads[name] = (("time", time_column), ("value", window.value))

    for name, definition in config.derived.items():
        transform = make_transform(name, definition, default_owner)
        for spec in transform.outputs:
            declare(spec.name, spec.dtype, f"features.derived.{name}")
            produced_by[spec.name] = name
        nodes[name] = transform
        reads[name] = tuple(zip(definition.inputs, transform.inputs, strict=True))

    # every input exists and has the right type
    for name, pairs in reads.items():
        node = nodes[name]
        section = "windows" if isinstance(node, WindowNode) else "derived"
        expected_types = (
            {"time": frozenset({"timestamp"}), "value": d.NUMBER}
            if isinstance(node, WindowNode)
            else config.derived[name].inputs
        )
        for field_name, input_name in pairs:
            where = f"features.{section}.{name}.{field_name}"
            if input_name not in types:
                issues.append(_missing(source, where, input_name, types))
            elif types[input_name] not in expected_types[field_name]:
                issues.append(
                    ConfigIssue(
                        source,
                        where,
                        f"a {' or '.join(sorted(expected_types[field_name]))} input",
                        f"{input_name!r} of type {types[input_name]!r}",
                    )
                )
    issues.extend(_attribute_issues(config.attributes, schema, origin, source))
    if issues:
        raise ConfigError("the feature definitions do not fit the schema", issues=issues)

    order = _topological(nodes, reads, produced_by, source)
    outputs = (
        tuple(node.output for node in label_rates)
        + tuple(spec for node in order if isinstance(node, WindowNode) for spec in node.outputs)
        + tuple(spec for node in order if isinstance(node, Transform) for spec in node.outputs)
    )
    version = feature_set_version(config, schema)
    return FeatureSet(
        project,
        version,
        schema,
        config,
        tuple(profiles),
        tuple(label_rates),
        order,
        outputs,
        types,
        tuple(config.attributes),
    )


def _attribute_issues(
    attributes: list[str], schema: SchemaConfig, origin: Mapping[str, str], source: str
) -> list[ConfigIssue]:
    """Attributes are raw event or profile columns, named once, and never personal data."""
    issues = []
    raw = {n for n, o in origin.items() if o == "schema" or o.startswith("features.profiles")}
    for index, name in enumerate(attributes):
        where = f"features.attributes[{index}]"
        if name not in raw:
            issues.append(_missing(source, where, name, dict.fromkeys(sorted(raw), "")))
        elif name in schema.columns and schema.columns[name].pii:
            issues.append(
                ConfigIssue(source, where, "a column that is not personal data", f"{name!r} (pii)")
            )
        elif attributes.index(name) != index:
            issues.append(ConfigIssue(source, where, "each column once", f"{name!r} again"))
    return issues


def feature_set_version(config: d.FeaturesConfig, schema: SchemaConfig) -> str:
    """A short hash of the definitions, the schema types they read and the transform code."""
    payload = {
        "code": CODE_VERSION,
        "features": config.model_dump(mode="json", exclude={"store"}),
        "schema": {name: spec.type for name, spec in schema.columns.items()},
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def _window_us(text: str, where: str, source: str, issues: list[ConfigIssue]) -> int:
    try:
        return parse_window(text)[1]
    except InvalidInputError as exc:
        issues.append(ConfigIssue(source, f"{where}.window", "a duration like 90d", exc.message))
        return 0


def _missing(source: str, where: str, name: str, known: Mapping[str, str]) -> ConfigIssue:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigIssue(source, where, f"a column or feature{hint}", repr(name))


def _topological(
    nodes: Mapping[str, Node],
    reads: Mapping[str, tuple[tuple[str, str], ...]],
    produced_by: Mapping[str, str],
    source: str,
) -> tuple[Node, ...]:
    """Nodes after the nodes they read, in declaration order where free; cycles are errors."""
    depends = {
        name: [produced_by[inp] for _, inp in pairs if inp in produced_by]
        for name, pairs in reads.items()
    }
    for name, node in nodes.items():
        if isinstance(node, WindowNode):
            upstream = _ancestors(name, depends)
            nested = [n for n in upstream if isinstance(nodes[n], WindowNode)]
            if nested:
                raise ConfigError(
                    f"window {name!r} aggregates a value computed from window {nested[0]!r}",
                    hint="windows aggregate event values or derived features of the event only",
                )
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise ConfigError(
                "the feature definitions have a cycle: " + " -> ".join(cycle),
                issues=[
                    ConfigIssue(
                        source,
                        f"features.derived.{cycle[0]}",
                        "inputs that do not lead back to the feature",
                        " -> ".join(cycle),
                    )
                ],
                hint="one of these features must read a column instead of another feature",
            )
        state[name] = 1
        for upstream in depends[name]:
            visit(upstream, [*path, name])
        state[name] = 2
        order.append(name)

    for name in nodes:
        visit(name, [])
    return tuple(nodes[name] for name in order)


def _ancestors(name: str, depends: Mapping[str, list[str]]) -> list[str]:
    seen: list[str] = []
    stack = list(depends.get(name, []))
    while stack:
        current = stack.pop()
        if current in seen or current == name:
            continue
        seen.append(current)
        stack.extend(depends.get(current, []))
    return seen
