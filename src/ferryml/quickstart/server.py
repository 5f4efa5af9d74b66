"""A real ``ferry serve`` for the quickstart: uvicorn in its own process on a free port, driven
over HTTP like any client would, stopped with SIGTERM (which ships its prediction log)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferryml.errors import FerryError

READY_TIMEOUT_S = 180.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS's choice)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running server: its address, and the admin token it was started with."""

    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to an admin endpoint; the answer's JSON (an error if refused)."""
        import httpx2 as httpx

        response = httpx.post(
            self.url + path,
            json=body,
            headers={"authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        if response.status_code >= 300:
            raise FerryError(
                f"{path} answered {response.status_code}: {response.text[:500]}",
                hint=f"the server's log: {self.log}",
            )
        answer: dict[str, Any] = response.json()
        return answer


@contextmanager
def running_server(config: Path, log: Path, settings: Sequence[str] = ()) -> Iterator[Server]:
    """``ferry serve -c CONFIG`` on a free port of 127.0.0.1 with ``settings`` (``--set``
    values), ready (``/health/ready`` answers 200) when the block starts, stopped after."""
    import httpx2 as httpx

    port = free_port()
    token = secrets.token_urlsafe(24)
    sets = [arg for setting in settings for arg in ("--set", setting)]
    command = [
        sys.executable, "-m", "ferryml", "serve", "-c", str(config),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *sets,
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        env = {**os.environ, "FERRY_ADMIN_TOKEN": token}
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", token, process, log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise FerryError(
                    f"ferry serve exited with code {process.returncode} before it was ready",
                    hint=f"its output: {log}",
                )
            try:
                if httpx.get(server.url + "/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise FerryError(
                    f"ferry serve was not ready within {READY_TIMEOUT_S:.0f} s",
                    hint=f"its output: {log}",
                )
            time.sleep(0.25)
        yield server
    finally:
        terminate(process)


def terminate(process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """SIGTERM (a server ships its prediction log and stops its workers), then SIGKILL if it
    has not ended within ``timeout_s``; returns once it has ended."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


__all__ = ["Server", "free_port", "running_server", "terminate"]
