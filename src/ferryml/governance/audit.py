"""The audit trail: an append-only, hash-chained log of who did what, per project.

Each entry stores the sha256 of its own content plus the hash of the entry before it, so editing,
deleting or reordering any entry breaks the chain at that entry, and :meth:`AuditTrail.verify`
names it::

    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> from ferryml.clock import ManualClock
    >>> from ferryml.storage import make_engine, upgrade
    >>> engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/ferryml.db")
    >>> _ = upgrade(engine)
    >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> trail = AuditTrail(engine, "fraud", clock=clock)
    >>> trail.append("user:ana", "model.promote", "fraud-lgbm/3", {"alias": "champion"}).seq
    1
    >>> trail.verify()
    1

The hash covers the canonical JSON (sorted keys, no whitespace, ASCII) of project, seq,
ts (UTC ISO 8601 with microseconds), actor, action, object, details and prev_hash; the first
entry's prev_hash is :data:`GENESIS_HASH`. Anyone can recompute it with :func:`entry_hash`.

What the chain cannot show on its own: removal of the newest entries (truncation) and a
rewrite of the whole chain from some entry on. Anchor :meth:`AuditTrail.head` elsewhere (a
model card, a release note) to detect those.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import Engine, Row, func, insert, select

from ferryml.clock import Clock, SystemClock
from ferryml.errors import AuditChainBrokenError, InvalidInputError, StorageError
from ferryml.names import validate_project_name
from ferryml.storage.db import transaction
from ferryml.storage.tables import audit_log

GENESIS_HASH = "0" * 64
"""The prev_hash of every project's first entry."""

_VERIFY_BATCH = 1_000


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


def canonical_json(value: Any) -> str:
    """The one serialization that is hashed: sorted keys, no spaces, ASCII only.

    ASCII (``\\uXXXX`` escapes) makes the hashed bytes independent of any text encoding.

    >>> canonical_json({"b": [1, 2.5], "a": "ü"})
    '{"a":"\\\\u00fc","b":[1,2.5]}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class _ChainedFields(TypedDict):
    """The fields of an entry that are both hashed and stored as they are."""

    project: str
    seq: int
    ts: datetime
    actor: str
    action: str
    object: str
    prev_hash: str


def entry_hash(
    *,
    project: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The sha256 (hex) of an entry's content, linked to its predecessor by ``prev_hash``."""
    payload = {
        "project": project,
        "seq": seq,
        "ts": format_ts(ts),
        "actor": actor,
        "action": action,
        "object": object,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


def format_ts(ts: datetime) -> str:
    """``ts`` in UTC, ISO 8601 with microseconds: ``2026-01-01T00:00:00.000000+00:00``."""
    if ts.tzinfo is None:
        raise StorageError(f"audit timestamps must be timezone-aware, got naive {ts.isoformat()}")
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


class AuditTrail:
    """The audit trail of one project in the platform DB (migrated with ``upgrade``).

    Appends from any number of threads and processes form one chain: each append holds the
    project's write lock while it reads the chain's head and inserts after it.
    """

    def __init__(self, engine: Engine, project: str, clock: Clock | None = None) -> None:
        self._engine = engine
        self._project = validate_project_name(project)
        self._clock: Clock = clock or SystemClock()

    @property
    def project(self) -> str:
        return self._project

    def append(
        self,
        actor: str,
        action: str,
        object: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Record that ``actor`` did ``action`` to ``object``; return the stored entry.

        ``details`` must be JSON: str keys; str, int, finite float, bool, None, lists and dicts.
        """
        for name, value in (("actor", actor), ("action", action), ("object", object)):
            _check_text(name, value)
        details = {} if details is None else details
        if not isinstance(details, Mapping):
            raise StorageError(
                f"audit details must be a mapping (a JSON object). Got {type(details).__name__}."
            )
        _check_json(details, "details")
        details_text = canonical_json(details)
        stored_details: dict[str, Any] = json.loads(details_text)  # tuples → lists, as verified
        with transaction(
            self._engine,
            lock=f"audit:{self._project}",
            purpose=f"appending to the audit trail of project {self._project!r}",
        ) as conn:
            head = conn.execute(
                select(audit_log.c.seq, audit_log.c.hash)
                .where(audit_log.c.project == self._project)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).first()
            seq, prev_hash = (head.seq + 1, head.hash) if head is not None else (1, GENESIS_HASH)
            # Read the clock under the lock, so that timestamps follow the chain's order.
            ts = self._clock.now()
            if ts.tzinfo is None:
                raise StorageError(
                    f"the audit clock returned a naive datetime ({ts.isoformat()})",
                    hint="clocks must return timezone-aware UTC times, as ferryml.clock's do",
                )
            ts = ts.astimezone(UTC)
            # One set of fields feeds both the hash and the row, so the two cannot drift apart.
            fields: _ChainedFields = {
                "project": self._project,
                "seq": seq,
                "ts": ts,
                "actor": actor,
                "action": action,
                "object": object,
                "prev_hash": prev_hash,
            }
            digest = entry_hash(**fields, details=stored_details)
            result = conn.execute(
                insert(audit_log).values(**fields, details=details_text, hash=digest)
            )
            (entry_id,) = result.inserted_primary_key or (None,)
        if not isinstance(entry_id, int):  # pragma: no cover - both backends return the id
            raise StorageError("the database did not return the new audit entry's id")
        return AuditEntry(
            entry_id,
            self._project,
            seq,
            ts,
            actor,
            action,
            object,
            stored_details,
            prev_hash,
            digest,
        )

    def entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries with ``seq > after``, oldest first, at most ``limit`` of them."""
        if limit is not None and limit < 1:
            raise InvalidInputError(f"limit must be a positive int or None. Got {limit!r} instead.")
        query = (
            select(audit_log)
            .where(audit_log.c.project == self._project, audit_log.c.seq > after)
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        with transaction(self._engine, purpose="reading the audit trail") as conn:
            return [_entry(row) for row in conn.execute(query)]

    def head(self) -> AuditEntry | None:
        """The newest entry, or ``None`` for an empty trail."""
        query = (
            select(audit_log)
            .where(audit_log.c.project == self._project)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        )
        with transaction(self._engine, purpose="reading the audit trail") as conn:
            row = conn.execute(query).first()
        return None if row is None else _entry(row)

    def verify(self) -> int:
        """Recompute the whole chain; return how many entries verified.

        Raises :class:`AuditChainBrokenError` naming the first bad entry's id and what is wrong
        with it: a gap in seq (deleted entries), edited content, a moved entry, a broken link.
        """
        expected_seq, prev_hash, prev_id = 1, GENESIS_HASH, None
        query = (
            select(audit_log)
            .where(audit_log.c.project == self._project)
            .order_by(audit_log.c.seq)
            .execution_options(yield_per=_VERIFY_BATCH)
        )
        # Close the result before raising: with yield_per PostgreSQL streams through a server-side
        # cursor, which must not outlive its transaction.
        with (
            transaction(self._engine, purpose="verifying the audit trail") as conn,
            conn.execute(query) as rows,
        ):
            for row in rows:
                problem = _check_row(row, expected_seq, prev_hash, prev_id)
                if problem is not None:
                    if problem.startswith("its content does not match"):
                        problem = _diagnose_move(conn, row) or problem
                    raise AuditChainBrokenError(
                        f"audit trail of project {self._project!r} is broken at entry id "
                        f"{row.id} (seq {row.seq}): {problem}",
                        entry_id=row.id,
                    )
                expected_seq, prev_hash, prev_id = expected_seq + 1, row.hash, row.id
        return expected_seq - 1


def _check_row(row: Row[Any], expected_seq: int, prev_hash: str, prev_id: int | None) -> str | None:
    """What is wrong with ``row`` at chain position ``expected_seq``, or ``None``."""
    after = f"entry id {prev_id}" if prev_id is not None else "the start of the chain"
    if row.seq != expected_seq:
        return (
            f"gap in seq: expected seq {expected_seq} after {after}, found {row.seq}; "
            "entries were deleted or their seq edited"
        )
    try:
        details = json.loads(row.details)
    except ValueError:
        return "its details are not valid JSON: they were edited"
    if not isinstance(details, dict) or canonical_json(details) != row.details:
        return "its details are not the canonical JSON ferryml writes: they were edited"
    recomputed = entry_hash(
        project=row.project,
        seq=row.seq,
        ts=_utc(row.ts),
        actor=row.actor,
        action=row.action,
        object=row.object,
        details=details,
        prev_hash=row.prev_hash,
    )
    if recomputed != row.hash:
        return (
            "its content does not match its hash: ts, actor, action, object, details, "
            "prev_hash or the hash itself was edited"
        )
    if row.prev_hash != prev_hash:
        return (
            f"broken link: its prev_hash is not the hash of {after} before it; "
            "that entry was edited and re-hashed, or this one was inserted"
        )
    return None


def _diagnose_move(conn: Any, row: Row[Any]) -> str | None:
    """If ``row`` verifies under the seq its id implies, it was moved: say so."""
    # Ids grow with seq in an untouched chain (appends are serialized), so the row's rank by id
    # is where it was written. Only a diagnosis: verification itself never trusts ids.
    rank = conn.execute(
        select(func.count())
        .select_from(audit_log)
        .where(audit_log.c.project == row.project, audit_log.c.id <= row.id)
    ).scalar_one()
    if rank == row.seq:
        return None
    original = entry_hash(
        project=row.project,
        seq=rank,
        ts=_utc(row.ts),
        actor=row.actor,
        action=row.action,
        object=row.object,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
    )
    if original != row.hash:
        return None
    return f"reordered: it was written as seq {rank} and now carries seq {row.seq}"


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        project=row.project,
        seq=row.seq,
        ts=_utc(row.ts),
        actor=row.actor,
        action=row.action,
        object=row.object,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _utc(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones in the session's
    # time zone. Both become aware UTC, so hashes recompute to the same bytes.
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"audit {name} must be a non-empty string. Got {value!r} instead.")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise InvalidInputError(f"audit {name} must not contain NUL characters. Got {value!r}.")


def _check_json(value: object, path: str, _seen: frozenset[int] = frozenset()) -> None:
    """Raise naming the exact key (``details['a'][0]``) that JSON cannot represent."""
    hint = "pass str, int, finite float, bool, None, lists and dicts with str keys only"
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(
                f"audit {path} is {value!r}; JSON has no NaN or Infinity", hint=hint
            )
        return
    if id(value) in _seen:
        raise InvalidInputError(f"audit {path} refers back to itself (a cycle)", hint=hint)
    seen = _seen | {id(value)}
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"audit {path} has the key {key!r} of type {type(key).__name__}; "
                    "JSON keys are strings",
                    hint=hint,
                )
            _check_json(item, f"{path}[{key!r}]", seen)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]", seen)
        return
    raise InvalidInputError(
        f"audit {path} is a {type(value).__name__} ({value!r:.80}), which is not JSON-serializable",
        hint=hint + "; e.g. str(value) or value.isoformat()",
    )


__all__ = ["GENESIS_HASH", "AuditEntry", "AuditTrail", "canonical_json", "entry_hash", "format_ts"]
