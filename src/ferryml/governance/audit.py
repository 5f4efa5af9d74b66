"""The audit trail: an append-only, keyed, chained log of who did what, per project.

Each entry is the canonical JSON of its fields (project, seq, ts, actor, action, object,
details, prev_hash, scheme, key_id), stored as that exact text; its ``hash`` is the
HMAC-SHA256 of the text under the project's audit key, and the next entry's ``prev_hash``
(see :mod:`ferryml.governance.audit_format`). Editing, deleting or reordering an entry breaks
the chain at that entry, a rewrite of the whole chain without the key fails at its first
entry, and the head kept outside the database (:mod:`ferryml.governance.audit_checkpoint`)
reveals a deleted tail. :meth:`AuditTrail.verify` names the first bad entry::

    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> from pathlib import Path
    >>> from ferryml.clock import ManualClock
    >>> from ferryml.governance.audit_checkpoint import FileCheckpoint
    >>> from ferryml.storage import make_engine, upgrade
    >>> root = Path(tempfile.mkdtemp())
    >>> engine = make_engine(f"sqlite:///{root}/ferryml.db")
    >>> _ = upgrade(engine)
    >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> trail = AuditTrail(
    ...     engine, "fraud", clock=clock, key=b"0123456789abcdef",
    ...     checkpoints=[FileCheckpoint(root / ".ferryml-audit-head.json")],
    ... )
    >>> trail.append("user:ana", "model.promote", "fraud/3", {"alias": "champion"}).seq
    1
    >>> trail.verify()
    1

Workspaces from before the key (schema 0004 and older) keep their entries: revision 0005 marks
them ``scheme = 'sha256'`` instead of re-keying them, because a migration runs without the key
(``upgrade`` may run in a serving worker that never reads it). The first append with the key
checks those entries under sha256 and closes them with an ``audit.seal`` entry, whose signed
``prev_hash`` pins the unkeyed prefix; unkeyed entries anywhere else fail verification.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, Engine, exists, insert, select

from ferryml.clock import Clock, SystemClock
from ferryml.errors import AuditChainBrokenError, FerryError, StorageError
from ferryml.governance.audit_check import Verification, check_chain, raise_if_broken
from ferryml.governance.audit_checkpoint import Head, HeadCheckpoint
from ferryml.governance.audit_format import (
    GENESIS_HASH,
    SCHEME_KEYED,
    SCHEME_LEGACY,
    SEAL_ACTION,
    canonical_json,
    check_json,
    check_text,
    entry_hash,
    entry_mac,
    format_ts,
    key_id,
    signed_entry,
)
from ferryml.governance.audit_query import AuditEntry, check_limit, entry_from_row, filters
from ferryml.governance.audit_verify import ChainWalker
from ferryml.names import validate_project_name
from ferryml.storage.db import transaction
from ferryml.storage.tables import audit_log

log = logging.getLogger(__name__)


class _ChainedFields(TypedDict):
    """The fields of an entry that are both signed and stored as they are."""

    project: str
    seq: int
    ts: datetime
    actor: str
    action: str
    object: str
    prev_hash: str


class AuditTrail:
    """The audit trail of one project in the platform DB (migrated with ``upgrade``).

    Appends from any number of threads and processes form one chain: each append holds the
    project's write lock while it reads the chain's head and inserts after it. ``key`` is the
    audit key or a loader called when it is first needed; ``checkpoints`` keep the head outside
    the DB; ``before_first_append`` runs once, before this trail's first append (the project
    records its config there).
    """

    def __init__(
        self,
        engine: Engine,
        project: str,
        clock: Clock | None = None,
        *,
        key: bytes | Callable[[], bytes],
        checkpoints: Sequence[HeadCheckpoint] = (),
        before_first_append: Callable[[AuditTrail], object] | None = None,
    ) -> None:
        self._engine = engine
        self._project = validate_project_name(project)
        self._clock: Clock = clock or SystemClock()
        self._key_source: Callable[[], bytes] = key if callable(key) else (lambda: key)
        self._key: bytes | None = None
        self.checkpoints = tuple(checkpoints)
        self._before_first_append = before_first_append
        self._lock = threading.Lock()
        self._known_head: Head | None = None
        """The newest head this trail appended or verified: what :meth:`flush` writes."""

    @property
    def project(self) -> str:
        return self._project

    def key(self) -> bytes:
        """The audit key (loaded on first use)."""
        if self._key is None:
            self._key = self._key_source()
        return self._key

    def append(
        self,
        actor: str,
        action: str,
        object: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Record that ``actor`` did ``action`` to ``object``; return the stored entry.

        ``details`` must be JSON: str keys; str, int, finite float, bool, None, lists and dicts.
        Keep personal data out of them: pseudonyms only.
        """
        for name, value in (("actor", actor), ("action", action), ("object", object)):
            check_text(name, value)
        details = {} if details is None else details
        if not isinstance(details, Mapping):
            raise StorageError(
                f"audit details must be a mapping (a JSON object). Got {type(details).__name__}."
            )
        check_json(details, "details")
        stored_details: dict[str, Any] = json.loads(canonical_json(details))  # tuples → lists
        with self._lock:
            hook, self._before_first_append = self._before_first_append, None
        if hook is not None:
            hook(self)
        key = self.key()
        with transaction(
            self._engine,
            lock=f"audit:{self._project}",
            purpose=f"appending to the audit trail of project {self._project!r}",
        ) as conn:
            head = conn.execute(
                select(audit_log.c.seq, audit_log.c.hash, audit_log.c.scheme)
                .where(audit_log.c.project == self._project)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).first()
            # Read the clock under the lock, so that timestamps follow the chain's order.
            ts = self._now()
            seq, prev_hash = (head.seq + 1, head.hash) if head is not None else (1, GENESIS_HASH)
            if head is not None and head.scheme != SCHEME_KEYED:
                seal = self._seal(conn, key, ts, head.seq, head.hash)
                seq, prev_hash = seal.seq + 1, seal.hash
            entry = self._insert(
                conn, key, seq, prev_hash, ts, actor, action, object, stored_details
            )
        self._advance(Head(self._project, entry.seq, entry.hash), deferred=False)
        return entry

    def _now(self) -> datetime:
        ts = self._clock.now()
        if ts.tzinfo is None:
            raise StorageError(
                f"the audit clock returned a naive datetime ({ts.isoformat()})",
                hint="clocks must return timezone-aware UTC times, as ferryml.clock's do",
            )
        return ts.astimezone(UTC)

    def _insert(
        self,
        conn: Connection,
        key: bytes,
        seq: int,
        prev_hash: str,
        ts: datetime,
        actor: str,
        action: str,
        object: str,
        details: dict[str, Any],
    ) -> AuditEntry:
        # One set of fields feeds the signed text and the columns: the two cannot drift apart.
        fields: _ChainedFields = {
            "project": self._project,
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "object": object,
            "prev_hash": prev_hash,
        }
        text = signed_entry(**fields, details=details, key_id=key_id(key))
        digest = entry_mac(key, text)
        result = conn.execute(
            insert(audit_log).values(
                **fields,
                details=canonical_json(details),
                hash=digest,
                scheme=SCHEME_KEYED,
                entry=text,
            )
        )
        (entry_id,) = result.inserted_primary_key or (None,)
        if not isinstance(entry_id, int):  # pragma: no cover - both backends return the id
            raise StorageError("the database did not return the new audit entry's id")
        return AuditEntry(
            entry_id, self._project, seq, ts, actor, action, object, details, prev_hash, digest
        )

    def _seal(
        self, conn: Connection, key: bytes, ts: datetime, head_seq: int, head_hash: str
    ) -> AuditEntry:
        """Check the unkeyed entries under sha256 and close them with an ``audit.seal`` entry."""
        walker = ChainWalker(self.key)
        rows = conn.execute(
            select(audit_log).where(audit_log.c.project == self._project).order_by(audit_log.c.seq)
        )
        for row in rows:
            raise_if_broken(self._project, walker.step(row, conn), row)
        for sink in self.checkpoints:
            # Unkeyed entries predate the checkpoints: a checkpoint (even a damaged one) means
            # a keyed chain was here, and these entries replaced it.
            if sink.required and _exists(sink):
                raise AuditChainBrokenError(
                    f"audit trail of project {self._project!r} holds only unkeyed entries, but "
                    f"the {sink.name} shows that a keyed chain was here: it was rewritten "
                    "without the audit key; refusing to seal it",
                    entry_id=walker.first_id,
                    seq=1,
                )
        details = {"legacy_entries": walker.legacy, "legacy_head": head_hash}
        seal = self._insert(
            conn, key, head_seq + 1, head_hash, ts, "ferryml", SEAL_ACTION, "audit", details
        )
        log.warning(
            "sealed %d unkeyed audit entries of project %s with the audit key",
            walker.legacy,
            self._project,
        )
        return seal

    def entries(self, *, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries with ``seq > after``, oldest first, at most ``limit`` of them."""
        check_limit(limit)
        query = (
            select(audit_log)
            .where(audit_log.c.project == self._project, audit_log.c.seq > after)
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        with transaction(self._engine, purpose="reading the audit trail") as conn:
            return [entry_from_row(row) for row in conn.execute(query)]

    def find(
        self,
        *,
        object: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries matching every filter given, oldest first; with ``limit``, the newest ones.

        ``object``, ``actor`` and ``action`` are exact, or globs with ``*`` and ``?``
        (``object="fraud/*"``); ``since`` is included, ``until`` excluded. Filtered in SQL.
        """
        check_limit(limit)
        where = filters(
            self._engine.dialect.name,
            object=object,
            actor=actor,
            action=action,
            since=since,
            until=until,
        )
        query = (
            select(audit_log)
            .where(audit_log.c.project == self._project, *where)
            .order_by(audit_log.c.seq.desc())
            .limit(limit)
        )
        with transaction(self._engine, purpose="searching the audit trail") as conn:
            return [entry_from_row(row) for row in conn.execute(query)][::-1]

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
        return None if row is None else entry_from_row(row)

    def has_keyed_entries(self) -> bool:
        """Whether any entry of the project is signed with the audit key."""
        query = select(
            exists().where(audit_log.c.project == self._project, audit_log.c.scheme == SCHEME_KEYED)
        )
        with transaction(self._engine, purpose="reading the audit trail") as conn:
            return bool(conn.execute(query).scalar_one())

    def verify(self) -> int:
        """Verify the chain and its checkpoints; return how many entries verified.

        Raises :class:`AuditChainBrokenError` naming the first bad entry and what is wrong with
        it (see :meth:`check`).
        """
        return self.check().entries

    def check(self) -> Verification:
        """Recompute the whole chain, then compare it with every checkpoint.

        Raises :class:`AuditChainBrokenError` for the first bad entry (edited, moved, signed
        with another key, unkeyed after keyed ones), for a tail that no longer reaches a
        checkpoint's head (truncated), for a checkpoint whose hash differs from the chain's
        at its seq (rewritten), and for a chain with entries whose required checkpoint (the
        file) is missing. Unkeyed entries that no keyed entry seals yet fail too: ``anchor``
        seals them.
        """
        return self._check(anchoring=False, force=False)

    def anchor(self, actor: str, *, force: bool = False) -> Verification:
        """Verify the chain, record ``audit.anchor`` on it (which seals unkeyed entries) and
        write every checkpoint at the new head.

        For a workspace whose checkpoint file was lost, or one upgraded from unkeyed entries.
        A checkpoint that disagrees with the chain stays an error unless ``force`` (after a
        restore from a backup older than the checkpoint): then the disagreements are recorded
        in the ``audit.anchor`` entry and every checkpoint is rewritten, backwards if need be.
        """
        found = self._check(anchoring=True, force=force)
        entry = self.append(
            actor,
            "audit.anchor",
            "audit",
            {"verified": found.entries, "force": force, "replaced": list(found.problems)},
        )
        head = Head(self._project, entry.seq, entry.hash)
        for sink in self.checkpoints:
            _advance_one(sink, head, force=force, strict=True)
        return replace(self.check(), problems=found.problems)

    def flush(self) -> list[str]:
        """Write the deferred checkpoints (MLflow) at the newest head this trail appended or
        verified; return the names of those that moved. Failures are logged, not raised."""
        if self._known_head is None:
            return []
        return self._advance(self._known_head, deferred=True)

    def _check(self, *, anchoring: bool, force: bool) -> Verification:
        verification = check_chain(
            self._engine,
            self._project,
            self.key,
            self.checkpoints,
            anchoring=anchoring,
            force=force,
        )
        if verification.head is not None and not verification.unsealed:
            self._known_head = verification.head
        return verification

    def _advance(self, head: Head, *, deferred: bool) -> list[str]:
        if self._known_head is None or head.seq > self._known_head.seq:
            self._known_head = head
        return [
            sink.name
            for sink in self.checkpoints
            if sink.deferred == deferred and _advance_one(sink, head, force=False, strict=False)
        ]


def _advance_one(sink: HeadCheckpoint, head: Head, *, force: bool, strict: bool) -> bool:
    """Move one checkpoint; a failure is logged (the entry is committed already) unless
    ``strict``: a checkpoint that lags is tolerated by verification, a lost entry is not."""
    try:
        return sink.advance(head, force=force)
    except (FerryError, OSError) as exc:
        if strict:
            raise
        message = exc.message if isinstance(exc, FerryError) else str(exc)
        log.warning("the audit %s was not moved to seq %d: %s", sink.name, head.seq, message)
        return False


def _exists(sink: HeadCheckpoint) -> bool:
    try:
        return sink.read() is not None
    except FerryError:
        return True


__all__ = [
    "GENESIS_HASH",
    "SCHEME_KEYED",
    "SCHEME_LEGACY",
    "AuditEntry",
    "AuditTrail",
    "Verification",
    "canonical_json",
    "entry_hash",
    "format_ts",
]
