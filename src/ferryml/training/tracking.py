"""MLflow for one project: where runs go, what every run records, and model file hashes.

The backend is a SQLite file in the workspace by default (``mlflow.db``) or any MLflow
tracking URI (PostgreSQL, or an MLflow server in production); artifacts go under the
workspace's ``mlruns`` unless the experiment already has a location or the backend is a
tracking server (which then stores them itself). Every run carries the lineage tags of
:func:`lineage_tags` so that a model can be traced back to its data, features, code and
environment, and rebuilt from them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferryml.errors import InvalidInputError, ServiceUnavailableError, StorageError
from ferryml.urls import masked_url

if TYPE_CHECKING:
    from mlflow import ActiveRun
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

# MLflow draws a progress bar for every artifact download (ferryml downloads each logged model
# once, to hash it), and MLflow 3 sends usage telemetry, which on a machine without internet
# costs tens of seconds of timeouts (measured: importing its server took 50 s instead of 14).
# ferryml sends nothing anywhere; a user who wants either back sets the variable.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

TAG_PREFIX = "ferryml."
UNHASHED_FILES = frozenset({"MLmodel"})
"""Files of a logged model left out of its hash: ``MLmodel`` records run and model ids and a
creation time, so two identical models never have identical ``MLmodel`` files."""


def default_tracking_uri(root: Path) -> str:
    """The embedded backend: a SQLite file in the workspace root."""
    return f"sqlite:///{(root / 'mlflow.db').absolute()}"


def artifact_location(uri: str, artifact_root: Path, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: the workspace's ``mlruns`` for a backend
    this process opens itself (a database), None for a tracking server (``http(s)://``), which
    then stores them itself (``mlflow-artifacts:``): a path on this host means nothing to its
    clients on other hosts (the scoring containers, the monitor job).

        >>> artifact_location("http://mlflow:5000", Path("/ws/mlruns"), "fraud") is None
        True
        >>> artifact_location("sqlite:////ws/mlflow.db", Path("/ws/mlruns"), "fraud")
        'file:///ws/mlruns/fraud'
    """
    if uri.startswith(("http://", "https://")):
        return None
    return (artifact_root / experiment).absolute().as_uri()


class Tracker:
    """An MLflow backend and the project's experiment in it."""

    def __init__(self, uri: str, experiment: str, artifact_root: Path) -> None:
        self.uri = uri
        self.experiment = experiment
        self.artifact_root = artifact_root
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            with mlflow_errors(self.uri, "connect"):
                self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def experiment_id(self) -> str:
        """The project's experiment, created on first use (artifacts: :func:`artifact_location`)."""
        if self._experiment_id is None:
            with mlflow_errors(self.uri, f"find experiment {self.experiment!r}"):
                found = self.client.get_experiment_by_name(self.experiment)
                if found is None:
                    self.artifact_root.mkdir(parents=True, exist_ok=True)
                    self._experiment_id = self.client.create_experiment(
                        self.experiment,
                        artifact_location=artifact_location(
                            self.uri, self.artifact_root, self.experiment
                        ),
                    )
                else:
                    self._experiment_id = str(found.experiment_id)
        return self._experiment_id

    def activate(self) -> None:
        """Point MLflow's module-level functions at this backend (``models:/`` URIs of logged
        models resolve through the global tracking URI, whatever ``tracking_uri`` says).

        Every operation here that uses those functions or resolves a ``models:/`` URI calls
        this first, so a process that opened several workspaces acts on the right one."""
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)

    def get_run(self, run_id: str) -> Run:
        """A run by id; a named error when the backend has no such run."""
        with mlflow_errors(self.uri, f"read run {run_id}"):
            try:
                return self.client.get_run(run_id)
            except Exception as exc:
                if is_missing(exc):
                    raise InvalidInputError(
                        f"no MLflow run {run_id!r} at {masked_url(self.uri)}",
                        hint="`ferry train --json` prints run ids, `ferry ui` lists them; "
                        "check training.tracking.uri",
                    ) from exc
                raise

    def download(self, uri: str, destination: Path, what: str) -> Path:
        """The artifacts at ``uri`` (e.g. ``models:/m-…``) copied under ``destination``."""
        import mlflow.artifacts

        self.activate()
        with mlflow_errors(self.uri, f"download {what}"):
            return Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=str(destination), tracking_uri=self.uri
                )
            )

    def download_verified(
        self, uri: str, sha256: str, destination: Path, *, what: str, recorded: str
    ) -> Path:
        """:meth:`download`, refused (:class:`~ferryml.errors.ModelIntegrityError`) unless the
        files hash (:func:`model_sha256`) to ``sha256``, the hash recorded ``recorded``."""
        from ferryml.errors import ModelIntegrityError

        local = self.download(uri, destination, what)
        actual = model_sha256(local)
        if actual != sha256:
            raise ModelIntegrityError(
                f"{what} ({uri}) hashes to {actual[:12]}…, not to the {sha256[:12]}… recorded "
                f"{recorded}: refused"
            )
        return local

    @contextmanager
    def run(self, name: str, tags: Mapping[str, str]) -> Iterator[ActiveRun]:
        """An active MLflow run in the project's experiment (``mlflow.log_*`` write to it)."""
        import mlflow

        self.activate()
        experiment_id = self.experiment_id()
        with (
            mlflow_errors(self.uri, f"record run {name!r}"),
            mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=dict(tags)) as run,
        ):
            yield run


@contextmanager
def mlflow_errors(uri: str, action: str) -> Iterator[None]:
    """MLflow's and its drivers' errors as ferryml errors, naming the backend."""
    try:
        yield
    except (InvalidInputError, StorageError, ServiceUnavailableError):
        raise
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        text = str(exc)
        shown = masked_url(uri)
        if isinstance(exc, MlflowException) and "connect" not in text.lower():
            raise StorageError(f"MLflow at {shown} refused to {action}: {text}") from exc
        if "connect" in text.lower() or "could not translate host" in text.lower():
            raise ServiceUnavailableError(
                f"the MLflow backend {shown} does not answer ({action}): {text.splitlines()[0]}",
                hint="check training.tracking.uri and that the database server is running",
            ) from exc
        raise


def is_missing(exc: BaseException) -> bool:
    """Whether an MLflow error says that the run, model or version asked for does not exist."""
    text = str(exc)
    return "RESOURCE_DOES_NOT_EXIST" in text or "not found" in text.lower()


def model_sha256(model_dir: Path) -> str:
    """SHA-256 over the files of a logged model (relative path and content of each, in path
    order), except :data:`UNHASHED_FILES`."""
    digest = hashlib.sha256()
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    for path in files:
        relative = path.relative_to(model_dir).as_posix()
        if relative in UNHASHED_FILES:
            continue
        digest.update(relative.encode() + b"\x00")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file, None when it does not exist."""
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


GIT_SHA_ENV = "FERRY_GIT_SHA"
LOCK_FILE_ENV = "FERRY_LOCK_FILE"


def code_identity(
    directory: Path, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The commit and the lock-file hash of the code that runs: from the checkout in
    ``directory``, else from ``$FERRY_GIT_SHA`` and the file ``$FERRY_LOCK_FILE`` (an installed
    package, e.g. in a container image, has no checkout to ask)."""
    env = os.environ if environ is None else environ
    sha = git_sha(directory) or env.get(GIT_SHA_ENV, "").strip() or None
    lock = file_sha256(directory / "requirements.lock")
    if lock is None and env.get(LOCK_FILE_ENV, "").strip():
        lock = file_sha256(Path(env[LOCK_FILE_ENV].strip()))
    return sha, lock


def git_sha(directory: Path) -> str | None:
    """The commit checked out in ``directory`` (with ``-dirty`` when it has changes), or None
    outside a git checkout."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if status else "")


def lineage_tags(values: Mapping[str, Any]) -> dict[str, str]:
    """``values`` as MLflow tags under the ``ferryml.`` prefix (None becomes "unknown")."""
    return {
        TAG_PREFIX + key: "unknown" if value is None else str(value)
        for key, value in values.items()
    }


__all__ = [
    "TAG_PREFIX",
    "UNHASHED_FILES",
    "Tracker",
    "artifact_location",
    "code_identity",
    "default_tracking_uri",
    "file_sha256",
    "git_sha",
    "is_missing",
    "lineage_tags",
    "mlflow_errors",
    "model_sha256",
]
