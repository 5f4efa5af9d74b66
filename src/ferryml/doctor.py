"""``ferry doctor``: is everything a project needs here and answering?

Each check says what it looked at, what it found and, when it fails, how to fix it. Checks
never change anything: the platform DB is inspected, not migrated.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ferryml.errors import FerryError
from ferryml.storage.db import current_revision, head_revision, make_engine, mask_url
from ferryml.storage.keyspace import connect_redis
from ferryml.workspace import Workspace


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    hint: str | None = None


def run_checks(workspace: Workspace) -> list[Check]:
    """Check the platform DB, Redis and Spark's prerequisites for ``workspace``."""
    return [_platform_db(workspace), _redis(workspace), _spark()]


def _platform_db(workspace: Workspace) -> Check:
    url = make_url(workspace.database_url)
    # Opening a SQLite URL creates the file; a check must not leave one behind.
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return Check(
            "platform DB",
            False,
            f"{url.database} does not exist yet",
            "`ferry init DIR` or any ferry command on this workspace creates it",
        )
    try:
        engine = make_engine(workspace.database_url)
        revision = current_revision(engine)
        where = mask_url(engine)
        engine.dispose()
    except FerryError as exc:
        return Check("platform DB", False, exc.message, exc.hint)
    head = head_revision()
    if revision == head:
        return Check("platform DB", True, f"{where} at schema {head}")
    return Check(
        "platform DB",
        False,
        f"{where} is at schema {revision or 'none'}, this ferryml needs {head}",
        "any ferry command on this workspace migrates it, e.g. `ferry audit verify`",
    )


def _redis(workspace: Workspace) -> Check:
    try:
        client = connect_redis(workspace.redis_url)
    except FerryError as exc:
        return Check("Redis", False, exc.message, exc.hint)
    version = client.info("server").get("redis_version", "?")
    client.close()
    return Check("Redis", True, f"answers, version {version}")


def _spark() -> Check:
    if importlib.util.find_spec("pyspark") is None:
        return Check("Spark", False, "pyspark is not installed", "pip install 'ferryml[spark]'")
    if shutil.which("java") is None:
        return Check("Spark", False, "no java on PATH", "install a Java 17 runtime")
    return Check("Spark", True, "pyspark installed, java on PATH")
