"""Read a YAML file and remember where every key sits (line and column).

PyYAML gives positions only on its node tree, so the file is composed once, walked for
positions, then constructed. Duplicate keys, which PyYAML would silently collapse to the last
one, are reported as errors: a config where the same key appears twice is ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ferryml.errors import ConfigError, ConfigIssue

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a file."""

    line: int
    column: int


def read_yaml_mapping(path: Path) -> tuple[dict[str, Any], dict[KeyPath, Position]]:
    """Load ``path`` as a YAML mapping and return it with the position of every key.

    An empty file is an empty mapping. Errors name the file, the line and what is wrong::

        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
        >>> _ = f.write_text("project:\\n  name: demo\\n")
        >>> data, where = read_yaml_mapping(f)
        >>> data, where[("project", "name")].line
        ({'project': {'name': 'demo'}}, 2)
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"config file not found: {source}",
            hint="check the path, or create a starter config with `ferry init DIR`",
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            f"config path is a directory, not a file: {source}",
            hint="point --config at a YAML file such as configs/ferry.yaml",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {source}: {exc}") from exc

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        # Positions first: constructing flattens merge keys (<<) into the node tree in place.
        positions: dict[KeyPath, Position] = {}
        duplicates: list[ConfigIssue] = []
        _walk(node, (), positions, duplicates, source)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        issue = ConfigIssue(
            source=source,
            key_path="",
            expected="well-formed YAML",
            found=str(exc.problem or exc.context or "a syntax error"),
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
        raise ConfigError(
            "config file is not valid YAML",
            issues=[issue],
            hint="check indentation (spaces, not tabs) and quoting near the line shown",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {exc}") from exc
    finally:
        loader.dispose()

    if not isinstance(data, dict):
        raise ConfigError(
            "a config file must be a mapping of sections",
            issues=[
                ConfigIssue(
                    source=source,
                    key_path="",
                    expected="a mapping such as `project: {name: demo}`",
                    found=type(data).__name__,
                    line=node.start_mark.line + 1,
                    column=node.start_mark.column + 1,
                )
            ],
        )
    if duplicates:
        raise ConfigError(
            "config file repeats a key", issues=duplicates, hint="keep one of each key"
        )
    return data, positions


def _walk(
    node: yaml.Node,
    path: KeyPath,
    positions: dict[KeyPath, Position],
    duplicates: list[ConfigIssue],
    source: str,
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults`: its keys may be overridden, they are not duplicates
            key = key_node.value
            child = (*path, key)
            if key in seen:
                duplicates.append(
                    ConfigIssue(
                        source=source,
                        key_path=".".join(str(p) for p in child),
                        expected="each key once",
                        found="a second occurrence",
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                    )
                )
            seen.add(key)
            positions[child] = Position(
                key_node.start_mark.line + 1, key_node.start_mark.column + 1
            )
            _walk(value_node, child, positions, duplicates, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            positions[child] = Position(item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, positions, duplicates, source)
