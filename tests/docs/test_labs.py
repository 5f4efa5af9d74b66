"""The course's seven weeks as labs (docs/labs/week-1.md … week-7.md) run as written.

Every lab's ``bash run`` blocks run in order, in one directory shared by all the labs (week 2
continues week 1's workspace): ``ferry`` commands in-process through Typer's CliRunner (so is
``ferry … || echo …``, a refusal the lab shows), any other command (``export``, ``curl``,
``jq``, ``python``) in ``bash``. Each must exit 0, and the files each lab promises
(``<!-- expect: GLOB -->``) must exist afterwards. A ``bash server`` block (``ferry serve``)
is started as a real process on a free port, which replaces the lab's ``8000``, and stopped
when the lab ends. The conventions are in docs/labs/README.md; reading them is
tests/docs/lab_markdown.py.

Static checks, fast: every lab has at least three runnable commands, and every ``ferry`` call
in the labs and the user guide names a command that exists with options it takes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
import typer
from lab_markdown import DOCS, LABS, Command, Lab, all_labs, parse
from typer.testing import CliRunner

from conftest import require_tool
from ferryml.cli import app
from ferryml.quickstart.server import free_port, terminate

LAB_LIST = all_labs()
REFUSAL = re.compile(r"^(.*?)\s\|\|\s*echo\s+(.+)$")
TOOLS = {"jq": "apt-get install jq", "curl": "apt-get install curl"}
"""What the labs' shell lines use besides ferry, python and coreutils."""
LAB_PORT = "8000"
"""The port the labs' ``ferry serve`` and ``--url`` use; the test replaces it with a free one."""


def squeeze(text: str) -> str:
    return "".join(text.split())


@dataclass
class LabShell:
    """One reader's terminal: a directory, the environment their ``export`` lines built."""

    root: Path
    env: dict[str, str]
    failed: str | None = None
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def bash(self, text: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{text}"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and done.returncode != 0:
            pytest.fail(f"exit {done.returncode}: {text}\n{done.stdout}\n{done.stderr}")
        return done

    def words(self, text: str) -> list[str]:
        """The command's words after the shell's quoting and ``$VAR`` expansion."""
        printed = self.bash(f"printf '%s\\0' {text}").stdout
        return printed.split("\0")[:-1]

    def run(self, command: Command) -> str:
        text = command.text
        if re.match(r"^cd\b", text):
            pytest.fail(f"line {command.line}: the labs stay in one directory: {text}")
        if text.startswith("export "):
            return self.export(text)
        refused = REFUSAL.match(text)
        if refused is not None:  # `ferry … || echo "…"`: a refusal the lab shows, in-process
            call = Command(refused.group(1), command.line).plain_ferry()
            if call is not None:
                said, code = self.ferry(*call, check=False)
                if code != 0:
                    said += self.bash(f"echo {refused.group(2)}").stdout
                return said
        plain = command.plain_ferry()
        if plain is None:
            done = self.bash(text)
            return done.stdout + done.stderr
        return self.ferry(*plain)[0]

    def export(self, text: str) -> str:
        names = re.findall(r"(?:^|\s)([A-Za-z_]\w*)=", text)
        printed = self.bash(f"{text}\nenv -0").stdout
        exported = dict(entry.split("=", 1) for entry in printed.split("\0") if "=" in entry)
        self.env.update({name: exported[name] for name in names})
        return ""

    def ferry(self, text: str, target: str | None, *, check: bool = True) -> tuple[str, int]:
        words = self.words(text)
        assignments = {}
        while words and "=" in words[0] and words[0] != "ferry":
            name, value = words.pop(0).split("=", 1)
            assignments[name] = value
        env: dict[str, str | None] = {
            name: None for name in os.environ if name.startswith("FERRY_")
        }  # the reader's shell has only what the labs exported
        env.update({**self.env, **assignments})
        result = CliRunner().invoke(app, words[1:], env=env)
        if check and result.exit_code != 0:
            cause = "" if result.exc_info is None else repr(result.exc_info[1])
            pytest.fail(f"exit {result.exit_code}: {text}\n{result.output}\n{cause}")
        if target is not None:
            (self.root / target).write_text(result.stdout)
            return result.stderr, result.exit_code
        return result.output, result.exit_code

    def start_server(self, command: Command, port: int) -> None:
        words = self.words(command.text)
        env = dict(self.env)
        while words and words[0] != "ferry":
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        log = self.root / f"server-{port}.log"
        with log.open("wb") as output:
            server = subprocess.Popen(
                [sys.executable, "-m", "ferryml", *words[1:]],
                cwd=self.root,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.servers.append(server)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"{command.text} exited with {server.returncode}: {log.read_text()}")
            try:
                url = f"http://127.0.0.1:{port}/health/ready"
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        pytest.fail(f"{command.text} was not ready within 120 s: {log.read_text()}")

    def stop_servers(self) -> None:
        for server in self.servers:
            terminate(server)
        self.servers.clear()


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabShell]:
    for tool, install in TOOLS.items():
        require_tool(tool, install)
    root = tmp_path_factory.mktemp("labs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    # `ferry` and `python` in the labs' pipelines are this interpreter's
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["COLUMNS"] = "200"
    lab_shell = LabShell(root, env)
    yield lab_shell
    lab_shell.stop_servers()


def with_port(command: Command, port: int) -> Command:
    return Command(re.sub(rf"\b{LAB_PORT}\b", str(port), command.text), command.line)


@pytest.mark.slow
@pytest.mark.parametrize("lab", LAB_LIST, ids=lambda lab: lab.name)
def test_lab_runs_as_written(lab: Lab, shell: LabShell, monkeypatch: pytest.MonkeyPatch) -> None:
    if shell.failed is not None:
        pytest.skip(f"{shell.failed} failed, and this lab continues its workspace")
    monkeypatch.chdir(shell.root)
    shell.failed = lab.name
    port = free_port()
    try:
        for block in lab.blocks:
            if block.kind == "show":
                continue
            output = ""
            for written in block.commands:
                command = with_port(written, port)
                if block.kind == "server":
                    shell.start_server(command, port)
                else:
                    started = time.monotonic()
                    said = shell.run(command)
                    took = time.monotonic() - started
                    print(f"$ {command.text}  [{took:.1f} s]\n{said}")  # shown if the lab fails
                    output += said
            for text in block.expect_output:
                assert squeeze(text) in squeeze(output), (
                    f"{lab.name} line {block.line}: the output lacks {text!r}:\n{output}"
                )
    finally:
        shell.stop_servers()
    missing = [glob for glob in lab.expect if not any(shell.root.glob(glob))]
    assert not missing, f"{lab.name} promised files that are not there: {missing}"
    shell.failed = None


def test_there_are_seven_labs_each_with_three_runnable_commands() -> None:
    assert [lab.name for lab in LAB_LIST] == [f"week-{n}" for n in range(1, 8)]
    for lab in LAB_LIST:
        assert len(lab.runnable) >= 3, f"{lab.name}: {len(lab.runnable)} runnable commands"
        assert lab.expect, f"{lab.name} promises no artifact (<!-- expect: GLOB -->)"
        servers = [b for b in lab.blocks if b.kind == "server"]
        assert all(len(b.commands) == 1 for b in servers), f"{lab.name}: one server a block"


def check_parses(words: list[str]) -> None:
    """Resolve ``ferry WORDS`` down to its command and parse its options, as click would
    before running it: an unknown command or option, or a bad value, raises UsageError."""
    command: click.Command = typer.main.get_command(app)
    context = command.make_context("ferry", list(words))
    while isinstance(command, click.Group):
        # click keeps the subcommand and its arguments apart until it invokes the group
        rest = [*context._protected_args, *context.args]
        name, found, args = command.resolve_command(context, rest)
        assert found is not None and name is not None
        command, context = found, found.make_context(name, args, parent=context)


@pytest.mark.parametrize(
    "path",
    [*sorted(LABS.glob("week-*.md")), DOCS / "guide.md"],
    ids=lambda path: path.name,
)
def test_every_ferry_call_parses(path: Path) -> None:
    calls = [
        (command.line, words)
        for block in parse(path).blocks
        for command in block.commands
        for words in command.ferry_calls()
    ]
    assert calls, f"{path.name} shows no ferry command"
    for line, words in calls:
        try:
            check_parses(words)
        except (click.exceptions.Exit, typer.Exit) as exc:  # --help, --version
            assert exc.exit_code == 0
        except click.UsageError as exc:
            pytest.fail(f"{path.name}:{line}: ferry {' '.join(words)}: {exc.format_message()}")


def test_readme_and_guide_link_the_labs() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    guide = (DOCS / "guide.md").read_text()
    assert "docs/guide.md" in readme and "docs/labs/" in readme
    for n in range(1, 8):
        assert f"labs/week-{n}.md" in guide
