"""Governance: the hash-chained audit trail (model cards, GDPR and policy join later)."""

from ferryml.governance.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditTrail,
    canonical_json,
    entry_hash,
)

__all__ = ["GENESIS_HASH", "AuditEntry", "AuditTrail", "canonical_json", "entry_hash"]
