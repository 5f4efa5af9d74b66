"""The interface every kind of store implements for GDPR work, and what it is given.

A store answers four questions about one subject (as a :class:`Footprint`), each cheap to
ask again: :meth:`SubjectStore.trace` (feed the footprint from the tables it holds),
:meth:`~SubjectStore.find` (where the subject still is), :meth:`~SubjectStore.erase` (remove
them; running it again after a crash finishes the job and finds nothing the second time) and
:meth:`~SubjectStore.export` (their rows, for a subject access request). Stores that keep
rows by time also take a :class:`RowSelection` in :meth:`~SubjectStore.expire` (retention).

Locations and counts never carry the subject's values: ``where`` names a file, a table or a
key pattern with the person's id masked, so dry runs and records can be shown and kept.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ferryml.governance.gdpr.footprint import Footprint, FootprintTracer
from ferryml.governance.gdpr.selection import RowSelection

if TYPE_CHECKING:
    import redis

    from ferryml.pipeline import ProjectContext

MASK = "<subject>"


@dataclass(frozen=True)
class Location:
    """Where a store holds some of the subject's data: ``items`` rows, keys or lines."""

    store: str
    where: str
    items: int


@dataclass(frozen=True)
class Erased:
    """What one erase (or expire) call changed in one store."""

    store: str
    items: int = 0
    """Rows, lines, keys or set members removed (or anonymized)."""
    places: int = 0
    """Files rewritten, tables changed, keys deleted or trimmed."""
    pending: tuple[str, ...] = ()
    """What could not be done now, and why (a later run finishes it)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Store-specific facts safe to record (e.g. old → new dataset versions)."""


@dataclass
class Scope:
    """A project as the stores see it: its context, and an id for what is being done."""

    context: ProjectContext
    operation_id: str
    """The erasure (or retention run) id, written into the lineage of rewritten data."""

    @property
    def root(self) -> Path:
        return self.context.workspace.root

    @property
    def project(self) -> str:
        return self.context.workspace.project

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    _clients: dict[str, redis.Redis] = field(default_factory=dict, repr=False)

    def redis(self, url: str | None = None) -> redis.Redis:
        """A client of the Redis at ``url`` (default: ``storage.redis_url``), opened once."""
        from ferryml.storage.keyspace import connect_redis

        url = url or self.context.loaded.config.storage.redis_url
        if url not in self._clients:
            self._clients[url] = connect_redis(url)
        return self._clients[url]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


class SubjectStore(ABC):
    """One kind of store: where it finds, erases and exports a subject's data."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def trace(self, tracer: FootprintTracer) -> None:  # noqa: B027 - most stores hold no source
        """Feed ``tracer`` the tables of this store that hold subject columns."""

    @abstractmethod
    def find(self, footprint: Footprint) -> list[Location]:
        """Where this store still holds the subject's data."""

    @abstractmethod
    def erase(self, footprint: Footprint) -> Erased:
        """Remove the subject's data from this store."""

    def export(self, footprint: Footprint) -> list[dict[str, Any]]:
        """The subject's rows in this store, JSON-able (for a subject access request)."""
        return []

    def expire(self, selection: RowSelection, dataset: str | None) -> Erased:
        """Apply a retention ``selection`` to this store's rows of ``dataset`` (None: the
        prediction log); stores that keep no rows by time change nothing."""
        return Erased(self.name)

    def expired(self, selection: RowSelection, dataset: str | None) -> list[Location]:
        """What :meth:`expire` would change (a dry run)."""
        return []


__all__ = ["MASK", "Erased", "Location", "Scope", "SubjectStore"]
