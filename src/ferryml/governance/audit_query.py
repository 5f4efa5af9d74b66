"""Reading the trail: entries as objects, and the filters of ``ferry audit show`` in SQL.

A text filter is exact unless it holds ``*`` (any run of characters) or ``?`` (one
character): ``--object 'fraud/*'`` matches every version of the model ``fraud``. Matching is
case-sensitive on SQLite (``GLOB``) and PostgreSQL (``LIKE``) alike::

    >>> like_pattern("fraud/*_v?")
    'fraud/%\\\\_v_'
    >>> parse_time_bound("2026-03-01", "--since").isoformat()
    '2026-03-01T00:00:00+00:00'
    >>> parse_time_bound("2026-03-01T12:30+02:00", "--until").isoformat()
    '2026-03-01T10:30:00+00:00'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row

from ferryml.errors import InvalidInputError
from ferryml.governance.audit_format import SCHEME_KEYED, format_ts, utc
from ferryml.storage.tables import audit_log

WILDCARDS = frozenset("*?")


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the trail, as stored."""

    id: int
    project: str
    seq: int
    ts: datetime
    actor: str
    action: str
    object: str
    details: Mapping[str, Any] = field(hash=False)
    prev_hash: str
    hash: str
    scheme: str = SCHEME_KEYED

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for ``ferry audit show --json``."""
        return {
            "id": self.id,
            "seq": self.seq,
            "ts": format_ts(self.ts),
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "scheme": self.scheme,
        }


def entry_from_row(row: Row[Any]) -> AuditEntry:
    """An ``audit_log`` row as an entry (its columns; verification checks them)."""
    return AuditEntry(
        id=row.id,
        project=row.project,
        seq=row.seq,
        ts=utc(row.ts),
        actor=row.actor,
        action=row.action,
        object=row.object,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
        scheme=row.scheme,
    )


def filters(
    dialect: str,
    *,
    object: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The SQL conditions for the filters given: text exact or globbed, ``since`` included,
    ``until`` excluded (both timezone-aware)."""
    where = []
    texts = ((audit_log.c.object, object), (audit_log.c.actor, actor), (audit_log.c.action, action))
    for column, text in texts:
        if text is not None:
            where.append(match(column, text, dialect))
    if since is not None:
        where.append(audit_log.c.ts >= _aware(since, "since"))
    if until is not None:
        where.append(audit_log.c.ts < _aware(until, "until"))
    return where


def check_limit(limit: int | None) -> None:
    """``limit`` is a positive int or None."""
    if limit is not None and limit < 1:
        raise InvalidInputError(f"limit must be a positive int or None. Got {limit!r} instead.")


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInputError(f"{name} must be timezone-aware. Got {value.isoformat()}.")
    # SQLite keeps the wall-clock fields only: compare in UTC, as the entries are stored.
    return value.astimezone(UTC)


def is_pattern(text: str) -> bool:
    """Whether ``text`` holds a wildcard (``*`` or ``?``)."""
    return any(char in WILDCARDS for char in text)


def like_pattern(glob: str) -> str:
    """``glob`` as a SQL LIKE pattern with ``\\`` as its escape character."""
    out = []
    for char in glob:
        if char in "\\%_":
            out.append("\\" + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


def sqlite_glob(glob: str) -> str:
    """``glob`` for SQLite's ``GLOB``: only ``*`` and ``?`` are wildcards (``[`` is literal)."""
    return glob.replace("[", "[[]")


def match(column: Any, text: str, dialect: str) -> ColumnElement[bool]:
    """``column`` equal to ``text``, or matching it when it holds a wildcard."""
    if not is_pattern(text):
        result: ColumnElement[bool] = column == text
        return result
    if dialect == "sqlite":
        # SQLite's LIKE ignores the case of ASCII letters; GLOB does not, as PostgreSQL's LIKE.
        globbed: ColumnElement[bool] = column.op("GLOB", is_comparison=True)(sqlite_glob(text))
        return globbed
    liked: ColumnElement[bool] = column.like(like_pattern(text), escape="\\")
    return liked


def parse_time_bound(text: str, option: str) -> datetime:
    """An ISO 8601 date or date-time as aware UTC; a time without an offset is UTC.

    A bad value is an :class:`~ferryml.errors.InvalidInputError` naming ``option``.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInputError(
            f"{option} {text!r} is not an ISO 8601 date or time",
            hint="use e.g. 2026-03-01, 2026-03-01T12:00, 2026-03-01T12:00:00Z or "
            "2026-03-01T12:00:00+02:00 (without an offset the time is UTC)",
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


__all__ = [
    "AuditEntry",
    "check_limit",
    "entry_from_row",
    "filters",
    "is_pattern",
    "like_pattern",
    "match",
    "parse_time_bound",
    "sqlite_glob",
]
