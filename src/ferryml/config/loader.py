"""Load a project config from its sources, in a fixed and tested order of precedence::

    model defaults  <  YAML file  <  environment (FERRY_…)  <  CLI flags

Environment variables name a key path with ``__`` between levels, e.g.
``FERRY_STORAGE__DATABASE_URL=postgresql://…`` or ``FERRY_DATA__SYNTH__SEED=7``; their values
are read as YAML scalars, so ``7`` is a number and ``[a, b]`` a list. CLI overrides are
``key.path=value`` strings (``--set data.synth.days=30``) or a mapping of dotted keys.

Every value remembers where it came from, so a validation error names the file and line, the
environment variable, or the flag that supplied the bad value — and lists every issue at once.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ferryml.config.keys import field_names, walk
from ferryml.config.project import ProjectConfig
from ferryml.config.yaml_source import KeyPath, Position, parse_yaml_value, read_yaml_mapping
from ferryml.errors import ConfigError, ConfigIssue

ENV_PREFIX = "FERRY_"
ENV_NESTING = "__"
CONFIG_PATH_ENV = "FERRY_CONFIG"
"""Names a config file when ``--config`` is not given. It is not itself a config key."""

EMBEDDED_CONFIG = "fraud.yaml"
"""The reference project shipped inside the package: what runs when no config is named."""

TEMPLATES = ("fraud", "churn")
"""The projects shipped inside the package (``resources/NAME.yaml``, links to ``configs/``):
``ferry init --template NAME`` starts a workspace from one of them."""


@dataclass(frozen=True)
class Origin:
    """Where one value came from."""

    source: str
    position: Position | None = None


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from.

    ``base_dir`` is the directory relative paths in the config are resolved against: the config
    file's directory, or the current directory for the embedded default.
    """

    config: ProjectConfig
    source: str
    base_dir: Path


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | Iterable[str] = (),
    cwd: Path | None = None,
) -> LoadedConfig:
    """Read, merge and validate a project config.

    ``path`` None means ``$FERRY_CONFIG`` if set, else the embedded reference project.
    ``environ`` defaults to ``os.environ``; pass a dict in tests.
    """
    env = dict(os.environ if environ is None else environ)
    cwd = Path.cwd() if cwd is None else cwd
    if path is None and env.get(CONFIG_PATH_ENV):
        path = Path(env[CONFIG_PATH_ENV])

    merged: dict[str, Any] = {}
    origins: dict[KeyPath, Origin] = {}
    if path is None:
        source = f"<embedded {EMBEDDED_CONFIG}>"
        base_dir = cwd
        data, positions = _read_embedded()
    else:
        path = path if path.is_absolute() else cwd / path
        source = str(path)
        base_dir = path.parent
        data, positions = read_yaml_mapping(path)
    _merge(merged, origins, data, (), lambda kp: Origin(source, positions.get(kp)))

    for name, key_path, value in _environment_entries(env):
        _merge_one(merged, origins, key_path, value, Origin(f"environment variable {name}"))

    for key_path, value, flag in _override_entries(overrides):
        _merge_one(merged, origins, key_path, value, Origin(flag))

    try:
        config = ProjectConfig.model_validate(merged)
    except ValidationError as exc:
        issues = [_issue_from(error, origins, source) for error in exc.errors()]
        raise ConfigError(
            f"config does not validate ({len(issues)} issue{'s' if len(issues) != 1 else ''})",
            issues=issues,
            hint="fix the keys listed above; `ferry config show` prints the merged config",
        ) from exc
    _check_features(config, origins, source)
    return LoadedConfig(config=config, source=source, base_dir=base_dir)


def _check_features(
    config: ProjectConfig, origins: Mapping[KeyPath, Origin], default_source: str
) -> None:
    """Feature definitions against the schema (missing columns, wrong types, cycles), each
    problem located in the file, variable or flag that set it."""
    if config.features.is_empty:
        return
    from ferryml.features.graph import compile_features

    try:
        compile_features(config.project.name, config.features, config.schema_)
    except ConfigError as exc:
        issues = [_relocated(issue, origins, default_source) for issue in exc.issues]
        raise ConfigError(exc.message.split("\n")[0], issues=issues, hint=exc.hint) from exc


def _relocated(
    issue: ConfigIssue, origins: Mapping[KeyPath, Origin], default_source: str
) -> ConfigIssue:
    loc: KeyPath = tuple(issue.key_path.split("."))
    origin = Origin(default_source)
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in origins:
            origin = origins[loc[:cut]]
            break
    position = origin.position
    return dataclasses.replace(
        issue,
        source=origin.source,
        line=position.line if position else None,
        column=position.column if position else None,
    )


def embedded_config_text(template: str = "fraud") -> str:
    """The text of a project config shipped inside the package (the fraud reference project
    by default; see :data:`TEMPLATES`)."""
    if template not in TEMPLATES:
        raise ConfigError(
            f"no project template {template!r}",
            hint=f"choose one of {', '.join(TEMPLATES)}",
        )
    return resources.files("ferryml.resources").joinpath(f"{template}.yaml").read_text("utf-8")


def _read_embedded() -> tuple[dict[str, Any], dict[KeyPath, Position]]:
    with resources.as_file(resources.files("ferryml.resources").joinpath(EMBEDDED_CONFIG)) as p:
        return read_yaml_mapping(p)


def _environment_entries(env: Mapping[str, str]) -> list[tuple[str, KeyPath, Any]]:
    entries: list[tuple[str, KeyPath, Any]] = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or ENV_NESTING not in name:
            continue  # FERRY_CONFIG, FERRY_ACTOR … are switches (ferryml.config.environment)
        parts = name[len(ENV_PREFIX) :].lower().split(ENV_NESTING)
        if any(not part for part in parts):
            raise ConfigError(
                f"environment variable {name} has an empty key part",
                hint="separate levels with exactly two underscores: FERRY_SECTION__KEY",
            )
        entries.append((name, tuple(parts), _parse_scalar(env[name], name)))
    return entries


def _override_entries(
    overrides: Mapping[str, Any] | Iterable[str],
) -> list[tuple[KeyPath, Any, str]]:
    if isinstance(overrides, Mapping):
        return [(tuple(k.split(".")), v, f"override {k}") for k, v in overrides.items()]
    entries: list[tuple[KeyPath, Any, str]] = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or any(not p for p in key.strip().split(".")):
            raise ConfigError(
                f"--set expects KEY.PATH=VALUE, got {item!r}",
                hint="for example: --set data.synth.days=30",
            )
        key = key.strip()
        entries.append((tuple(key.split(".")), _parse_scalar(raw, f"--set {key}"), f"--set {key}"))
    return entries


def _parse_scalar(raw: str, where: str) -> Any:
    """An environment or ``--set`` value: a string, except ``[…]``/``{…}`` (YAML) and ``null``.

    Strings are passed to pydantic as they are, which converts ``"7"`` to an int where the
    field is an int; reading every value as YAML would turn ``010`` into 8, ``yes`` into True
    and cut ``a # b`` at the ``#``.
    """
    text = raw.strip()
    if text == "null":
        return None
    if not text.startswith(("[", "{")):
        return raw
    try:
        return parse_yaml_value(text)
    except yaml.YAMLError as exc:
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        raise ConfigError(
            f"{where}: value {shown!r} is not a valid YAML list or mapping ({exc})",
            hint="write lists as [a, b] and mappings as {key: value}",
        ) from exc


def _merge(
    target: dict[str, Any],
    origins: dict[KeyPath, Origin],
    data: Mapping[str, Any],
    prefix: KeyPath,
    origin_of: Any,
) -> None:
    for key, value in data.items():
        key_path = (*prefix, key)
        if isinstance(value, Mapping):
            child = target.get(key)
            if not isinstance(child, dict):
                child = target[key] = {}
            origins[key_path] = origin_of(key_path)
            _merge(child, origins, value, key_path, origin_of)
        else:
            target[key] = value
            origins[key_path] = origin_of(key_path)
            _record_sequence(origins, key_path, value, origin_of)


def _record_sequence(
    origins: dict[KeyPath, Origin], key_path: KeyPath, value: Any, origin_of: Any
) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            origins[(*key_path, index)] = origin_of((*key_path, index))
            if isinstance(item, Mapping):
                _merge({}, origins, item, (*key_path, index), origin_of)


def _merge_one(
    target: dict[str, Any],
    origins: dict[KeyPath, Origin],
    key_path: KeyPath,
    value: Any,
    origin: Origin,
) -> None:
    node = target
    for depth, key in enumerate(key_path[:-1]):
        child = node.get(str(key))
        if child is None:
            child = node[str(key)] = {}
            origins[key_path[: depth + 1]] = origin
        elif not isinstance(child, dict):
            parent = ".".join(str(k) for k in key_path[: depth + 1])
            raise ConfigError(
                f"{origin.source}: cannot set a key inside {parent}, which is a "
                f"{type(child).__name__}, not a section",
                hint=f"set {parent} as a whole, e.g. --set '{parent}=[a, b]' for a list",
            )
        node = child
    last = str(key_path[-1])
    if isinstance(value, Mapping):
        existing = node.get(last)
        child = existing if isinstance(existing, dict) else {}
        node[last] = child
        origins[key_path] = origin
        _merge(child, origins, value, key_path, lambda _kp: origin)
    else:
        node[last] = value
        origins[key_path] = origin
        _record_sequence(origins, key_path, value, lambda _kp: origin)


def _issue_from(
    error: Mapping[str, Any], origins: Mapping[KeyPath, Origin], default_source: str
) -> ConfigIssue:
    raw: KeyPath = tuple(error["loc"])
    loc, _ = walk(ProjectConfig, raw)
    origin = None
    for cut in range(len(loc), -1, -1):
        origin = origins.get(loc[:cut])
        if origin is not None:
            break
    origin = origin or Origin(default_source)
    if error["type"] == "value_error" and isinstance(error.get("input"), Mapping):
        # A rule across the keys of a section: blame an override inside it, if one took part.
        overrides = [
            o for kp, o in origins.items() if kp[: len(loc)] == loc and o.source != default_source
        ]
        if overrides:
            origin = max(overrides, key=lambda o: o.source.startswith(("--", "override")))
    key_path = ".".join(str(part) for part in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        expected = _known_keys_message(raw)
        found = f"unknown key {str(loc[-1])!r}"
    elif kind == "missing":
        expected = "this key to be set"
        found = "nothing"
    elif kind == "value_error" and isinstance(error.get("input"), Mapping):
        # A rule across several keys of one section: the message names them and what to do.
        expected = "consistent values"
        found = str(error["msg"]).removeprefix("Value error, ")
    else:
        expected = _lower_first(str(error["msg"]).removeprefix("Value error, "))
        found = _describe(error.get("input"))
    position = origin.position
    return ConfigIssue(
        source=origin.source,
        key_path=key_path,
        expected=expected,
        found=found,
        line=position.line if position else None,
        column=position.column if position else None,
    )


def _known_keys_message(loc: KeyPath) -> str:
    """The keys accepted beside the unknown one (``loc`` as pydantic gives it, tags included)."""
    known = field_names(walk(ProjectConfig, loc[:-1])[1])
    if not known:
        return "no keys here yet (this section fills in as its stage lands)"
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"one of {', '.join(sorted(known))}{hint}"


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
