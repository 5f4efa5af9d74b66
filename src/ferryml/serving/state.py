"""State every serving worker follows, in the platform DB: one versioned JSON value per name.

A worker never keeps a decision in its own memory only: an admin call that reaches one worker
writes here, and every worker reads it within its follow interval. Each write bumps the
name's revision, so a reader knows in one cheap query whether anything changed::

    state = SharedState(engine, "fraud")
    state.write("pin", {"version": "3"}, actor="admin")
    state.read("pin")        # (1, {"version": "3"})
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from ferryml.storage.db import transaction
from ferryml.storage.tables import serving_state


class SharedState:
    """The ``serving_state`` rows of one project."""

    def __init__(self, engine: Engine, project: str) -> None:
        self.engine = engine
        self.project = project

    def read(self, name: str) -> tuple[int, Any]:
        """``(revision, value)``; ``(0, None)`` for a name never written."""
        revision, value, _ = self.read_dated(name)
        return revision, value

    def read_dated(self, name: str) -> tuple[int, Any, datetime | None]:
        """``(revision, value, when it was written)``; ``(0, None, None)`` if never."""
        with transaction(self.engine, purpose=f"read serving state {name!r}") as conn:
            row = conn.execute(
                select(
                    serving_state.c.revision, serving_state.c.value, serving_state.c.updated_at
                ).where(serving_state.c.project == self.project, serving_state.c.name == name)
            ).first()
        if row is None:
            return 0, None, None
        when = row.updated_at
        if when is not None and when.tzinfo is None:  # SQLite keeps no zone: it was UTC
            when = when.replace(tzinfo=UTC)
        return int(row.revision), json.loads(row.value), when

    def write_if(self, name: str, value: Any, revision: int, *, actor: str) -> int:
        """Set ``name`` only if it is still at ``revision`` (compare-and-set); returns the new
        revision, or 0 when someone else changed it first."""
        with self._writing(name) as conn:
            return self._update(conn, name, value, actor, revision=revision)

    def write(self, name: str, value: Any, *, actor: str) -> int:
        """Set ``name`` to ``value`` (JSON-able); returns the new revision."""
        with self._writing(name) as conn:
            revision = self._update(conn, name, value, actor)
            if revision:
                return revision
            conn.execute(
                insert(serving_state).values(
                    project=self.project,
                    name=name,
                    value=json.dumps(value, sort_keys=True),
                    revision=1,
                    updated_at=datetime.now(UTC),
                    updated_by=actor,
                )
            )
            return 1

    def _writing(self, name: str) -> AbstractContextManager[Connection]:
        return transaction(
            self.engine, lock=f"serving_state:{self.project}", purpose=f"write {name!r}"
        )

    def _update(
        self, conn: Connection, name: str, value: Any, actor: str, *, revision: int | None = None
    ) -> int:
        """Bump ``name`` (only from ``revision`` when given); the new revision, 0 if none."""
        where = [serving_state.c.project == self.project, serving_state.c.name == name]
        if revision is not None:
            where.append(serving_state.c.revision == revision)
        updated = conn.execute(
            update(serving_state)
            .where(*where)
            .values(
                value=json.dumps(value, sort_keys=True),
                revision=serving_state.c.revision + 1,
                updated_at=datetime.now(UTC),
                updated_by=actor,
            )
            .returning(serving_state.c.revision)
        ).first()
        return int(updated.revision) if updated is not None else 0


__all__ = ["SharedState"]
