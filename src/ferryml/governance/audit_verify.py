"""Walking a chain in seq order and saying what is wrong with the first bad entry.

A keyed entry (``hmac-sha256``) is checked in this order: its MAC over the stored entry text
(an edit of the text or the hash, or a rewrite with another key); its columns against the
signed text (an edited column, or a moved entry: the text carries the seq it was written
at); its place in the chain (a gap where entries were deleted); its link to the entry
before. Unkeyed entries (``sha256``, written before the key existed) are accepted only as a
prefix that the first keyed entry, an ``audit.seal``, closes: an unkeyed entry after a keyed
one is a rewrite without the key.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Row, func, select

from ferryml.governance.audit_format import (
    GENESIS_HASH,
    SCHEME_KEYED,
    SCHEME_LEGACY,
    SEAL_ACTION,
    canonical_json,
    entry_hash,
    entry_mac,
    format_ts,
    key_id,
    utc,
)
from ferryml.storage.tables import audit_log

_COLUMNS = ("project", "ts", "actor", "action", "object", "details", "prev_hash")


class ChainWalker:
    """Checks rows handed in seq order; :meth:`step` names the first problem."""

    def __init__(self, key: Callable[[], bytes], wanted: frozenset[int] = frozenset()) -> None:
        self._key_source = key
        self._key: bytes | None = None
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH
        self.prev_id: int | None = None
        self.legacy = 0
        """Unkeyed entries seen (all before the first keyed one, or step failed)."""
        self.keyed = 0
        self.first_id: int | None = None
        self.hashes: dict[int, tuple[int, str]] = {}
        """(id, hash) of the entries at the ``wanted`` seqs, for the checkpoints."""
        self._wanted = wanted

    @property
    def count(self) -> int:
        return self.expected_seq - 1

    @property
    def unsealed(self) -> bool:
        """Unkeyed entries that no keyed entry seals (yet)."""
        return self.legacy > 0 and self.keyed == 0

    def key(self) -> bytes:
        if self._key is None:
            self._key = self._key_source()
        return self._key

    def step(self, row: Row[Any], conn: Connection | None = None) -> str | None:
        """What is wrong with ``row`` at the next chain position, or None (then it counts)."""
        if row.scheme == SCHEME_KEYED:
            problem = self._keyed(row)
        elif row.scheme == SCHEME_LEGACY:
            problem = self._legacy(row, conn)
        else:
            problem = f"its scheme {row.scheme!r} is none ferryml writes: it was edited"
        if problem is not None:
            return problem
        if self.first_id is None:
            self.first_id = row.id
        if row.seq in self._wanted:
            self.hashes[row.seq] = (row.id, row.hash)
        self.expected_seq, self.prev_hash, self.prev_id = row.seq + 1, row.hash, row.id
        return None

    def _after(self) -> str:
        return f"entry id {self.prev_id}" if self.prev_id is not None else "the start of the chain"

    def _gap(self, row: Row[Any]) -> str | None:
        if row.seq == self.expected_seq:
            return None
        return (
            f"gap in seq: expected seq {self.expected_seq} after {self._after()}, found "
            f"{row.seq}; entries were deleted or their seq edited"
        )

    def _keyed(self, row: Row[Any]) -> str | None:
        if row.entry is None:
            return "it is marked keyed but holds no signed entry: it was edited"
        key = self.key()
        if not hmac.compare_digest(entry_mac(key, row.entry), row.hash):
            signer, mine = _signer(row.entry), key_id(key)
            if signer is not None and signer != mine:
                return (
                    f"it was signed with another key (key id {signer}; the configured audit key "
                    f"has key id {mine}): the chain was rewritten without the key, or the "
                    "configured key is not this workspace's"
                )
            return (
                "its signed entry does not match its MAC: the entry text or its hash was "
                "edited, or it was rewritten without the key"
            )
        signed = json.loads(row.entry)
        if signed["seq"] != row.seq:
            return f"reordered: it was written as seq {signed['seq']} and now carries seq {row.seq}"
        stored = {
            "project": row.project,
            "ts": format_ts(utc(row.ts)),
            "actor": row.actor,
            "action": row.action,
            "object": row.object,
            "details": row.details,
            "prev_hash": row.prev_hash,
        }
        signed_details = canonical_json(signed["details"])
        for column in _COLUMNS:
            expected = signed_details if column == "details" else signed[column]
            if stored[column] != expected:
                return f"its {column} column differs from its signed entry: the column was edited"
        problem = self._gap(row)
        if problem is not None:
            return problem
        if self.keyed == 0 and self.legacy > 0:
            sealed = signed["details"].get("legacy_entries")
            if signed["action"] != SEAL_ACTION or sealed != self.legacy:
                return (
                    f"it is the first keyed entry after {self.legacy} unkeyed ones, but not the "
                    f"{SEAL_ACTION} entry that seals them: entries were inserted or rewritten"
                )
        if signed["prev_hash"] != self.prev_hash:
            return (
                f"broken link: its prev_hash is not the hash of {self._after()} before it; "
                "that entry was edited and re-signed, or this one was inserted"
            )
        self.keyed += 1
        return None

    def _legacy(self, row: Row[Any], conn: Connection | None) -> str | None:
        if self.keyed:
            return (
                "it is unkeyed (scheme sha256) but follows keyed entries: it was written or "
                "rewritten without the audit key"
            )
        problem = self._gap(row)
        if problem is not None:
            return problem
        try:
            details = json.loads(row.details)
        except ValueError:
            return "its details are not valid JSON: they were edited"
        if not isinstance(details, dict) or canonical_json(details) != row.details:
            return "its details are not the canonical JSON ferryml writes: they were edited"
        if legacy_hash(row, row.seq) != row.hash:
            moved = _diagnose_move(conn, row) if conn is not None else None
            return moved or (
                "its content does not match its hash: ts, actor, action, object, details, "
                "prev_hash or the hash itself was edited"
            )
        if row.prev_hash != self.prev_hash:
            return (
                f"broken link: its prev_hash is not the hash of {self._after()} before it; "
                "that entry was edited and re-hashed, or this one was inserted"
            )
        self.legacy += 1
        return None


def legacy_hash(row: Row[Any], seq: int) -> str:
    """The sha256-scheme hash of a stored row, as if at ``seq``."""
    return entry_hash(
        project=row.project,
        seq=seq,
        ts=utc(row.ts),
        actor=row.actor,
        action=row.action,
        object=row.object,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
    )


def _signer(entry: str) -> str | None:
    """The key id an entry text names, if it is readable at all."""
    try:
        value = json.loads(entry)
    except ValueError:
        return None
    signer = value.get("key_id") if isinstance(value, dict) else None
    return signer if isinstance(signer, str) else None


def _diagnose_move(conn: Connection, row: Row[Any]) -> str | None:
    """If an unkeyed ``row`` verifies under the seq its id implies, it was moved: say so."""
    # Ids grow with seq in an untouched chain (appends are serialized), so the row's rank by id
    # is where it was written. Only a diagnosis: verification itself never trusts ids.
    rank = conn.execute(
        select(func.count())
        .select_from(audit_log)
        .where(audit_log.c.project == row.project, audit_log.c.id <= row.id)
    ).scalar_one()
    if rank == row.seq or legacy_hash(row, rank) != row.hash:
        return None
    return f"reordered: it was written as seq {rank} and now carries seq {row.seq}"


__all__ = ["ChainWalker", "legacy_hash"]
