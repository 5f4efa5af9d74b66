"""Where the audit chain's head is kept outside the platform DB, so a deleted tail shows.

A chain alone cannot reveal that its newest entries were deleted: what remains still links up.
So the head, ``(seq, hash)``, is also kept elsewhere, and verification checks that the chain
still reaches it with the same hash. Two sinks, behind one small interface:

- :class:`FileCheckpoint`: a JSON file in the workspace, moved after every append. It only
  moves forward: writers in several processes take an ``fcntl`` lock, and one holding an older
  head than the file leaves the file alone.
- :class:`MlflowCheckpoint`: the tag ``ferryml.audit_head`` of the project's MLflow experiment
  (another store, often another server). MLflow costs an import and a round trip, so it is
  *deferred*: :meth:`~ferryml.governance.AuditTrail.flush` writes it (``ferry audit
  verify|anchor``, and the end of commands that loaded MLflow anyway).

A checkpoint may lag behind the chain (a crash between commit and write, a deferred sink); it
never runs ahead of it, since it is written after the entry commits. Verification therefore
reads the checkpoints *before* the chain::

    >>> import tempfile
    >>> from pathlib import Path
    >>> sink = FileCheckpoint(Path(tempfile.mkdtemp()) / ".ferryml-audit-head.json")
    >>> sink.read() is None
    True
    >>> sink.advance(Head("fraud", 2, "b" * 64)), sink.advance(Head("fraud", 1, "a" * 64))
    (True, False)
    >>> sink.read().seq
    2
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from ferryml.errors import StorageError
from ferryml.storage.atomic import atomic_write_text

MLFLOW_TAG = "ferryml.audit_head"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Head:
    """The newest entry of a project's chain, as a checkpoint keeps it."""

    project: str
    seq: int
    hash: str

    def as_json(self) -> str:
        return json.dumps(
            {
                "project": self.project,
                "seq": self.seq,
                "hash": self.hash,
                "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            sort_keys=True,
        )


CheckpointStatus = Literal["matches", "behind", "absent", "unreadable"]


@dataclass(frozen=True)
class CheckpointState:
    """What one checkpoint said when the chain was verified."""

    name: str
    status: CheckpointStatus
    head: Head | None = None
    note: str = ""


class HeadCheckpoint(ABC):
    """A place outside the platform DB that keeps a project's chain head."""

    deferred: ClassVar[bool] = False
    """False: moved after every append. True: moved by ``AuditTrail.flush`` only."""
    required: ClassVar[bool] = False
    """True: a chain with entries but no checkpoint here fails verification."""

    @property
    @abstractmethod
    def name(self) -> str:
        """Where it is, for messages: ``checkpoint file /ws/.ferryml-audit-head.json``."""

    @abstractmethod
    def read(self) -> Head | None:
        """The head kept here, or None when nothing was kept yet."""

    @abstractmethod
    def advance(self, head: Head, *, force: bool = False) -> bool:
        """Keep ``head`` if it is newer than the one kept (any ``head`` with ``force``); True
        when it moved."""


class FileCheckpoint(HeadCheckpoint):
    """The head as a small JSON file, replaced atomically under an ``fcntl`` lock."""

    required = True

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @property
    def name(self) -> str:
        return f"checkpoint file {self.path}"

    def read(self) -> Head | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read the {self.name}: {exc.strerror}") from exc
        return parse_head(text, self.name)

    def advance(self, head: Head, *, force: bool = False) -> bool:
        with file_lock(self.lock_path):
            current = None if force else self.read()
            if current is not None and current.seq >= head.seq:
                return False
            atomic_write_text(self.path, head.as_json() + "\n")
            return True


class MlflowCheckpoint(HeadCheckpoint):
    """The head as a tag of the project's MLflow experiment.

    Never creates MLflow state for the tag alone: without the backend (the embedded SQLite
    file not made yet) or the experiment (nothing trained yet) there is nothing to read and
    :meth:`advance` does nothing. ``lock`` serializes writers on one machine (a read-compare-
    write of a tag is not atomic in MLflow).
    """

    deferred = True

    def __init__(self, uri: str, experiment: str, *, lock: Path | None = None) -> None:
        self.uri = uri
        self.experiment = experiment
        self.lock_path = lock
        self._client: Any = None

    @property
    def name(self) -> str:
        return f"MLflow tag {MLFLOW_TAG} of experiment {self.experiment!r}"

    def read(self) -> Head | None:
        experiment = self._experiment("read the audit head tag")
        if experiment is None:
            return None
        value = experiment.tags.get(MLFLOW_TAG)
        return None if value is None else parse_head(value, self.name)

    def advance(self, head: Head, *, force: bool = False) -> bool:
        from ferryml.training.tracking import mlflow_errors

        with file_lock(self.lock_path) if self.lock_path else _nothing():
            experiment = self._experiment("read the audit head tag")
            if experiment is None:
                return False
            value = None if force else experiment.tags.get(MLFLOW_TAG)
            current = None if value is None else parse_head(value, self.name)
            if current is not None and current.seq >= head.seq:
                return False
            with mlflow_errors(self.uri, f"set the tag {MLFLOW_TAG}"):
                self._client.set_experiment_tag(
                    experiment.experiment_id, MLFLOW_TAG, head.as_json()
                )
            return True

    def _experiment(self, action: str) -> Any:
        """The experiment, or None when the backend or the experiment does not exist yet."""
        if self.uri.startswith("sqlite:///") and not Path(self.uri[len("sqlite:///") :]).exists():
            return None
        from ferryml.training.tracking import mlflow_errors

        with mlflow_errors(self.uri, action):
            if self._client is None:
                from mlflow.tracking import MlflowClient

                self._client = MlflowClient(tracking_uri=self.uri)
            return self._client.get_experiment_by_name(self.experiment)


def parse_head(text: str, where: str) -> Head:
    """A head from a checkpoint's JSON; a named error when it is not one."""
    try:
        value = json.loads(text)
        head = Head(str(value["project"]), value["seq"], value["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _unreadable(where, "it is not the JSON ferryml writes") from exc
    if not isinstance(head.seq, int) or isinstance(head.seq, bool) or head.seq < 1:
        raise _unreadable(where, f"its seq {head.seq!r} is not a positive int")
    if not isinstance(head.hash, str) or not _HEX64.fullmatch(head.hash):
        raise _unreadable(where, "its hash is not 64 hex digits")
    return head


def _unreadable(where: str, why: str) -> StorageError:
    return StorageError(
        f"the audit {where} is damaged: {why}",
        hint="it was edited or half-written; restore it from a backup, or rewrite it from a "
        "chain you trust with `ferry audit anchor --force`",
    )


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if absent), released on exit or process
    death; processes on one machine take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def _nothing() -> Iterator[None]:
    yield


__all__ = [
    "MLFLOW_TAG",
    "CheckpointState",
    "CheckpointStatus",
    "FileCheckpoint",
    "Head",
    "HeadCheckpoint",
    "MlflowCheckpoint",
    "file_lock",
    "parse_head",
]
