"""Verifying a whole trail: the chain entry by entry, then every head checkpoint against it.

The checkpoints are read *before* the chain: one is written only after its entry commits, so
a chain read afterwards reaches every head read here, however many appends run meanwhile.
Then each checkpoint must name an entry of the chain with the same hash: a head beyond the
chain's end means a deleted tail, another hash a replaced chain. Used by
:meth:`ferryml.governance.AuditTrail.check`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, select

from ferryml.errors import AuditChainBrokenError, FerryError
from ferryml.governance.audit_checkpoint import CheckpointState, Head, HeadCheckpoint
from ferryml.governance.audit_verify import ChainWalker
from ferryml.storage.db import transaction
from ferryml.storage.tables import audit_log

_VERIFY_BATCH = 1_000
_RESTORED = (
    "restore the missing entries from a backup; if the database itself was restored from a "
    "backup older than the checkpoint, record that with `ferry audit anchor --force`"
)
Kept = list[tuple[HeadCheckpoint, Head | None, str]]
"""Each checkpoint, the head it keeps (None: none yet or unreadable) and why it is unreadable."""


@dataclass(frozen=True)
class Verification:
    """What a verification found: the chain verified, and each checkpoint's state."""

    entries: int
    head: Head | None
    checkpoints: tuple[CheckpointState, ...] = ()
    problems: tuple[str, ...] = ()
    """Checkpoint disagreements that ``anchor(force=True)`` replaced (empty otherwise)."""
    unsealed: bool = False
    """Unkeyed entries that no keyed entry seals yet (reported only while anchoring)."""


def check_chain(
    engine: Engine,
    project: str,
    key: Callable[[], bytes],
    checkpoints: Sequence[HeadCheckpoint],
    *,
    anchoring: bool,
    force: bool,
) -> Verification:
    """Verify ``project``'s chain and compare it with ``checkpoints``.

    ``anchoring`` accepts unsealed unkeyed entries and missing checkpoints (anchor fixes
    both); ``force`` also turns checkpoint disagreements into :attr:`Verification.problems`.
    A bad entry always raises.
    """
    kept: Kept = []
    problems: list[str] = []
    for sink in checkpoints:
        try:
            kept.append((sink, sink.read(), ""))
        except FerryError as exc:
            if sink.required and not force:
                raise
            if sink.required:
                problems.append(exc.message)
            kept.append((sink, None, exc.message))
    walker = ChainWalker(key, frozenset(head.seq for _, head, _ in kept if head is not None))
    query = (
        select(audit_log)
        .where(audit_log.c.project == project)
        .order_by(audit_log.c.seq)
        .execution_options(yield_per=_VERIFY_BATCH)
    )
    # Close the result before raising: with yield_per PostgreSQL streams through a server-side
    # cursor, which must not outlive its transaction.
    with (
        transaction(engine, purpose="verifying the audit trail") as conn,
        conn.execute(query) as rows,
    ):
        for row in rows:
            raise_if_broken(project, walker.step(row, conn), row)
    if walker.unsealed and not anchoring:
        _raise_unsealed(project, walker, kept)
    head = Head(project, walker.count, walker.prev_hash) if walker.count else None
    states = []
    for sink, checkpoint, unreadable in kept:
        try:
            states.append(_compare(project, sink, checkpoint, unreadable, walker, anchoring))
        except AuditChainBrokenError as exc:
            if not force:
                raise
            problems.append(exc.message)
            states.append(CheckpointState(sink.name, "unreadable", checkpoint, exc.message))
    return Verification(walker.count, head, tuple(states), tuple(problems), walker.unsealed)


def raise_if_broken(project: str, problem: str | None, row: Row[Any]) -> None:
    """Raise naming ``row`` when the walker found a ``problem`` with it."""
    if problem is not None:
        raise AuditChainBrokenError(
            f"audit trail of project {project!r} is broken at entry id {row.id} "
            f"(seq {row.seq}): {problem}",
            entry_id=row.id,
            seq=row.seq,
        )


def _compare(
    project: str,
    sink: HeadCheckpoint,
    kept: Head | None,
    unreadable: str,
    walker: ChainWalker,
    anchoring: bool,
) -> CheckpointState:
    """The state of one checkpoint against the verified chain; raise when they disagree."""
    if unreadable:
        return CheckpointState(sink.name, "unreadable", None, unreadable)
    if kept is None:
        if sink.required and walker.count and not anchoring:
            raise AuditChainBrokenError(
                f"the audit {sink.name} is missing, but the audit trail of project "
                f"{project!r} holds {walker.count} entries: a deleted tail would go unnoticed",
                hint="find out why it is gone (deleting it is how a truncation would be "
                "hidden); if it was lost with a restored or copied workspace and you trust "
                "the chain, write it again with `ferry audit anchor`",
            )
        return CheckpointState(sink.name, "absent")
    if kept.project != project:
        raise AuditChainBrokenError(
            f"the audit {sink.name} belongs to project {kept.project!r}, not {project!r}",
            hint="give each project its own workspace root (paths.root)",
        )
    if kept.seq > walker.count:
        first, last = walker.count + 1, kept.seq
        lost = f"entry seq {first} was" if first == last else f"entries seq {first}..{last} were"
        raise AuditChainBrokenError(
            f"audit trail of project {project!r} is truncated: the {sink.name} records head "
            f"seq {kept.seq} (hash {kept.hash[:12]}…), but the chain ends at seq "
            f"{walker.count}: {lost} deleted",
            seq=first,
            hint=_RESTORED,
        )
    entry_id, stored = walker.hashes[kept.seq]
    if stored != kept.hash:
        raise AuditChainBrokenError(
            f"audit trail of project {project!r} was rewritten: entry id {entry_id} "
            f"(seq {kept.seq}) has hash {stored[:12]}…, but the {sink.name} recorded "
            f"{kept.hash[:12]}… for that seq; the chain was replaced from that entry or "
            "before it",
            entry_id=entry_id,
            seq=kept.seq,
            hint=_RESTORED,
        )
    behind = walker.count - kept.seq
    note = f"{behind} newer entries since it was written" if behind else ""
    return CheckpointState(sink.name, "behind" if behind else "matches", kept, note)


def _raise_unsealed(project: str, walker: ChainWalker, kept: Kept) -> None:
    anchored = [(sink, head) for sink, head, _ in kept if head is not None]
    if anchored:
        sink, head = anchored[0]
        raise AuditChainBrokenError(
            f"audit trail of project {project!r} is broken at entry id {walker.first_id} "
            f"(seq 1): every entry is unkeyed (scheme sha256), but the {sink.name} shows a "
            f"keyed chain (seq {head.seq}): it was rewritten without the audit key",
            entry_id=walker.first_id,
            seq=1,
        )
    raise AuditChainBrokenError(
        f"audit trail of project {project!r} holds {walker.legacy} unkeyed entries (written "
        "before ferryml signed audit entries) that no keyed entry seals yet, so nothing proves "
        "they were not rewritten",
        entry_id=walker.first_id,
        seq=1,
        hint="`ferry audit anchor` checks them, seals them with the audit key and writes the "
        "head checkpoints (the next command that records an action seals them too)",
    )


__all__ = ["Verification", "check_chain", "raise_if_broken"]
