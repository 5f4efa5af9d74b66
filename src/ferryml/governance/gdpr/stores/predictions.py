"""The prediction log: local segment files, and the ``predictions`` table they ship to.

A record is the subject's when one of the footprint's values stands in it as a JSON string
(the request's customer id, card id or transaction id). Segments are rewritten without those
lines and their ``.offset`` (bytes already shipped) lowered by the shipped bytes removed, under
the segment's ``.lock`` (the shipper's lock): a shipper never reads a half-rewritten segment.
A segment still written by a running server cannot be rewritten under it (its writes would go
to the replaced file): it is left for a later run and reported as pending.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ColumnElement, delete, func, or_, select

from ferryml.governance.gdpr.footprint import Footprint, FootprintTracer
from ferryml.governance.gdpr.selection import OlderThan, RowSelection
from ferryml.governance.gdpr.stores.base import Erased, Location, SubjectStore
from ferryml.serving.predlog import SEGMENT_GLOB, segment_lock
from ferryml.storage.atomic import atomic_write_bytes, atomic_write_text
from ferryml.storage.db import transaction
from ferryml.storage.tables import labels, predictions


class PredictionLog(SubjectStore):
    """Segments under ``serving.prediction_log.directory`` and the ``predictions`` table."""

    name = "predictions"
    description = "prediction log: local segments and the predictions table"

    @property
    def directory(self) -> Path:
        return self.scope.root / self.scope.context.loaded.config.serving.prediction_log.directory

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob(SEGMENT_GLOB)) if self.directory.is_dir() else []

    def trace(self, tracer: FootprintTracer) -> None:
        """Event ids of the subject's requests (live traffic may hold events no dataset has)."""
        tokens = tuple(orjson.dumps(v) for v in sorted(tracer.subject.values))
        for segment in self.segments():
            for line in segment.read_bytes().splitlines():
                if any(t in line for t in tokens):
                    tracer.add_event_ids([_event_id(line)])
        clause = _record_like(tracer.subject.values)
        for event_id in self._column(predictions.c.event_id, clause):
            tracer.add_event_ids([event_id])

    def find(self, footprint: Footprint) -> list[Location]:
        selection = footprint.selection()
        found = []
        for segment in self.segments():
            lines = segment.read_bytes().splitlines()
            if count := sum(1 for line in lines if selection.selects_record(line)):
                found.append(Location(self.name, self.scope.relative(segment), count))
        if count := self._count(self._clause(footprint)):
            found.append(Location(self.name, "table predictions", count))
        return found

    def erase(self, footprint: Footprint) -> Erased:
        return self._rewrite(footprint.selection(), self._clause(footprint))

    def expire(self, selection: RowSelection, dataset: str | None) -> Erased:
        if dataset is not None or not isinstance(selection, OlderThan):
            return Erased(self.name)
        return self._rewrite(selection, predictions.c.ts < selection.cutoff)

    def expired(self, selection: RowSelection, dataset: str | None) -> list[Location]:
        if dataset is not None or not isinstance(selection, OlderThan):
            return []
        found = []
        for segment in self.segments():
            lines = segment.read_bytes().splitlines()
            if count := sum(1 for line in lines if selection.selects_record(line)):
                found.append(Location(self.name, self.scope.relative(segment), count))
        if count := self._count(predictions.c.ts < selection.cutoff):
            found.append(Location(self.name, "table predictions", count))
        return found

    def export(self, footprint: Footprint) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for text in self._column(predictions.c.record, self._clause(footprint)):
            record = orjson.loads(text)
            seen[record.get("request_id", text)] = record
        selection = footprint.selection()
        for segment in self.segments():
            for line in segment.read_bytes().splitlines():
                if selection.selects_record(line):
                    record = orjson.loads(line)
                    seen.setdefault(record.get("request_id", line.decode()), record)
        return list(seen.values())

    def _rewrite(self, selection: RowSelection, clause: ColumnElement[bool] | None) -> Erased:
        items = places = 0
        pending = []
        for segment in self.segments():
            result = _rewrite_segment(segment, selection)
            if result is None:
                pending.append(
                    f"{self.scope.relative(segment)}: written by a running server (pid "
                    f"{_pid(segment)}); stop it, or run again once the segment is shipped"
                )
            elif result:
                items += result
                places += 1
        if clause is not None:
            with transaction(self.scope.context.engine, purpose="GDPR: delete predictions") as conn:
                deleted = conn.execute(delete(predictions).where(self._project(), clause)).rowcount
            if deleted:
                items += deleted
                places += 1
        return Erased(self.name, items, places, tuple(pending))

    def _clause(self, footprint: Footprint) -> ColumnElement[bool] | None:
        linked = {v for values in footprint.linked.values() for v in values}
        clauses = []
        like = _record_like(footprint.subject.values | linked)
        if like is not None:
            clauses.append(like)
        if footprint.event_ids:
            clauses.append(predictions.c.event_id.in_(sorted(footprint.event_ids)))
        return or_(*clauses) if clauses else None

    def _project(self) -> ColumnElement[bool]:
        return predictions.c.project == self.scope.project

    def _count(self, clause: ColumnElement[bool] | None) -> int:
        if clause is None:
            return 0
        query = select(func.count()).select_from(predictions).where(self._project(), clause)
        with transaction(self.scope.context.engine, purpose="GDPR: count predictions") as conn:
            return int(conn.execute(query).scalar_one())

    def _column(self, column: Any, clause: ColumnElement[bool] | None) -> list[Any]:
        if clause is None:
            return []
        query = select(column).where(self._project(), clause)
        with transaction(self.scope.context.engine, purpose="GDPR: read predictions") as conn:
            return [value for value in conn.execute(query).scalars() if value is not None]


class Labels(SubjectStore):
    """Delayed labels (chargebacks) of the subject's events, by event id."""

    name = "labels"
    description = "labels of the subject's events"

    def find(self, footprint: Footprint) -> list[Location]:
        if not footprint.event_ids:
            return []
        query = select(func.count()).select_from(labels).where(*self._where(footprint))
        with transaction(self.scope.context.engine, purpose="GDPR: count labels") as conn:
            count = int(conn.execute(query).scalar_one())
        return [Location(self.name, "table labels", count)] if count else []

    def erase(self, footprint: Footprint) -> Erased:
        if not footprint.event_ids:
            return Erased(self.name)
        return self._delete(*self._where(footprint))

    def expire(self, selection: RowSelection, dataset: str | None) -> Erased:
        if dataset is not None or not isinstance(selection, OlderThan):
            return Erased(self.name)
        return self._delete(
            labels.c.project == self.scope.project, labels.c.received_at < selection.cutoff
        )

    def expired(self, selection: RowSelection, dataset: str | None) -> list[Location]:
        if dataset is not None or not isinstance(selection, OlderThan):
            return []
        query = (
            select(func.count())
            .select_from(labels)
            .where(labels.c.project == self.scope.project, labels.c.received_at < selection.cutoff)
        )
        with transaction(self.scope.context.engine, purpose="GDPR: count labels") as conn:
            count = int(conn.execute(query).scalar_one())
        return [Location(self.name, "table labels", count)] if count else []

    def export(self, footprint: Footprint) -> list[dict[str, Any]]:
        if not footprint.event_ids:
            return []
        query = select(
            labels.c.event_id,
            labels.c.label,
            labels.c.label_time,
            labels.c.received_at,
            labels.c.source,
        ).where(*self._where(footprint))
        with transaction(self.scope.context.engine, purpose="GDPR: read labels") as conn:
            return [
                {
                    k: v.isoformat() if isinstance(v, datetime) else v
                    for k, v in row._mapping.items()
                }
                for row in conn.execute(query)
            ]

    def _where(self, footprint: Footprint) -> tuple[ColumnElement[bool], ...]:
        return (
            labels.c.project == self.scope.project,
            labels.c.event_id.in_(sorted(footprint.event_ids)),
        )

    def _delete(self, *where: ColumnElement[bool]) -> Erased:
        with transaction(self.scope.context.engine, purpose="GDPR: delete labels") as conn:
            deleted = conn.execute(delete(labels).where(*where)).rowcount
        return Erased(self.name, deleted, 1 if deleted else 0)


def _rewrite_segment(segment: Path, selection: RowSelection) -> int | None:
    """Rewrite one segment without the selected lines; None when its writer still runs or a
    shipper holds it (nothing changed)."""
    if _writer_running(segment):
        return None
    with segment_lock(segment) as mine:
        if not mine:
            return None
        data = segment.read_bytes()
        offset_file = segment.with_suffix(".offset")
        offset = int(offset_file.read_text()) if offset_file.exists() else 0
        kept = bytearray()
        removed = shipped_removed = position = 0
        for line in data.splitlines(keepends=True):
            complete = line.endswith(b"\n")
            if complete and selection.selects_record(line):
                removed += 1
                if position + len(line) <= offset:
                    shipped_removed += len(line)
            else:
                kept += line
            position += len(line)
        if not removed:
            return 0
        atomic_write_bytes(segment, bytes(kept))
        if offset_file.exists():
            atomic_write_text(offset_file, str(offset - shipped_removed))
        return removed


def _record_like(values: frozenset[str] | set[str]) -> ColumnElement[bool] | None:
    if not values:
        return None
    return or_(
        *(
            predictions.c.record.like(f"%{_escape(orjson.dumps(v).decode())}%", escape="\\")
            for v in sorted(values)
        )
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _event_id(line: bytes) -> str:
    try:
        value = orjson.loads(line).get("event_id")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _pid(segment: Path) -> int | None:
    try:
        return int(segment.name.split("-")[1])
    except (IndexError, ValueError):
        return None


def _writer_running(segment: Path) -> bool:
    """Whether another process that may still append to ``segment`` runs. This process writes
    no segment while it erases, so its own pid (an in-process server, closed) is not one."""
    pid = _pid(segment)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["Labels", "PredictionLog"]
