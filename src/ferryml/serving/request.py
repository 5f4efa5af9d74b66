"""Scoring requests: the fields a transaction must carry, parsed and checked once.

The fields come from the schema: the id column and every column the features read (entity
keys, event time, raw inputs); never labels. Non-nullable fields are required, nullable ones
default to null, the event time defaults to the server's clock. Every problem of a request is
reported at once, each with its field, in the shape FastAPI uses for 422 answers::

    >>> from ferryml.config.schema import SchemaConfig
    >>> schema = SchemaConfig.model_validate({"columns": {
    ...     "id": {"type": "string", "role": "id"},
    ...     "at": {"type": "timestamp", "role": "event_time"},
    ...     "account": {"type": "string", "role": "entity"},
    ...     "amount": {"type": "float"}}})
    >>> fields = RequestFields.of(schema, ["at", "account", "amount"])
    >>> fields.parse({"id": "t1", "account": "a", "amount": 12})["amount"]
    12.0
    >>> try:
    ...     fields.parse({"id": "t1", "amount": "x", "colour": "red"})
    ... except RequestError as error:
    ...     [(d["loc"][-1], d["type"]) for d in error.details]
    [('account', 'missing'), ('amount', 'float_type'), ('colour', 'extra_forbidden')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ferryml.config.schema import ColumnType, SchemaConfig

MAX_STRING = 256
"""Longest text value accepted (ids, categories): anything longer is an input error."""

FIRST_YEAR, LAST_YEAR = 1700, 2199
"""Times the window state can hold (microseconds exact as doubles: about 1685-2255)."""
YEARS_PATTERN = "^(1[7-9]|2[01])[0-9]{2}-"
"""The same bound in the OpenAPI document (JSON Schema has no date ranges)."""


class RequestError(Exception):
    """A request that cannot be scored: a 422 with one detail per problem."""

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(details)} invalid field(s)")
        self.details = details


@dataclass(frozen=True)
class Field:
    name: str
    type: ColumnType
    required: bool
    nullable: bool
    description: str


@dataclass(frozen=True)
class RequestFields:
    """The fields of one scoring request, in schema order."""

    fields: tuple[Field, ...]
    id_field: str
    time_field: str

    @classmethod
    def of(cls, schema: SchemaConfig, inputs: Sequence[str]) -> RequestFields:
        """The request of a project whose features read ``inputs`` (schema columns)."""
        id_field = schema.columns_with_role("id")[0]
        time_field = schema.columns_with_role("event_time")[0]
        wanted = {id_field, *inputs} - {
            *schema.columns_with_role("label"),
            *schema.columns_with_role("label_time"),
        }
        fields = tuple(
            Field(
                name,
                spec.type,
                required=not spec.nullable and name != time_field,
                nullable=spec.nullable,
                description=spec.description,
            )
            for name, spec in schema.columns.items()
            if name in wanted
        )
        return cls(fields, id_field, time_field)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def parse(self, body: Any, where: Sequence[str | int] = ("body",)) -> dict[str, Any]:
        """The checked fields of ``body`` (a JSON object), or :class:`RequestError`."""
        if not isinstance(body, Mapping):
            raise RequestError(
                [_detail(where, "model_attributes_type", "a JSON object is expected", body)]
            )
        details = []
        out: dict[str, Any] = {}
        for field in self.fields:
            loc = (*where, field.name)
            if field.name not in body or body[field.name] is None:
                if field.required:
                    problem = "missing" if field.name not in body else "null"
                    message = "field required" if problem == "missing" else "may not be null"
                    details.append(_detail(loc, problem, message, body.get(field.name)))
                out[field.name] = None
                continue
            value, error = _coerce(body[field.name], field.type)
            if error:
                details.append(_detail(loc, f"{field.type}_type", error, body[field.name]))
            out[field.name] = value
        known = set(self.names)
        details.extend(
            _detail((*where, str(name)), "extra_forbidden", "unexpected field", None)
            for name in body
            if name not in known
        )
        if details:
            raise RequestError(details)
        return out

    def json_schema(self) -> dict[str, Any]:
        """The request body's JSON schema (for the OpenAPI document)."""
        kinds: dict[str, dict[str, Any]] = {
            "string": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_STRING,
                "pattern": "^[^\\u0000]*$",
            },
            "float": {"type": "number"},
            "int": {"type": "integer"},
            "bool": {"type": "boolean"},
            "timestamp": {"type": "string", "format": "date-time", "pattern": YEARS_PATTERN},
            "date": {"type": "string", "format": "date", "pattern": YEARS_PATTERN},
        }
        properties = {}
        for field in self.fields:
            kind: dict[str, Any] = dict(kinds[field.type])
            if field.nullable:
                kind = {"anyOf": [kind, {"type": "null"}]}
            if field.description:
                kind["description"] = field.description
            if field.name == self.time_field:
                kind["description"] = (field.description + " Default: now.").strip()
            properties[field.name] = kind
        return {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }


def _coerce(value: Any, kind: ColumnType) -> tuple[Any, str]:
    """``value`` as its schema type, or an error message."""
    if kind == "string":
        if not isinstance(value, str):
            return None, "a string is expected"
        if len(value) > MAX_STRING:
            return None, f"at most {MAX_STRING} characters"
        if not value or "\x00" in value:  # ids and keys name things: never empty, never NUL
            return None, "a non-empty string without NUL characters (null for no value)"
        return value, ""
    if kind in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "a number is expected"
        if not math.isfinite(value):
            return None, "a finite number is expected"
        if kind == "int" and not float(value).is_integer():
            return None, "an integer is expected"
        return (int(value) if kind == "int" else float(value)), ""
    if kind == "bool":
        if not isinstance(value, bool):
            return None, "true or false is expected"
        return value, ""
    if not isinstance(value, str):
        return None, "an ISO 8601 date or date-time string is expected"
    try:
        parsed = datetime.fromisoformat(value) if kind == "timestamp" else date.fromisoformat(value)
    except ValueError:
        return None, "an ISO 8601 " + ("date-time" if kind == "timestamp" else "date")
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        return None, "a time zone is required (e.g. 2025-12-01T10:00:00Z)"
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        return None, f"a year from {FIRST_YEAR} to {LAST_YEAR} is expected"
    return parsed, ""


def _detail(loc: Sequence[str | int], kind: str, message: str, value: Any) -> dict[str, Any]:
    shown = value if isinstance(value, str | int | float | bool) or value is None else "…"
    if isinstance(shown, str) and len(shown) > 64:
        shown = shown[:64] + "…"
    if isinstance(shown, float) and not math.isfinite(shown):
        shown = str(shown)
    return {"loc": list(loc), "type": kind, "msg": message, "input": shown}


__all__ = ["FIRST_YEAR", "LAST_YEAR", "MAX_STRING", "RequestError", "RequestFields"]
