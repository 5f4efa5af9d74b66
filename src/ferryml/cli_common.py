"""What every ``ferry`` command module shares: consoles, common options, config loading and
the error handler that turns a FerryError into a message and exit code 1."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ferryml.config.loader import LoadedConfig, load_config
from ferryml.errors import FerryError
from ferryml.logs import LogFormat, configure_logging

if TYPE_CHECKING:
    from ferryml.pipeline import ProjectContext

P = ParamSpec("P")
R = TypeVar("R")

out = Console()
err = Console(stderr=True)
state: dict[str, Any] = {"debug": False, "log_format": None}

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Project config (YAML). Default: $FERRY_CONFIG, else the embedded fraud project.",
        show_default=False,
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Override a config key: --set data.synth.days=30 (repeatable; beats FERRY_… env).",
        show_default=False,
    ),
]


_command_ends: list[ExitStack] = []
"""What to close when the running command ends (innermost last): see :func:`friendly_errors`."""


def open_project(loaded: LoadedConfig, *, create: bool = True) -> ProjectContext:
    """The project opened for the running command, its platform DB's connections closed when
    the command ends (in-process callers such as tests run many commands in one process)."""
    from ferryml.pipeline import ProjectContext

    context = ProjectContext.open(loaded, create=create)
    if _command_ends:
        _command_ends[-1].callback(context.close)
    return context


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a FerryError into a message and exit code 1 (the traceback only with --debug);
    close what the command opened with :func:`open_project` when it ends, however it ends."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with ExitStack() as stack:
                _command_ends.append(stack)
                try:
                    return fn(*args, **kwargs)
                finally:
                    _command_ends.pop()
        except FerryError as exc:
            if state["debug"]:
                raise
            # soft_wrap: long paths and key paths stay on one line, for copy and paste.
            err.print("[bold red]error:[/bold red]", escape(exc.message), soft_wrap=True)
            if exc.hint:
                err.print("[yellow]hint:[/yellow]", escape(exc.hint), soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def load(config: Path | None, overrides: dict[str, Any], sets: list[str] | None) -> LoadedConfig:
    # CLI flags beat --set only when both name one key; flags are applied last.
    sets_and_flags = [*(sets or []), *(f"{k}={yaml_scalar(v)}" for k, v in overrides.items())]
    loaded = load_config(config, overrides=sets_and_flags)
    logging_cfg = loaded.config.logging
    log_format: LogFormat = state["log_format"] or logging_cfg.format  # the flag beats config
    configure_logging("DEBUG" if state["debug"] else logging_cfg.level, log_format)
    return loaded


def yaml_scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update
