"""The dataset store of one project: immutable snapshots on disk, indexed in the platform DB.

    >>> import tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq
    >>> from ferryml.storage import make_engine, upgrade
    >>> work = pathlib.Path(tempfile.mkdtemp())
    >>> engine = make_engine(f"sqlite:///{work}/ferryml.db"); _ = upgrade(engine)
    >>> store = DatasetStore(engine, "fraud", work / "processed")
    >>> staged = store.new_staging_dir()
    >>> pq.write_table(pa.table({"id": [1, 2], "x": [0.5, 1.5]}), staged / "part-0.parquet")
    >>> first = store.publish("tx", staged, key_columns=["id"], source={"kind": "test"})
    >>> first.created, first.version.rows, store.latest("tx") == first.version
    (True, 2, True)

Layout: ``<root>/<dataset>/<version>/`` holds the Parquet files and ``manifest.json``; ``root``
is the project's processed-data directory. Staged directories must be on the same filesystem as
``root`` (publishing renames them into place, which is atomic only within one filesystem):
:meth:`DatasetStore.new_staging_dir` makes one under ``<root>/.staging``.

Crash ordering of a publish, under the dataset's DB lock: (1) write ``manifest.json`` into the
staged directory, fsync; (2) rename it to ``<root>/<dataset>/<version>``; (3) insert the DB row,
commit. A crash after (2) leaves a directory without a row: the next publish of the same content
checks the directory's manifest and file sizes and inserts the row from the manifest. A row
without a directory (deleted by hand, DB restored elsewhere) is repaired by the next publish of
the same content, which moves its staged copy in. Concurrent publishes of the same content
serialize on the lock; the later one finds the version and writes nothing.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select

from ferryml.clock import Clock, SystemClock
from ferryml.data.versioning.diff import diff_versions
from ferryml.data.versioning.hashing import ColumnSpec, summarize
from ferryml.data.versioning.manifest import (
    manifest_problem,
    read_manifest,
    version_from_manifest,
    write_manifest,
)
from ferryml.data.versioning.model import (
    VERSION_CHARS,
    DatasetDiff,
    DatasetVersion,
    PublishResult,
    as_sequence,
    check_mapping,
    parse_ref,
    to_json,
    validate_dataset_name,
)
from ferryml.errors import DataError, InvalidInputError, StorageError
from ferryml.names import validate_project_name
from ferryml.storage.atomic import fsync_path
from ferryml.storage.db import transaction
from ferryml.storage.tables import datasets

STAGING_DIR = ".staging"
"""Under ``root``; dataset names start with a letter, so it never clashes with a dataset."""


class DatasetStore:
    """Publish, list, read and diff the dataset versions of ``project``, stored under ``root``."""

    def __init__(
        self, engine: Engine, project: str, root: Path, clock: Clock | None = None
    ) -> None:
        self._engine = engine
        self._project = validate_project_name(project)
        self._root = Path(root).absolute()
        self._clock: Clock = clock or SystemClock()

    @property
    def project(self) -> str:
        return self._project

    @property
    def root(self) -> Path:
        return self._root

    def new_staging_dir(self) -> Path:
        """A fresh empty directory under ``<root>/.staging``, on the same filesystem as root.

        Its name carries this process's id; staging directories of processes that no longer
        run (killed mid-ingest) are removed first, so a kill never leaves data behind for long.
        """
        staging = self._root / STAGING_DIR
        staging.mkdir(parents=True, exist_ok=True)
        _sweep_dead_staging(staging)
        return Path(tempfile.mkdtemp(prefix=f"staged-{os.getpid()}-", dir=staging))

    def publish(
        self,
        dataset: str,
        staged: Path,
        *,
        key_columns: Sequence[str],
        source: Mapping[str, Any],
        parents: Sequence[str] = (),
        validation: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> PublishResult:
        """Publish the flat directory of Parquet files ``staged`` as a version of ``dataset``.

        When the same content (same rows, schema and key columns) is already published, return
        that version with ``created=False`` and write nothing: the caller deletes ``staged``.
        Otherwise ``staged`` is moved (renamed) into the store and ``created`` is True.
        ``parents`` are ``dataset@version`` refs of this project's published versions.
        """
        validate_dataset_name(dataset)
        staged = Path(staged).absolute()
        source = check_mapping(source, "source")
        validation = None if validation is None else check_mapping(validation, "validation")
        extra = check_mapping({} if extra is None else extra, "extra")
        parent_refs = as_sequence(parents, "parents")
        for ref in parent_refs:
            parse_ref(ref)
        self._check_parents_exist(parent_refs)
        self._check_same_filesystem(staged)

        summary = summarize(staged, as_sequence(key_columns, "key_columns"))
        version_id = summary.content_hash[:VERSION_CHARS]
        if f"{dataset}@{version_id}" in parent_refs:
            raise InvalidInputError(f"{dataset}@{version_id} cannot be its own parent")
        target = self._root / dataset / version_id

        # Fast path, without the lock: already published and intact → write nothing.
        with transaction(self._engine, purpose="reading dataset versions") as conn:
            row = self._row(conn, dataset, version_id)
        if row is not None:
            self._check_collision(row, summary.content_hash)
            if manifest_problem(target, read_manifest(target), summary.content_hash) is None:
                return PublishResult(self._version(row), created=False)

        with transaction(
            self._engine,
            lock=f"datasets:{self._project}:{dataset}",
            purpose=f"publishing dataset {dataset!r} of project {self._project!r}",
        ) as conn:
            row = self._row(conn, dataset, version_id)
            manifest = read_manifest(target) if target.exists() else None
            problem = (
                manifest_problem(target, manifest, summary.content_hash)
                if target.exists()
                else None
            )
            if problem is not None:
                raise StorageError(
                    f"the version directory {target} exists but is not an intact snapshot: "
                    f"{problem}",
                    hint="it was changed outside ferryml; move it aside and publish again",
                )
            if row is not None:
                self._check_collision(row, summary.content_hash)
                existing = self._version(row)
                if target.exists():  # published by a concurrent call since the fast path
                    return PublishResult(existing, created=False)
                self._move_in(staged, target, existing)  # row without directory: restore it
                return PublishResult(existing, created=True, repaired=True)
            if manifest is not None:  # directory without row: a publish crashed before commit
                existing = version_from_manifest(manifest, target)
                conn.execute(insert(datasets).values(**self._row_values(existing)))
                return PublishResult(existing, created=False, repaired=True)
            version = DatasetVersion(
                dataset=dataset,
                version=version_id,
                content_hash=summary.content_hash,
                rows=summary.rows,
                schema=summary.schema,
                path=target,
                created_at=_utc(self._clock.now()),
                source=source,
                parents=parent_refs,
                validation=validation,
                key_columns=summary.key_columns,
                extra=extra,
            )
            self._move_in(staged, target, version)
            try:
                conn.execute(insert(datasets).values(**self._row_values(version)))
            except BaseException:
                # Hand the files back; should that fail, the next publish repairs the directory.
                with contextlib.suppress(OSError):
                    target.rename(staged)
                raise
            return PublishResult(version, created=True)

    def list(self, dataset: str | None = None) -> list[DatasetVersion]:
        """Every version of ``dataset`` (or of all datasets), by dataset, oldest first."""
        query = select(datasets).where(datasets.c.project == self._project)
        if dataset is not None:
            query = query.where(datasets.c.dataset == validate_dataset_name(dataset))
        query = query.order_by(datasets.c.dataset, datasets.c.created_at, datasets.c.id)
        with transaction(self._engine, purpose="listing dataset versions") as conn:
            return [self._version(row) for row in conn.execute(query)]

    def get(self, dataset: str, version: str) -> DatasetVersion:
        """The version ``version`` of ``dataset``; :class:`DataError` with suggestions if none."""
        validate_dataset_name(dataset)
        with transaction(self._engine, purpose="reading a dataset version") as conn:
            row = self._row(conn, dataset, version)
            if row is not None:
                return self._version(row)
            versions = list(
                conn.execute(
                    select(datasets.c.version).where(
                        datasets.c.project == self._project, datasets.c.dataset == dataset
                    )
                ).scalars()
            )
            names = [] if versions else self._dataset_names(conn)
        if not versions:
            close = difflib.get_close_matches(dataset, names, n=3)
            raise DataError(
                f"project {self._project!r} has no dataset {dataset!r}"
                + (f"; did you mean {' or '.join(map(repr, close))}?" if close else ""),
                hint=f"known datasets: {', '.join(names) or 'none yet'}; "
                "list them with `ferry data list`",
            )
        prefixed = [v for v in versions if isinstance(version, str) and v.startswith(version)]
        close = prefixed[:3] or difflib.get_close_matches(str(version), versions, n=3)
        raise DataError(
            f"dataset {dataset!r} of project {self._project!r} has no version {version!r}"
            + (f"; did you mean {' or '.join(map(repr, close))}?" if close else ""),
            hint=f"list its versions with `ferry data list {dataset}`",
        )

    def latest(self, dataset: str) -> DatasetVersion | None:
        """The most recently published version of ``dataset``, or ``None``."""
        query = (
            select(datasets)
            .where(
                datasets.c.project == self._project,
                datasets.c.dataset == validate_dataset_name(dataset),
            )
            .order_by(datasets.c.created_at.desc(), datasets.c.id.desc())
            .limit(1)
        )
        with transaction(self._engine, purpose="reading the latest dataset version") as conn:
            row = conn.execute(query).first()
        return None if row is None else self._version(row)

    def diff(self, dataset: str, a: str, b: str) -> DatasetDiff:
        """How version ``b`` of ``dataset`` differs from version ``a`` (see DatasetDiff)."""
        first, second = self.get(dataset, a), self.get(dataset, b)
        for version in (first, second):
            if not version.path.is_dir():
                raise DataError(
                    f"the files of {version.ref} are missing: {version.path} does not exist",
                    hint="publish the same content again to restore them",
                )
        return diff_versions(first, second, spill_dir=self._root)

    # --- internals -------------------------------------------------------------------------

    def _row(self, conn: Connection, dataset: str, version: str) -> Row[Any] | None:
        return conn.execute(
            select(datasets).where(
                datasets.c.project == self._project,
                datasets.c.dataset == dataset,
                datasets.c.version == version,
            )
        ).first()

    def _dataset_names(self, conn: Connection) -> builtins.list[str]:
        query = (
            select(datasets.c.dataset)
            .where(datasets.c.project == self._project)
            .distinct()
            .order_by(datasets.c.dataset)
        )
        return list(conn.execute(query).scalars())

    def _check_parents_exist(self, refs: Sequence[str]) -> None:
        for ref in refs:
            dataset, version = parse_ref(ref)
            try:
                self.get(dataset, version)
            except DataError as exc:
                raise DataError(
                    f"parent {ref} is not a published version: {exc.message}",
                    hint="publish the parent first; parents are versions of this project",
                ) from exc

    def _check_same_filesystem(self, staged: Path) -> None:
        if not staged.is_dir():
            raise InvalidInputError(
                f"staged dataset directory {staged} does not exist or is not a directory",
                hint="write the Parquet files into DatasetStore.new_staging_dir() first",
            )
        self._root.mkdir(parents=True, exist_ok=True)
        if staged.stat().st_dev != self._root.stat().st_dev:
            raise InvalidInputError(
                f"staged directory {staged} is on another filesystem than the dataset root "
                f"{self._root}; publishing moves it with an atomic rename, which needs one",
                hint="stage into DatasetStore.new_staging_dir() (under the root)",
            )

    def _check_collision(self, row: Row[Any], content_hash: str) -> None:
        if row.content_hash != content_hash:  # pragma: no cover - a 64-bit prefix collision
            raise StorageError(
                f"version id {row.version} of dataset {row.dataset!r} is taken by content "
                f"{row.content_hash}, not {content_hash}: a version-id collision",
                hint="report this; ferryml must then use longer version ids",
            )

    def _move_in(self, staged: Path, target: Path, version: DatasetVersion) -> None:
        # Not storage.atomic.atomic_directory: it deletes its temp dir on failure, and here that
        # directory is the caller's only copy of the data. A rename keeps or moves every file.
        try:
            write_manifest(staged, self._project, version)
            for path in staged.iterdir():
                fsync_path(path)
            fsync_path(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.rename(target)
            fsync_path(target.parent)
            fsync_path(target.parent.parent)
        except OSError as exc:
            raise StorageError(
                f"cannot move the staged dataset {staged} to {target}: {exc.strerror or exc}",
                hint="stage on the root's filesystem (DatasetStore.new_staging_dir()) and "
                "check that the root is writable",
            ) from exc

    def _row_values(self, version: DatasetVersion) -> dict[str, Any]:
        return {
            "project": self._project,
            "dataset": version.dataset,
            "version": version.version,
            "content_hash": version.content_hash,
            "rows": version.rows,
            "schema": to_json([dict(c) for c in version.schema], "schema"),
            "key_columns": to_json(list(version.key_columns), "key_columns"),
            "path": f"{version.dataset}/{version.version}",
            "source": to_json(version.source, "source"),
            "parents": to_json(list(version.parents), "parents"),
            "validation": None
            if version.validation is None
            else to_json(version.validation, "validation"),
            "extra": to_json(version.extra, "extra"),
            "created_at": version.created_at,
        }

    def _version(self, row: Row[Any]) -> DatasetVersion:
        return DatasetVersion(
            dataset=row.dataset,
            version=row.version,
            content_hash=row.content_hash,
            rows=row.rows,
            schema=tuple(
                ColumnSpec(name=c["name"], type=c["type"]) for c in json.loads(row.schema)
            ),
            path=self._root / row.path,
            created_at=_utc(row.created_at),
            source=json.loads(row.source),
            parents=tuple(json.loads(row.parents)),
            validation=None if row.validation is None else json.loads(row.validation),
            key_columns=tuple(json.loads(row.key_columns)),
            extra=json.loads(row.extra),
        )


def _sweep_dead_staging(staging: Path) -> None:
    for directory in staging.glob("staged-*-*"):
        pid = directory.name.split("-")[1]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _utc(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones.
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)
