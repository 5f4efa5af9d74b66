"""MLflow's scoring protocol (``POST /invocations``), so that existing MLflow clients work.

A client of ``mlflow models serve`` sends the model's *input columns* (the features, already
computed) in one of MLflow's JSON shapes or as CSV, and gets ``{"predictions": [...]}``
back. ferryml parses the shapes once into a float matrix in the model's column order (no
DataFrame), refuses missing columns and non-numbers with field-level 422s, and ignores
columns the model does not read (as MLflow's schema enforcement drops them)::

    >>> parse_invocation(b'{"dataframe_split": {"columns": ["b", "a"], "data": [[2, 1]]}}',
    ...                  "application/json", ["a", "b"]).tolist()
    [[1.0, 2.0]]
    >>> parse_invocation(b"a,b\\n1,\\n", "text/csv", ["a", "b"]).tolist()
    [[1.0, nan]]
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ferryml.serving.request import RequestError

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def parse_invocation(
    body: bytes, content_type: str, features: Sequence[str]
) -> npt.NDArray[np.float64]:
    """The rows of an MLflow scoring request as a matrix in ``features`` order."""
    if content_type.split(";")[0].strip().lower() == "text/csv":
        return _csv(body, features)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError([_detail(["body"], "json_invalid", f"invalid JSON: {exc}")]) from exc
    if not isinstance(payload, Mapping):
        raise RequestError([_detail(["body"], "model_attributes_type", "a JSON object")])
    unknown = sorted(set(payload) - {*FORMATS, "params"})
    if unknown:
        raise RequestError(
            [_detail(["body", name], "extra_forbidden", "unexpected field") for name in unknown]
        )
    keys = [key for key in FORMATS if key in payload]
    if len(keys) != 1:
        raise RequestError(
            [_detail(["body"], "value_error", f"exactly one of {', '.join(FORMATS)} is expected")]
        )
    key = keys[0]
    value = payload[key]
    if key == "dataframe_split":
        if not isinstance(value, Mapping) or not isinstance(value.get("data"), list):
            raise RequestError([_detail(["body", key], "value_error", "{columns, data}")])
        columns = value.get("columns") or list(features)
        records = [dict(zip(columns, row, strict=False)) for row in value["data"]]
    elif isinstance(value, Mapping):  # inputs/instances as {column: [values]}
        lengths = {len(v) for v in value.values() if isinstance(v, list)}
        if len(lengths) != 1:
            raise RequestError([_detail(["body", key], "value_error", "columns of one length")])
        size = lengths.pop()
        records = [{c: v[i] for c, v in value.items()} for i in range(size)]
    elif isinstance(value, list):
        records = [
            dict(row) if isinstance(row, Mapping) else dict(zip(features, row, strict=False))
            for row in value
            if isinstance(row, Mapping | list)
        ]
        if len(records) != len(value):
            raise RequestError([_detail(["body", key], "value_error", "rows as objects or lists")])
    else:
        raise RequestError([_detail(["body", key], "value_error", "rows or columns")])
    return _matrix(records, features, key)


def invocation_schema(features: Sequence[str]) -> dict[str, Any]:
    """The JSON bodies this endpoint accepts for a model reading ``features``, as a JSON
    schema: one format key (and MLflow's optional ``params``), every feature a number or null."""
    number: dict[str, Any] = {"type": ["number", "null"]}
    record = {
        "type": "object",
        "properties": dict.fromkeys(features, number),
        "required": list(features),
    }
    row = {"type": "array", "items": number, "minItems": len(features), "maxItems": len(features)}
    split = {
        "type": "object",
        "properties": {
            "columns": {
                "type": "array",
                "items": {"enum": list(features)},
                "minItems": len(features),
                "maxItems": len(features),
                "uniqueItems": True,
            },
            "data": {"type": "array", "items": row, "minItems": 1},
        },
        "required": ["columns", "data"],
    }
    shapes = {
        "dataframe_split": split,
        "dataframe_records": {"type": "array", "items": record, "minItems": 1},
        "instances": {"type": "array", "items": {"anyOf": [record, row]}, "minItems": 1},
        "inputs": {"type": "array", "items": {"anyOf": [record, row]}, "minItems": 1},
    }
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {key: shape, "params": {"type": "object"}},
                "required": [key],
                "additionalProperties": False,
            }
            for key, shape in shapes.items()
        ]
    }


def _csv(body: bytes, features: Sequence[str]) -> npt.NDArray[np.float64]:
    try:
        reader = csv.DictReader(io.StringIO(body.decode()))
        records: list[dict[str, Any]] = [
            {k: (None if v in ("", None) else v) for k, v in row.items()} for row in reader
        ]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RequestError([_detail(["body"], "csv_invalid", f"invalid CSV: {exc}")]) from exc
    return _matrix(records, features, "csv", text=True)


def _matrix(
    records: Sequence[Mapping[str, Any]], features: Sequence[str], key: str, *, text: bool = False
) -> npt.NDArray[np.float64]:
    if not records:
        raise RequestError([_detail(["body", key], "value_error", "at least one row")])
    out = np.empty((len(records), len(features)), dtype=np.float64)
    details = []
    for i, record in enumerate(records):
        for j, name in enumerate(features):
            if name not in record:
                details.append(_detail(["body", key, i, name], "missing", "column required"))
                continue
            value = record[name]
            if value is None:
                out[i, j] = math.nan
                continue
            if text:
                try:
                    value = float(value)
                except ValueError:
                    details.append(_detail(["body", key, i, name], "float_type", "a number"))
                    continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                details.append(_detail(["body", key, i, name], "float_type", "a number"))
                continue
            out[i, j] = float(value)
        if len(details) > 50:
            break
    if details:
        raise RequestError(details[:50])
    return out


def _detail(loc: list[Any], kind: str, message: str) -> dict[str, Any]:
    return {"loc": loc, "type": kind, "msg": message}


__all__ = ["FORMATS", "invocation_schema", "parse_invocation"]
