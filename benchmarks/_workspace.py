"""Workspace and server helpers shared by the benchmark scripts that serve a trained project.

Not a benchmark itself (``make bench`` skips ``_``-prefixed files).

    >>> 0 < free_port() < 65536
    True
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

from typer.testing import CliRunner


def quickstart(prefix: str, settings: list[str]) -> tuple[Path, Path]:
    """A new workspace made by ``ferry quickstart`` with ``--set`` ``settings`` (trained, gated,
    a champion promoted), in a fresh temporary directory: (that directory, the workspace)."""
    from ferryml.cli import app as cli

    work = Path(tempfile.mkdtemp(prefix=prefix))
    root = work / "ws"
    sets = [arg for setting in settings for arg in ("--set", setting)]
    result = CliRunner().invoke(cli, ["quickstart", "--no-loop", "--workspace", str(root), *sets])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return work, root


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
