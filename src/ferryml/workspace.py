"""A workspace: the directory tree a project works in, with every path taken from its config.

The layout follows the course's project structure::

    DIR/
      configs/ferry.yaml     the project config (``ferry init`` writes a starter one)
      data/raw/              data as it arrived
      data/processed/        validated, versioned data
      data/models/           model artifacts
      reports/               HTML and Markdown reports
      ferryml.db             the platform DB (SQLite) unless storage.database_url says otherwise
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ferryml.config.loader import LoadedConfig, embedded_config_text
from ferryml.errors import WorkspaceError
from ferryml.names import validate_project_name
from ferryml.storage.atomic import atomic_path, atomic_write_text

CONFIG_RELATIVE_PATH = Path("configs/ferry.yaml")
DATABASE_FILE = "ferryml.db"
OWNER_FILE = ".ferryml-project"
"""Names the project a workspace root belongs to, so two projects never share its files."""


@dataclass(frozen=True)
class Workspace:
    """Absolute paths and service URLs of one project, resolved from its config."""

    project: str
    root: Path
    raw: Path
    processed: Path
    quarantine: Path
    models: Path
    reports: Path
    database_url: str
    redis_url: str

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> Workspace:
        config = loaded.config
        root = (loaded.base_dir / config.paths.root).resolve()
        database_url = config.storage.database_url or f"sqlite:///{root / DATABASE_FILE}"
        return cls(
            project=config.project.name,
            root=root,
            raw=root / config.paths.raw,
            processed=root / config.paths.processed,
            quarantine=root / config.paths.quarantine,
            models=root / config.paths.models,
            reports=root / config.paths.reports,
            database_url=database_url,
            redis_url=config.storage.redis_url,
        )

    @property
    def data_dirs(self) -> tuple[Path, ...]:
        return (self.raw, self.processed, self.quarantine, self.models, self.reports)

    def create_layout(self) -> None:
        """Claim the root for this project and create every directory (existing ones are kept).

        A root already claimed by another project is refused: the two would overwrite each
        other's data and reports.
        """
        self._claim_root()
        for directory in self.data_dirs:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkspaceError(
                    f"cannot create workspace directory {directory}: {exc.strerror}",
                    hint="choose a directory you can write to, or fix its permissions",
                ) from exc

    def require_existing(self) -> None:
        """For commands that only read: the workspace must exist and belong to this project."""
        owner = read_owner(self.root)
        if owner is None:
            raise WorkspaceError(
                f"no ferryml workspace at {self.root} (no {OWNER_FILE})",
                hint="check paths.root and --config, or create one with `ferry init DIR`",
            )
        self._check_owner(owner)

    def _claim_root(self) -> None:
        owner_file = self.root / OWNER_FILE
        owner = read_owner(self.root)
        if owner is None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                with atomic_path(self.root / f"{OWNER_FILE}.new") as tmp:
                    tmp.write_text(self.project + "\n", encoding="utf-8")
                    # link(2) fails if the owner file exists: of two first runs, one wins.
                    with contextlib.suppress(FileExistsError):
                        os.link(tmp, owner_file)
            except OSError as exc:
                raise WorkspaceError(
                    f"cannot create the workspace {self.root}: {exc.strerror}",
                    hint="choose a directory you can write to, or fix its permissions",
                ) from exc
            (self.root / f"{OWNER_FILE}.new").unlink(missing_ok=True)
            owner = read_owner(self.root)
        self._check_owner(owner)

    def _check_owner(self, owner: str | None) -> None:
        if owner != self.project:
            raise WorkspaceError(
                f"workspace {self.root} belongs to project {owner!r}, "
                f"but the config names project {self.project!r}",
                hint="give each project its own paths.root, or fix project.name",
            )


def read_owner(root: Path) -> str | None:
    """The project a workspace root belongs to, or None when it is not a workspace."""
    owner_file = root / OWNER_FILE
    try:
        return owner_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkspaceError(f"cannot read {owner_file}: {exc.strerror}") from exc


def write_starter_config(
    directory: Path, project: str, *, force: bool = False, template: str = "fraud"
) -> Path:
    """Write ``DIR/configs/ferry.yaml``: a shipped project (``template``: the fraud reference
    project, or another of :data:`~ferryml.config.loader.TEMPLATES`), renamed to ``project``.

    Refuses a directory that already holds files unless ``force``; never overwrites a config
    without ``force`` either.
    """
    validate_project_name(project)
    directory = directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise WorkspaceError(
            f"{directory} exists and is not a directory", hint="choose another path for ferry init"
        )
    if directory.exists() and any(directory.iterdir()) and not force:
        raise WorkspaceError(
            f"{directory} is not empty",
            hint="choose an empty or new directory, or pass --force to add a workspace to it",
        )
    owner = read_owner(directory)
    if owner is not None and owner != project:
        raise WorkspaceError(
            f"{directory} is the workspace of project {owner!r}; --force cannot change that",
            hint=f"use another directory for project {project!r}",
        )
    target = directory / CONFIG_RELATIVE_PATH
    if target.exists() and not force:
        raise WorkspaceError(f"{target} already exists", hint="pass --force to overwrite it")
    text = starter_config_text(project, template)
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot write {target}: {exc.strerror}", hint="check the directory's permissions"
        ) from exc
    return target


def starter_config_text(project: str, template: str = "fraud") -> str:
    """An embedded project config, renamed to ``project``, its root set to the workspace."""
    text = embedded_config_text(template)
    # Quoted: a name such as `no` or `null` would otherwise read back as a bool or None.
    quoted = json.dumps(project)
    text, named = re.subn(r"(?m)^(  name: ).*$", lambda m: m.group(1) + quoted, text, count=1)
    text, rooted = re.subn(
        r"(?m)^(  root: ).*$", r"\g<1>..  # the workspace: configs/..", text, count=1
    )
    if not (named and rooted):  # the embedded file lost its `project.name` or `paths.root` line
        raise WorkspaceError("the embedded starter config is malformed; reinstall ferryml")
    return text


def create_pii_key_file(path: Path) -> bool:
    """Create a random PII key at ``path`` (mode 600) unless one exists; True if created.

    For workspaces made by ``ferry init`` and ``ferry quickstart``; production keys belong in a
    secret store and reach ferryml through the environment variable ``data.ingest.pii_key_env``.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with atomic_path(path) as tmp:
        tmp.chmod(0o600)
        tmp.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    return True
