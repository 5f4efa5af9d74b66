"""Hostile input to the config loader ends in a valid config or a located ConfigError, never
in another exception: random bytes and YAML documents, the reference config with a value
replaced, removed or misspelt, truncated, re-encoded; deep nesting, huge numbers, NaN, unicode
and control characters; environment variables and --set flags of any shape.

"Located" means the message names where the bad value came from: the file, the environment
variable or the flag. The ``@example`` inputs are the crashes this file found: each escaped as
a bare ``ValueError`` (an impossible date, a 5,000-digit integer), ``RecursionError`` (deep
brackets, an alias inside its own anchor), ``TypeError`` (a list as a key) or
``yaml.reader.ReaderError`` (a NUL), or ran for hours (nested aliases, "billion laughs").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ferryml.config import load_config
from ferryml.config.loader import embedded_config_text
from ferryml.errors import ConfigError

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REFERENCE_TEXT = embedded_config_text()
REFERENCE: dict[str, Any] = yaml.safe_load(REFERENCE_TEXT)
MINIMAL = "project: {name: demo}\n"
LAUGHS = "".join(
    f"x{i}: &x{i} [{', '.join([f'*x{i - 1}' if i else '1'] * 10)}]\n" for i in range(9)
)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key path of the reference config: sections, keys and list items."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from _paths(child, (*prefix, index))


REFERENCE_PATHS = sorted(_paths(REFERENCE), key=repr)
KEY_NAMES = sorted({str(p[-1]) for p in REFERENCE_PATHS if isinstance(p[-1], str)})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "~", "null", "yes", "0x1F", "1e400", "-.inf", "日本語", "\u202e"]),
    st.dates(),
    st.datetimes(),
    st.binary(max_size=16),
)
yaml_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(KEY_NAMES) | st.integers() | st.none(),
            children,
            max_size=4,
        )
    ),
    max_leaves=16,
)
key_parts = st.sampled_from(KEY_NAMES) | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.é", max_size=10
)


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


def _flow(value: Any) -> str:
    """``value`` as an environment variable or ``--set`` value would carry it: one line."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...")


def _outcome(call: Callable[[], object], places: list[str]) -> None:
    """``call`` succeeds or raises a ConfigError naming one of ``places``, as does the source
    of each of its issues."""
    try:
        call()
    except ConfigError as exc:
        text = str(exc)
        assert exc.message.strip(), text
        assert any(place in text for place in places), (places, text)
        for issue in exc.issues:
            assert any(place in issue.source for place in places), (places, issue)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config-fuzz")


def _write(workdir: Path, content: str | bytes) -> Path:
    path = workdir / "ferry.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    return path


# --- the file ------------------------------------------------------------------------------


@FUZZ
@given(content=st.binary(max_size=300) | st.text(max_size=300))
@example(content="project:\n  name: demo\ndata: {synth: {seed: " + "9" * 5000 + "}}\n")
@example(content=MINIMAL + "data: {synth: {start: 2025-02-30}}\n")
@example(content=MINIMAL + "data: {synth: {start: 2025-01-01 25:00:00}}\n")
@example(content=MINIMAL + "x: " + "[" * 1000 + "]" * 1000 + "\n")
@example(content=MINIMAL + "x: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n")
@example(content=MINIMAL + "x: &a [*a]\n")
@example(content="project: &p {name: demo, owners: {a: *p}}\n")
@example(content=MINIMAL + LAUGHS)
@example(content=MINIMAL + "? [a, b]\n: 1\n")
@example(content=MINIMAL + "? {a: 1}\n: 1\n")
@example(content="project:\n  name: de\x00mo\n")
@example(content="")
@example(content=b"\xef\xbb\xbfproject: {name: demo}\n")  # a byte-order mark
@example(content="project: {name: demo}\n".encode("utf-16"))
@example(content="project: {name: d\xe9mo}\n".encode("latin-1"))
@example(content=MINIMAL + "a: &a [1, 1, 1, 1]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n")
@example(content=MINIMAL + "data: !!python/object/apply:os.system [echo]\n")
@example(content=MINIMAL + "---\nproject: {name: other}\n")
def test_any_file_content(workdir: Path, content: str | bytes) -> None:
    path = _write(workdir, content)
    _outcome(lambda: load_config(path, environ={}), [str(path)])


@FUZZ
@given(document=yaml_values | st.dictionaries(st.sampled_from(KEY_NAMES), yaml_values))
def test_any_yaml_document(workdir: Path, document: Any) -> None:
    path = _write(workdir, _dump(document))
    _outcome(lambda: load_config(path, environ={}), [str(path)])


@FUZZ
@given(
    path=st.sampled_from(REFERENCE_PATHS),
    action=st.sampled_from(["replace", "remove", "misspell", "add"]),
    value=yaml_values,
)
@example(path=("data", "synth", "days"), action="replace", value=math.nan)
@example(path=("data", "ingest", "chunk_rows"), action="replace", value=10**400)
@example(path=("project", "name"), action="replace", value="Ünïcode ☃")
@example(path=("schema", "columns"), action="replace", value={1: {"type": "int"}})
@example(path=("data", "synth", "start"), action="replace", value=datetime(1, 1, 1))
@example(path=("features",), action="replace", value=[date(2025, 1, 1)])
@example(
    path=("data", "sources"),
    action="replace",
    value={"t": {"format": "csv", "path": "x", "delimiter": "\n", "encoding": "rot13"}},
)
def test_the_reference_config_with_one_value_broken(
    workdir: Path, path: tuple[str | int, ...], action: str, value: Any
) -> None:
    document = yaml.safe_load(REFERENCE_TEXT)
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "remove":
        del parent[last]
    elif isinstance(parent, dict) and action == "misspell":
        parent[f"{last}x"] = parent.pop(last)
    elif isinstance(parent, dict):
        parent[f"unknown_{last}"] = value
    else:
        parent.append(value)
    config = _write(workdir, _dump(document))
    _outcome(lambda: load_config(config, environ={}), [str(config)])


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(REFERENCE_TEXT.encode())))
@example(cut=len("project:\n  name: fr"))
def test_the_reference_config_truncated(workdir: Path, cut: int) -> None:
    path = _write(workdir, REFERENCE_TEXT.encode()[:cut])
    _outcome(lambda: load_config(path, environ={}), [str(path)])


# --- environment and flags -----------------------------------------------------------------


env_values = st.text(max_size=40) | yaml_values.map(_flow)


@FUZZ
@given(
    variables=st.dictionaries(
        st.lists(key_parts, min_size=1, max_size=4).map(
            lambda parts: "FERRY_" + "__".join(parts).upper()
        ),
        env_values,
        max_size=3,
    )
)
@example(variables={"FERRY_DATA__SYNTH__DAYS": "[" * 1000})
@example(variables={"FERRY_DATA__SYNTH__DAYS": "[" * 1000 + "]" * 1000})
@example(variables={"FERRY_PROJECT__OWNERS": "{" + ", ".join(LAUGHS.splitlines()) + "}"})
@example(variables={"FERRY_DATA__SYNTH__START": "[2025-02-30]"})
@example(variables={"FERRY_DATA__SYNTH__SEED": "[" + "9" * 5000 + "]"})
@example(variables={"FERRY_PROJECT__NAME__X": "1", "FERRY___": ""})
@example(variables={"FERRY_CONFIG": "/dev/null/x.yaml"})
@example(variables={"FERRY_CONFIG": "."})
def test_any_environment(variables: dict[str, str]) -> None:
    places = ["<embedded fraud.yaml>", *variables]
    if variables.get("FERRY_CONFIG"):  # names the file; not a config key
        places.append(str(Path.cwd() / variables["FERRY_CONFIG"]))
    _outcome(lambda: load_config(environ=variables), places)


@FUZZ
@given(
    flags=st.lists(
        st.tuples(st.lists(key_parts, min_size=1, max_size=4).map(".".join), env_values).map(
            "=".join
        )
        | st.text(max_size=30),
        max_size=3,
    )
)
@example(flags=["data.synth.days=" + "{a: " * 1000])
@example(flags=["project.owners=[&a [*a]]"])
@example(flags=["data.synth.start=[2025-13-01]"])
@example(flags=["project.owners=[a]", "project.owners.x=1"])
@example(flags=["=1", "a..b=2", "noequals"])
def test_any_set_flags(workdir: Path, flags: list[str]) -> None:
    path = _write(workdir, REFERENCE_TEXT)
    places = [str(path), *(f"--set {f.partition('=')[0].strip()}" for f in flags)]
    places += [repr(flag) for flag in flags]  # a flag without KEY=VALUE is quoted whole
    _outcome(lambda: load_config(path, environ={}, overrides=flags), places)
