"""What DFS explores (:class:`DfsOptions`), and the checks of what it reads: options,
featuretools primitives, relationships between entities, schema roles and table columns."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ferryml.config.schema import SchemaConfig
from ferryml.errors import InvalidInputError
from ferryml.features.definitions import FeaturesConfig
from ferryml.features.windows import parse_window


@dataclass(frozen=True)
class DfsOptions:
    """What DFS explores. ``relationships`` are ``(parent entity, child)`` pairs, the child an
    entity or the event table (``schema.table``); None: every entity a parent of the events.
    ``values``: the numeric columns aggregated (None: every numeric ``feature`` column)."""

    relationships: tuple[tuple[str, str], ...] | None = None
    values: tuple[str, ...] | None = None
    windows: tuple[str, ...] = ("1h", "24h", "7d")
    trans_primitives: tuple[str, ...] = ("hour", "weekday", "is_weekend")
    agg_primitives: tuple[str, ...] = ("count", "sum", "mean", "max")
    max_depth: int = 3

    def __post_init__(self) -> None:
        check_int("max_depth", self.max_depth, 1)
        if not self.windows:
            raise InvalidInputError("DFS needs at least one window", hint="e.g. windows=('24h',)")
        for window in self.windows:
            parse_window(window)


def check_int(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInputError(f"{name} must be an int >= {minimum}. Got {value!r}.")


def check_primitives(ft: Any, options: DfsOptions) -> None:
    """Every primitive of ``options`` is one of featuretools' (``ft``, the module)."""
    problems = []
    for kind, names, registry in (
        ("transform", options.trans_primitives, ft.primitives.get_transform_primitives()),
        ("aggregation", options.agg_primitives, ft.primitives.get_aggregation_primitives()),
    ):
        for name in names:
            if name not in registry:
                problems.append(f"unknown {kind} primitive {name!r}{_close(name, registry)}")
    if problems:
        raise InvalidInputError("; ".join(problems), hint="see featuretools.list_primitives()")


def check_relationships(rels: list[tuple[str, str]], features: FeaturesConfig, table: str) -> None:
    entities = list(features.entities)
    problems = [f"entity {table!r} has the event table's name"] if table in entities else []
    for parent, child in rels:
        if parent not in entities:
            problems.append(
                f"({parent}, {child}): unknown entity {parent!r}{_close(parent, entities)}"
            )
        if child not in [*entities, table]:
            problems.append(
                f"({parent}, {child}): unknown child {child!r}{_close(child, [*entities, table])}"
            )
    if problems:
        raise InvalidInputError(
            "invalid relationships: " + "; ".join(problems),
            hint=f"parents are entities ({', '.join(entities)}); children are entities or "
            f"the event table {table!r}",
        )


def numeric_columns(schema: SchemaConfig) -> list[str]:
    return [
        n for n, c in schema.columns.items() if c.role == "feature" and c.type in ("float", "int")
    ]


def label_column(schema: SchemaConfig) -> str:
    if not schema.columns_with_role("label"):
        raise InvalidInputError(
            "discovering features needs a label: no schema column has role 'label'",
            hint="give the label column role: label in the schema section",
        )
    return schema.columns_with_role("label")[0]


def event_id_column(schema: SchemaConfig) -> str:
    if not schema.columns_with_role("id"):
        raise InvalidInputError(
            "DFS needs event ids: no schema column has role 'id'",
            hint="give the events' unique id column role: id",
        )
    return schema.columns_with_role("id")[0]


def require_columns(table: pa.Table, names: Sequence[str], what: str = "the event table") -> None:
    missing = [n for n in dict.fromkeys(names) if n not in table.column_names]
    if missing:
        raise InvalidInputError(
            f"{what} has no column {', '.join(map(repr, missing))}",
            hint=f"its columns are {', '.join(table.column_names)}",
        )


def _close(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
