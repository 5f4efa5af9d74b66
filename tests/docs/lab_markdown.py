"""Read the course labs (``docs/labs/week-*.md``): their shell blocks, commands and promises.

The conventions are the ones ``docs/labs/README.md`` gives readers:

- a fence ```` ```bash run ```` holds commands to run in order; each must exit 0;
- a fence ```` ```bash server ```` holds one command that does not return (``ferry serve``);
- any other ``bash`` fence is shown, never run;
- ``<!-- expect: GLOB -->``: once the lab has run, GLOB (relative to the directory the labs
  run in) matches at least one file;
- ``<!-- expect-output: TEXT -->`` after a block: that block's output contains TEXT
  (whitespace ignored: the CLI wraps long lines to the terminal's width).

A command is a logical line: ``\\`` continues it, a ``<<'EOF'`` here-document runs to its
terminator, blank lines and ``#`` comment lines are skipped.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
LABS = DOCS / "labs"

FENCE = re.compile(r"^```(\w*)\s*(.*?)\s*$")
EXPECT = re.compile(r"<!--\s*expect:\s*(.+?)\s*-->")
EXPECT_OUTPUT = re.compile(r"<!--\s*expect-output:\s*(.+?)\s*-->")
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SHELL_SYNTAX = re.compile(r"[|&;<`]|\$\(|\n")
REDIRECT = re.compile(r"^(.*?)\s>\s*(\S+)$")
FERRY_CALL = re.compile(r"(?:^|[|;&(]|\$\()\s*((?:[A-Za-z_]\w*=\S+\s+)*ferry\s[^|;&)\n]*)")


@dataclass(frozen=True)
class Command:
    text: str
    line: int

    def plain_ferry(self) -> tuple[str, str | None] | None:
        """``(command, stdout file)`` when this is one ``[VAR=value …] ferry …`` call with at
        most a ``> FILE`` at its end, which the test can run in-process; else None."""
        text, target = self.text, None
        redirect = REDIRECT.match(text)
        if redirect is not None:
            text, target = redirect.groups()
        if SHELL_SYNTAX.search(text) or ">" in text:
            return None
        words = [w for w in shlex.split(text, comments=True) if not ASSIGNMENT.match(w)]
        return (text, target) if words[:1] == ["ferry"] else None

    def ferry_calls(self) -> list[list[str]]:
        """The arguments of every ``ferry`` call in the command, pipelines included."""
        calls = []
        for found in FERRY_CALL.finditer(self.text):
            words = shlex.split(found.group(1).split(">")[0], comments=True)
            calls.append([w for w in words if not ASSIGNMENT.match(w)][1:])
        return calls


@dataclass
class Block:
    kind: str  # run, server or show
    line: int
    commands: list[Command]
    expect_output: list[str] = field(default_factory=list)


@dataclass
class Lab:
    path: Path
    blocks: list[Block]
    expect: list[str]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def runnable(self) -> list[Command]:
        return [c for b in self.blocks if b.kind == "run" for c in b.commands]


def split_commands(lines: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        start, text = i, lines[i].rstrip()
        if not text.strip() or text.lstrip().startswith("#"):
            i += 1
            continue
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1].rstrip() + " " + lines[i].strip()
        heredoc = HEREDOC.search(text)
        if heredoc is not None:
            body = []
            while i + 1 < len(lines):
                i += 1
                body.append(lines[i])
                if lines[i].strip() == heredoc.group(1):
                    break
            text = "\n".join([text, *body])
        commands.append(Command(text.strip(), first_line + start))
        i += 1
    return commands


def parse(path: Path) -> Lab:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    expect: list[str] = []
    i = 0
    while i < len(lines):
        expect += EXPECT.findall(lines[i])
        if blocks:
            blocks[-1].expect_output += EXPECT_OUTPUT.findall(lines[i])
        fence = FENCE.match(lines[i])
        if fence is None or not fence.group(1):
            i += 1
            continue
        language, info = fence.groups()
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if language == "bash":
            kind = info if info in {"run", "server"} else "show"
            blocks.append(Block(kind, i + 1, split_commands(lines[i + 1 : end], i + 2)))
        i = end + 1
    return Lab(path, blocks, expect)


def week_number(path: Path) -> int:
    return int(path.stem.split("-")[1])


def all_labs() -> list[Lab]:
    return [parse(p) for p in sorted(LABS.glob("week-*.md"), key=week_number)]
