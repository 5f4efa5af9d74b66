"""The model registry: versions of a project's model in MLflow, aliases, verified loads.

A version is registered with the SHA-256 of its files
(:func:`~ferryml.training.tracking.model_sha256`) as the tag ``ferryml.sha256``; every
:meth:`ModelRegistry.download` hashes the files again and refuses a model that does not match
(:class:`~ferryml.errors.ModelIntegrityError`): a corrupted or edited artifact never serves.
Aliases are MLflow aliases (``champion``, ``challenger``), not the deprecated stages::

    registry = ModelRegistry(tracker, "fraud")
    version = registry.register("models:/m-1a2b…", sha256, run_id="…")
    registry.set_alias("champion", version.version)
    path = registry.download("champion")       # verified, or ModelIntegrityError
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ferryml.errors import InvalidInputError, ModelIntegrityError, NotFoundError
from ferryml.training.tracking import (
    TAG_PREFIX,
    Tracker,
    is_missing,
    mlflow_errors,
)

SHA_TAG = TAG_PREFIX + "sha256"
KIND_TAG = TAG_PREFIX + "model_kind"
ALIASES = ("champion", "challenger")
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class RegisteredVersion:
    """One registered version: where its files are and what they must hash to."""

    name: str
    version: str
    source: str
    run_id: str | None
    sha256: str
    aliases: tuple[str, ...]
    tags: dict[str, str]

    @property
    def kind(self) -> str:
        """The model kind (``lightgbm``, ``logistic``, ``ebm``) its files load as."""
        kind = self.tags.get(KIND_TAG)
        if kind is None:
            raise InvalidInputError(
                f"model {self.name!r} v{self.version} has no {KIND_TAG} tag: it was not "
                "registered by ferryml, so ferryml cannot tell how to load it"
            )
        return kind


class ModelRegistry:
    """The registered model ``name`` in the tracker's backend."""

    def __init__(self, tracker: Tracker, name: str) -> None:
        self.tracker = tracker
        self.name = name

    def register(
        self, model_uri: str, sha256: str, *, run_id: str, tags: dict[str, str] | None = None
    ) -> RegisteredVersion:
        """A new version of the model from ``model_uri`` (e.g. ``models:/m-…``)."""
        client = self.tracker.client
        # MLflow resolves a ``models:/`` source through its global tracking URI, not the
        # client's: in a process that opened another workspace it would look there.
        self.tracker.activate()
        with mlflow_errors(self.tracker.uri, f"register a version of {self.name!r}"):
            try:
                client.get_registered_model(self.name)
            except Exception:  # MLflow raises RESOURCE_DOES_NOT_EXIST for a new name
                client.create_registered_model(self.name)
            version = client.create_model_version(
                self.name,
                source=model_uri,
                run_id=run_id,
                tags={**(tags or {}), SHA_TAG: sha256},
            )
        return self.get(str(version.version))

    def get(self, version_or_alias: str) -> RegisteredVersion:
        """A version by number or alias; a named error for one that does not exist."""
        client = self.tracker.client
        with mlflow_errors(self.tracker.uri, f"read model {self.name!r}"):
            try:
                if version_or_alias.isdigit():
                    found = client.get_model_version(self.name, version_or_alias)
                else:
                    found = client.get_model_version_by_alias(self.name, version_or_alias)
            except Exception as exc:
                if is_missing(exc):
                    raise NotFoundError(
                        f"model {self.name!r} has no version or alias {version_or_alias!r}",
                        hint="list versions with `ferry models list`; train one with `ferry train`",
                    ) from exc
                raise
        tags = dict(found.tags or {})
        sha = tags.get(SHA_TAG)
        if not sha:
            raise ModelIntegrityError(
                f"model {self.name!r} version {found.version} has no {SHA_TAG} tag: it was not "
                "registered by ferryml, so its files cannot be verified"
            )
        return RegisteredVersion(
            name=self.name,
            version=str(found.version),
            source=str(found.source),
            run_id=found.run_id,
            sha256=sha,
            aliases=tuple(found.aliases or ()),
            tags=tags,
        )

    def set_alias(self, alias: str, version: str) -> None:
        """Point ``alias`` at ``version`` (moving it from the version that had it)."""
        if not _ALIAS.match(alias):
            raise InvalidInputError(
                f"invalid alias {alias!r}: lowercase letters, digits, '-' and '_'",
                hint=f"ferryml uses {', '.join(ALIASES)}",
            )
        self.get(version)
        with mlflow_errors(self.tracker.uri, f"set alias {alias!r}"):
            self.tracker.client.set_registered_model_alias(self.name, alias, version)

    def remove_alias(self, alias: str) -> None:
        """Make ``alias`` point nowhere (no error when it already does)."""
        if self.alias_version(alias) is None:
            return
        with mlflow_errors(self.tracker.uri, f"remove alias {alias!r}"):
            self.tracker.client.delete_registered_model_alias(self.name, alias)

    def version_of_run(self, run_id: str) -> RegisteredVersion | None:
        """The newest version registered from ``run_id``, None when there is none."""
        client = self.tracker.client
        with mlflow_errors(self.tracker.uri, f"search versions of {self.name!r}"):
            found = client.search_model_versions(f"name = '{self.name}' and run_id = '{run_id}'")
        if not found:
            return None
        return self.get(str(max(int(v.version) for v in found)))

    def versions(self, limit: int = 20) -> list[RegisteredVersion]:
        """The newest ``limit`` versions, newest first, each with the aliases pointing at it
        (empty when nothing was registered yet). A listing: files are not verified, and a
        version registered without ferryml's tags is listed with an empty ``sha256``."""
        client = self.tracker.client
        with mlflow_errors(self.tracker.uri, f"list the versions of {self.name!r}"):
            try:
                aliases = client.get_registered_model(self.name).aliases or {}
            except Exception as exc:
                if is_missing(exc):
                    return []
                raise
            found = client.search_model_versions(
                f"name = '{self.name}'", max_results=limit, order_by=["version_number DESC"]
            )
        pointing: dict[str, list[str]] = {}
        for alias, version in sorted(aliases.items()):
            pointing.setdefault(str(version), []).append(alias)
        return [
            RegisteredVersion(
                name=self.name,
                version=str(v.version),
                source=str(v.source),
                run_id=v.run_id,
                sha256=(v.tags or {}).get(SHA_TAG, ""),
                aliases=tuple(pointing.get(str(v.version), ())),
                tags=dict(v.tags or {}),
            )
            for v in found
        ]

    def alias_version(self, alias: str) -> str | None:
        """The version ``alias`` points at, None when it points nowhere."""
        try:
            return self.get(alias).version
        except InvalidInputError:
            return None

    def download(self, version_or_alias: str, destination: Path | None = None) -> Path:
        """The model's files in a local directory, verified against the registered SHA-256."""
        registered = self.get(version_or_alias)
        return self.tracker.download_verified(
            registered.source,
            registered.sha256,
            destination or Path(tempfile.mkdtemp(prefix="ferryml-model-")),
            what=f"model {self.name!r} version {registered.version}",
            recorded="at registration",
        )


__all__ = ["ALIASES", "KIND_TAG", "SHA_TAG", "ModelRegistry", "RegisteredVersion"]
