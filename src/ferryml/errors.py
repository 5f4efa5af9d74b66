"""The one error tree of ferryml.

Every error a user can meet is a :class:`FerryError`. Each says *what* went wrong, *where*
(file, key path, line, column, URL, …) and *how to fix it*; the CLI prints it without a
traceback and exits 1, the HTTP layer maps it to its ``http_status``. Errors from libraries are
wrapped (``raise SomeFerryError(...) from exc``) at the one place where ferryml calls them, so
callers only ever catch ferryml's own classes::

    FerryError
    ├── ConfigError                 a project config cannot be read or does not validate
    ├── InvalidInputError           a value given to ferryml's API breaks its rule
    │   ├── NotFoundError           what it names does not exist
    │   └── ConflictError           the current state does not allow it
    │       └── PolicyViolationError   the governance policy forbids it
    ├── WorkspaceError              a workspace directory is missing, not empty, not writable
    ├── MissingDependencyError      an optional extra is not installed (says which to install)
    ├── ServiceUnavailableError     PostgreSQL, Redis, … does not answer
    ├── StorageError                the platform DB refused an operation
    │   ├── AuditChainBrokenError   the audit trail's hash chain does not verify
    │   └── ModelIntegrityError     a model's files differ from what was registered
    └── DataError                   data cannot be generated, read or written as asked
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FerryError(Exception):
    """Base of every error ferryml raises on purpose.

    ``hint`` says how to fix it; ``http_status`` is what the serving layer answers.
    """

    http_status: int = 500
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config: where it is and what was expected versus found."""

    source: str
    """Where the value came from: a file path, ``environment variable FERRY_X`` or ``--flag``."""
    key_path: str
    """Dotted path of the key, e.g. ``data.synth.scenarios.holiday_season.strength``."""
    expected: str
    found: str
    line: int | None = None
    column: int | None = None

    def render(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = self.key_path or "<document>"
        return f"{where}: {key}: expected {self.expected}; found {self.found}"


class ConfigError(FerryError):
    """A config cannot be read or does not validate; carries every issue found, not the first."""

    http_status = 400

    def __init__(
        self, message: str, *, issues: Sequence[ConfigIssue] = (), hint: str | None = None
    ) -> None:
        self.issues = tuple(issues)
        body = message
        if self.issues:
            body += "\n" + "\n".join(f"  - {issue.render()}" for issue in self.issues)
        super().__init__(body, hint=hint)


class InvalidInputError(FerryError):
    """A value given to ferryml's Python or HTTP API breaks its rule (the message says which)."""

    http_status = 400


class NotFoundError(InvalidInputError):
    """What a valid request names does not exist (a model version, an alias)."""

    http_status = 404


class ConflictError(InvalidInputError):
    """A valid request the current state does not allow (a blue/green switch without a
    blue/green routing, a rollback with nothing served before)."""

    http_status = 409


class PolicyViolationError(ConflictError):
    """The governance policy forbids the action: a promotion missing a required approval or
    artifact, an owner approving their own model."""


class WorkspaceError(FerryError):
    """A workspace directory cannot be created or used."""

    http_status = 400


class MissingDependencyError(FerryError):
    """An optional dependency is not installed."""

    http_status = 501

    def __init__(self, package: str, *, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package '{package}', which is not installed.",
            hint=f"install it with: pip install 'ferryml[{extra}]'",
        )
        self.package = package
        self.extra = extra


class ServiceUnavailableError(FerryError):
    """A backing service (PostgreSQL, Redis, …) does not answer."""

    http_status = 503


class StorageError(FerryError):
    """The platform database refused an operation."""

    http_status = 500


class AuditChainBrokenError(StorageError):
    """The audit trail does not verify: an entry was edited, removed or reordered, the chain
    was rewritten without its key, or its tail no longer reaches the head checkpointed outside
    the database. ``entry_id`` and ``seq`` name the first bad entry (``entry_id`` is None when
    that entry was deleted)."""

    def __init__(
        self,
        message: str,
        *,
        entry_id: int | None = None,
        seq: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            message,
            hint=hint or "restore the audit table from a backup; never edit audit entries in place",
        )
        self.entry_id = entry_id
        self.seq = seq


class ModelIntegrityError(StorageError):
    """A model's files do not hash to the SHA-256 recorded when it was registered."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="the artifact was changed or corrupted after registration; restore it from a "
            "backup or retrain (`ferry train --from-run RUN_ID`) and register the new version",
        )


class DataError(FerryError):
    """Data cannot be generated, read or written as asked."""

    http_status = 422


__all__ = [
    "AuditChainBrokenError",
    "ConfigError",
    "ConfigIssue",
    "ConflictError",
    "DataError",
    "FerryError",
    "InvalidInputError",
    "MissingDependencyError",
    "ModelIntegrityError",
    "NotFoundError",
    "PolicyViolationError",
    "ServiceUnavailableError",
    "StorageError",
    "WorkspaceError",
]
