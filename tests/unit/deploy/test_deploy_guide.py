"""docs/deploy.md's commands: every ferry command line it shows for the compose stack parses,
and every deploy/ path it names exists."""

from __future__ import annotations

import re
import shlex

from deploy_checks import REPO, assert_ferry_command

GUIDE = REPO / "docs" / "deploy.md"


def test_the_ferry_commands_of_the_guide_exist() -> None:
    lines = re.findall(r"^ferry-job (.+?)(?:\s+#.*)?$", GUIDE.read_text(), re.M)
    lines += re.findall(r"run --rm (?:-e \S+ )?train (.+?)(?:\s+#.*)?$", GUIDE.read_text(), re.M)
    assert len(lines) >= 6
    for line in lines:
        assert_ferry_command(shlex.split(line), f"docs/deploy.md: {line}")


def test_the_paths_the_guide_names_exist() -> None:
    paths = set(re.findall(r"`((?:deploy|configs|\.github)/[\w./{},-]*?)`", GUIDE.read_text()))
    assert len(paths) >= 10
    for path in paths:
        for expanded in _braces(path):
            assert (REPO / expanded).exists(), f"docs/deploy.md names {expanded}: no such path"


def _braces(path: str) -> list[str]:
    match = re.search(r"\{([^}]*)\}", path)
    if match is None:
        return [path]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _braces(path[: match.start()] + choice + path[match.end() :])
    ]
