"""Key paths of pydantic errors, as the YAML spells them.

Inside a tagged union pydantic puts the tag into an error's location
(``data.synth.churn.days`` for the key ``data.synth.days`` of a ``kind: churn`` section;
``training.models.lightgbm.lightgbm.x`` for ``training.models.lightgbm.x``). :func:`walk`
drops those tags and says which model the path ends in, so an error names the key of the
file and lists the keys that model accepts.

    >>> from ferryml.config.project import ProjectConfig
    >>> path, model = walk(ProjectConfig, ("data", "synth", "churn", "horizon_days"))
    >>> ".".join(path)
    'data.synth.horizon_days'
    >>> "horizon_days" in field_names(walk(ProjectConfig, ("data", "synth", "churn"))[1])
    True
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Tag
from pydantic.fields import FieldInfo

from ferryml.config.yaml_source import KeyPath


def walk(model: type[BaseModel], loc: KeyPath) -> tuple[KeyPath, Any]:
    """``loc`` without union tags, and the annotation it reaches (None once it leaves the
    models: a mapping key or list index steps into the item type of ``dict``/``list``)."""
    current: Any = model
    clean: list[str | int] = []
    for part in loc:
        current = _plain(current)
        member = _tagged_members(current).get(str(part))
        if member is not None:  # a tag pydantic added: not a key of the file
            current = member
            continue
        clean.append(part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = fields_by_key(current).get(str(part))
            current = None if field is None else field.annotation
        elif typing.get_origin(current) in (list, tuple, dict, Mapping, Sequence):
            current = typing.get_args(current)[-1]
        else:
            current = None
    return tuple(clean), _plain(current)


def field_names(annotation: Any) -> list[str]:
    """The keys a model accepts (none for anything else)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(fields_by_key(annotation))
    return []


def fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the key YAML uses for them (the alias where there is one)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _plain(annotation: Any) -> Any:
    """``Annotated[X, …]`` → ``X``; ``X | None`` → ``X``; others unchanged."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if _is_union(annotation):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _plain(args[0])
    return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _tagged_members(annotation: Any) -> dict[str, type[BaseModel]]:
    """The models of a union by tag: a ``Tag`` on the member, else its ``kind`` literal."""
    if not _is_union(annotation):
        return {}
    members: dict[str, type[BaseModel]] = {}
    for arg in typing.get_args(annotation):
        tags = [m.tag for m in getattr(arg, "__metadata__", ()) if isinstance(m, Tag)]
        model = _plain(arg)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        kind = model.model_fields.get("kind")
        if not tags and kind is not None and typing.get_origin(kind.annotation) is typing.Literal:
            tags = [str(value) for value in typing.get_args(kind.annotation)]
        members.update(dict.fromkeys(tags, model))
    return members
