"""Governance: the keyed, chained audit trail (model cards, GDPR and policy join later)."""

from ferryml.governance.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditTrail,
    Verification,
    canonical_json,
    entry_hash,
)
from ferryml.governance.audit_checkpoint import (
    FileCheckpoint,
    Head,
    HeadCheckpoint,
    MlflowCheckpoint,
)
from ferryml.governance.audit_format import entry_mac, signed_entry
from ferryml.governance.audit_key import load_audit_key

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditTrail",
    "FileCheckpoint",
    "Head",
    "HeadCheckpoint",
    "MlflowCheckpoint",
    "Verification",
    "canonical_json",
    "entry_hash",
    "entry_mac",
    "load_audit_key",
    "signed_entry",
]
