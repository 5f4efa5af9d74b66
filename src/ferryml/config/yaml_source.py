"""Read a YAML file and remember where every key sits (line and column).

PyYAML gives positions only on its node tree, so the file is composed once, walked for
positions, then constructed. Duplicate keys, which PyYAML would silently collapse to the last
one, are reported as errors: a config where the same key appears twice is ambiguous.

Whatever the text, the only error that leaves is a located :class:`ConfigError`. PyYAML alone
lets a ``ValueError`` escape for ``2025-02-30`` or a 5,000-digit integer, recurses until a
``RecursionError`` on brackets nested some hundreds deep or an alias inside its own anchor
(``&a [*a]``), and expands a few lines of nested aliases into billions of values; the loader
below refuses each with a line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.reader import ReaderError

from ferryml.errors import ConfigError, ConfigIssue

KeyPath = tuple[str | int, ...]

MAX_NESTING = 100
"""Levels a document may nest, aliases followed; a project config needs under ten."""
MAX_VALUES = 100_000
"""Values a document may hold once its aliases are expanded; the reference config has ~1,000."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing with a located YAML error what would otherwise escape as
    another exception, recurse without bound or expand without bound."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # Composing recurses once per level: stop long before Python's recursion limit.
        self._depth += 1
        try:
            if self._depth > MAX_NESTING and parent is not None:
                raise ComposerError(
                    None, None, f"nested more than {MAX_NESTING} levels deep", parent.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML's int and timestamp constructors raise a bare ValueError, without a line.
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:
            kind = str(node.tag).rpartition(":")[2] or str(node.tag)
            value = node.value if isinstance(node, yaml.ScalarNode) else ""
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise ConstructorError(
                None, None, f"{shown!r} is not a valid {kind}: {exc}", node.start_mark
            ) from exc


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node tree whose aliases nest deeper than :data:`MAX_NESTING` (an alias inside
    its own anchor nests forever) or expand to more than :data:`MAX_VALUES` values.

    Iterative, so the check itself cannot recurse; what it accepts, every later walk (key
    positions, merging, validation, error messages) can afford.
    """
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    values = 0
    while stack:
        node, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            problem = f"aliases expand the document to more than {MAX_VALUES:,} values"
            raise ComposerError(None, None, problem, node.start_mark)
        if depth > MAX_NESTING:
            problem = (
                f"nested more than {MAX_NESTING} levels deep through aliases "
                "(does an alias sit inside its own anchor?)"
            )
            raise ComposerError(None, None, problem, node.start_mark)
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += [(key, depth + 1), (value, depth + 1)]


def parse_yaml_value(text: str) -> Any:
    """One YAML value (of an environment variable or a ``--set`` flag), read by the same safe
    loader as config files; anything it cannot read raises :class:`yaml.YAMLError`.

        >>> parse_yaml_value("[a, 2]"), parse_yaml_value("{k: 2025-01-31}")
        (['a', 2], {'k': datetime.date(2025, 1, 31)})
    """
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


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
    except (OSError, ValueError) as exc:  # not text in UTF-8; a NUL in the path
        raise ConfigError(f"cannot read config file {source}: {exc}") from exc

    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # rejects control characters (NUL, …) of the whole text at once
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
    except ReaderError as exc:
        line, column = _line_and_column(text, exc.position)
        issue = ConfigIssue(
            source=source,
            key_path="",
            expected="printable text",
            found=f"the control character {chr(exc.character)!r}",
            line=line,
            column=column,
        )
        raise ConfigError(
            "config file is not valid YAML",
            issues=[issue],
            hint="remove the character, or write it as an escape inside double quotes",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {exc}") from exc
    finally:
        if loader is not None:
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
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # `? [a, b]`: constructing refuses the unhashable key, with its line
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


def _line_and_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of the character at ``index`` of ``text``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1
